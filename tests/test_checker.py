"""The independent checker, rule by rule, on tiny hand-built instances with exact values."""

from __future__ import annotations

import copy
from decimal import Decimal as D
from fractions import Fraction
from typing import Any

import pytest

from solver.checker import check, eligible, evaluate
from solver.instance import Instance
from solver.io import validate_instance

# Weights that switch every penalty off, so a test sees only the term it sets.
NO_PENALTIES = {"relation_per_level": 0, "continuity": 0, "family_split": 0, "unassigned": 0}


def provider(pid: str = "a", kind: str = "club", capacity: Any = 100, **fields: Any) -> dict:
    return {"id": pid, "kind": kind, "capacity_hours": capacity, **fields}


def case(cid: str = "x", age: int = 10, hours: Any = 2, **fields: Any) -> dict:
    return {"id": cid, "age": age, "hours_per_week": hours, **fields}


def make(
    providers: list[dict],
    cases: list[dict],
    weights: dict | None = None,
    weeks: Any = 1,
    **top: Any,
) -> Instance:
    return validate_instance(
        {
            "name": "t",
            "weeks_per_year": weeks,
            "providers": providers,
            "cases": cases,
            "weights": NO_PENALTIES if weights is None else {**NO_PENALTIES, **weights},
            **top,
        }
    )


def pair_ok(p: dict, c: dict) -> bool:
    inst = make([p], [c])
    by_eligible = eligible(inst.cases[0], inst.providers[0])
    by_evaluate = evaluate(inst, {c["id"]: p["id"]}).feasible
    assert by_eligible == by_evaluate
    return by_eligible


# --- eligibility -------------------------------------------------------------------------


def test_needs_must_all_be_competences():
    assert pair_ok(provider(competences=["autism", "psych"]), case(needs=["autism", "psych"]))
    assert pair_ok(provider(competences=["autism"]), case())
    assert not pair_ok(provider(competences=["autism"]), case(needs=["autism", "psych"]))
    assert not pair_ok(provider(), case(needs=["autism"]))
    # Strings compare exactly, case included.
    assert not pair_ok(provider(competences=["Autism"]), case(needs=["autism"]))


def test_ages_are_inclusive():
    p = provider(min_age=12, max_age=17)
    assert not pair_ok(p, case(age=11))
    assert pair_ok(p, case(age=12))
    assert pair_ok(p, case(age=17))
    assert not pair_ok(p, case(age=18))
    assert pair_ok(provider(min_age=12), case(age=30))
    assert pair_ok(provider(max_age=17), case(age=0))


def test_empty_districts_serve_everyone_even_without_district():
    assert pair_ok(provider(), case(district="north"))
    assert pair_ok(provider(), case())


def test_districts_listed_serve_only_those_and_not_cases_without_district():
    p = provider(districts=["north", "east"])
    assert pair_ok(p, case(district="east"))
    assert not pair_ok(p, case(district="south"))
    assert not pair_ok(p, case())


def test_forbidden_provider_is_not_eligible():
    inst = make(
        [provider("a"), provider("b")],
        [case(forbidden_providers=["a"])],
    )
    ev = evaluate(inst, {"x": "a"})
    assert ev.violations == [
        "case x: not eligible at provider a (is in the case's forbidden_providers)"
    ]
    assert evaluate(inst, {"x": "b"}).feasible


def test_provider_not_accepting_new_keeps_only_its_current_cases():
    p = provider("a", accepts_new=False)
    assert pair_ok(p, case(current_provider="a"))
    assert not pair_ok(p, case())
    inst = make([p, provider("b")], [case(current_provider="b")])
    assert not evaluate(inst, {"x": "a"}).feasible


def test_must_provider_overrides_every_eligibility_rule():
    p = provider(
        "a",
        competences=[],
        districts=["south"],
        min_age=20,
        accepts_new=False,
    )
    locked = case(
        needs=["autism"], district="north", age=10, must_provider="a", forbidden_providers=["a"]
    )
    inst = make([p, provider("b")], [locked])
    assert not eligible(inst.cases[0], inst.providers[0])
    assert evaluate(inst, {"x": "a"}).violations == []


def test_locked_case_must_be_at_its_lock():
    inst = make([provider("a"), provider("b")], [case(must_provider="a")])
    assert evaluate(inst, {"x": "b"}).violations == ["case x: locked to provider a but placed at b"]
    assert evaluate(inst, {}).violations == ["case x: locked to provider a but left unassigned"]


def test_offer_does_not_make_an_ineligible_pair_eligible():
    inst = make(
        [provider("a", competences=[])],
        [case(needs=["autism"])],
        offers=[{"case": "x", "provider": "a", "annual_cost": 0}],
    )
    assert not evaluate(inst, {"x": "a"}).feasible


def test_unknown_and_closing_cases_and_unknown_providers_are_violations():
    inst = make([provider("a")], [case("x"), case("z", status="closing")])
    assert evaluate(inst, {"nope": "a"}).violations == ["case nope: is not in the instance"]
    assert evaluate(inst, {"z": "a"}).violations == ["case z: is closing and must not be placed"]
    assert evaluate(inst, {"x": "b"}).violations == ["case x: placed at unknown provider b"]


# --- load, capacity, max_cases -----------------------------------------------------------


def test_load_is_case_hours_or_offer_hours():
    inst = make(
        [provider("a"), provider("b"), provider("c")],
        [case("x", hours=D("2.5")), case("y", hours=4), case("z", hours=3)],
        offers=[
            {"case": "y", "provider": "b", "annual_cost": 100, "hours_per_week": D("1.5")},
            {"case": "z", "provider": "c", "annual_cost": 100},
        ],
    )
    ev = evaluate(inst, {"x": "a", "y": "b", "z": "c"})
    assert ev.provider_hours == {"a": Fraction(5, 2), "b": Fraction(3, 2), "c": Fraction(3)}
    assert ev.provider_cases == {"a": 1, "b": 1, "c": 1}


def test_capacity_is_exact():
    inst = make([provider("a", capacity=D("4.5"))], [case("x", hours=2), case("y", hours=D("2.5"))])
    assert evaluate(inst, {"x": "a", "y": "a"}).violations == []
    inst = make(
        [provider("a", capacity=D("4.49"))], [case("x", hours=2), case("y", hours=D("2.5"))]
    )
    assert evaluate(inst, {"x": "a", "y": "a"}).violations == [
        "provider a: load 4.50 h/week exceeds capacity_hours 4.49"
    ]


def test_capacity_counts_offer_hours():
    inst = make(
        [provider("a", capacity=3)],
        [case("x", hours=2), case("y", hours=2)],
        offers=[{"case": "y", "provider": "a", "annual_cost": 0, "hours_per_week": 1}],
    )
    assert evaluate(inst, {"x": "a", "y": "a"}).feasible
    inst = make(
        [provider("a", capacity=3)],
        [case("x", hours=2), case("y", hours=2)],
        offers=[{"case": "y", "provider": "a", "annual_cost": 0, "hours_per_week": D("1.01")}],
    )
    assert evaluate(inst, {"x": "a", "y": "a"}).violations == [
        "provider a: load 3.01 h/week exceeds capacity_hours 3"
    ]


def test_max_cases():
    inst = make([provider("a", max_cases=1)], [case("x"), case("y")])
    assert evaluate(inst, {"x": "a"}).feasible
    assert evaluate(inst, {"x": "a", "y": "a"}).violations == [
        "provider a: 2 cases exceed max_cases 1"
    ]
    inst = make([provider("a", max_cases=0)], [case("x")])
    assert evaluate(inst, {}).feasible
    assert not evaluate(inst, {"x": "a"}).feasible


def test_closing_cases_use_nothing_and_pay_nothing():
    inst = make(
        [provider("a", capacity=0, max_cases=0)],
        [
            case("z", hours=50, status="closing", current_provider="a", relations={"a": 3}),
            case("w", status="closing", family="f", must_provider="a"),
        ],
        weights={"relation_per_level": 1, "continuity": 1, "family_split": 1, "unassigned": 1},
    )
    ev = evaluate(inst, {})
    assert ev.violations == []
    assert ev.objective == 0
    assert ev.provider_hours == {"a": 0}


# --- cost --------------------------------------------------------------------------------


def test_fixed_cost_paid_always_unless_optional_and_unused():
    inst = make(
        [
            provider("a", fixed_cost=1000),
            provider("b", fixed_cost=D("2000.5"), optional=True),
            provider("c", fixed_cost=4000, optional=True),
        ],
        [case("x")],
    )
    ev = evaluate(inst, {"x": "c"})
    assert ev.provider_cost == {"a": 1000, "b": 0, "c": 4000}
    assert ev.total_cost == 5000
    ev = evaluate(inst, {})
    assert ev.provider_cost == {"a": 1000, "b": 0, "c": 0}


def test_hourly_cost_above_included_hours():
    inst = make(
        [provider("a", hourly_rate=D("312.75"), included_hours=D("1.5"), fixed_cost=100)],
        [case("x", hours=D("2.5")), case("y", hours=1)],
        weeks=D("45.5"),
    )
    ev = evaluate(inst, {"x": "a", "y": "a"})
    # 312.75 * 45.5 * (3.5 - 1.5) + 100
    assert ev.provider_cost["a"] == Fraction(31275, 100) * Fraction(91, 2) * 2 + 100
    assert ev.provider_cost["a"] == Fraction("28560.25")
    # Below the included hours the hourly part is 0, never negative.
    assert evaluate(inst, {"y": "a"}).provider_cost["a"] == 100


def test_billed_hours_exclude_offered_cases_and_offers_add_their_cost():
    inst = make(
        [provider("a", hourly_rate=10, included_hours=1)],
        [case("x", hours=3), case("y", hours=5)],
        offers=[{"case": "y", "provider": "a", "annual_cost": D("777.77"), "hours_per_week": 4}],
        weeks=2,
    )
    ev = evaluate(inst, {"x": "a", "y": "a"})
    # hourly: 10 * 2 * (3 - 1) = 40; offer 777.77
    assert ev.provider_cost["a"] == Fraction("817.77")
    assert ev.provider_hours["a"] == 7
    assert ev.total_cost == Fraction("817.77")


def test_offer_for_another_provider_does_not_apply():
    inst = make(
        [provider("a", hourly_rate=10), provider("b")],
        [case("x", hours=3)],
        offers=[{"case": "x", "provider": "b", "annual_cost": 5, "hours_per_week": 1}],
    )
    ev = evaluate(inst, {"x": "a"})
    assert ev.provider_cost == {"a": 30, "b": 0}
    assert ev.provider_hours == {"a": 3, "b": 0}


# --- budgets -----------------------------------------------------------------------------


def test_budget_counts_provider_matched_twice_once():
    providers = [provider("a", kind="external", fixed_cost=100), provider("b", fixed_cost=40)]
    budget = {"name": "ext", "kinds": ["external"], "providers": ["a"], "max_annual_cost": 100}
    assert evaluate(make(providers, [], budgets=[budget]), {}).feasible
    budget["max_annual_cost"] = D("99.99")
    assert evaluate(make(providers, [], budgets=[budget]), {}).violations == [
        "budget ext: annual cost 100 of providers a exceeds max_annual_cost 99.99"
    ]


def test_budget_sums_kinds_and_providers():
    providers = [
        provider("a", kind="external", fixed_cost=100),
        provider("b", kind="external", fixed_cost=10),
        provider("c", kind="club", fixed_cost=1),
        provider("d", kind="club", fixed_cost=1000),
    ]
    budget = {"name": "mix", "kinds": ["external"], "providers": ["c"], "max_annual_cost": 111}
    assert evaluate(make(providers, [], budgets=[budget]), {}).feasible
    budget["max_annual_cost"] = 110
    ev = evaluate(make(providers, [], budgets=[budget]), {})
    assert ev.violations == [
        "budget mix: annual cost 111 of providers a, b, c exceeds max_annual_cost 110"
    ]


def test_budget_counts_variable_cost():
    inst = make(
        [provider("a", hourly_rate=100)],
        [case("x", hours=2)],
        weeks=10,
        budgets=[{"name": "b", "providers": ["a"], "max_annual_cost": 1999}],
    )
    assert evaluate(inst, {}).feasible
    assert not evaluate(inst, {"x": "a"}).feasible


# --- penalties ---------------------------------------------------------------------------


def test_relation_penalty_per_missing_level():
    inst = make(
        [provider("a"), provider("b"), provider("c")],
        [case("x", relations={"a": 3, "b": 1}), case("y")],
        weights={"relation_per_level": D("100.5")},
    )
    assert evaluate(inst, {"x": "a", "y": "a"}).penalties["relation"] == 0
    assert evaluate(inst, {"x": "b"}).penalties["relation"] == Fraction(201)
    assert evaluate(inst, {"x": "c"}).penalties["relation"] == Fraction("301.5")
    # Unassigned pays the full strongest level.
    assert evaluate(inst, {}).penalties["relation"] == Fraction("301.5")


def test_continuity_penalty_only_for_existing_current_provider():
    inst = make(
        [provider("a"), provider("b")],
        [case("x", current_provider="a"), case("y", current_provider="gone")],
        weights={"continuity": 15000},
    )
    assert evaluate(inst, {"x": "a", "y": "a"}).penalties["continuity"] == 0
    assert evaluate(inst, {"x": "b", "y": "b"}).penalties["continuity"] == 15000
    assert evaluate(inst, {}).penalties["continuity"] == 15000


def test_family_penalty_per_extra_provider_among_placed_cases():
    inst = make(
        [provider("a"), provider("b"), provider("c")],
        [
            case("x", family="f"),
            case("y", family="f"),
            case("z", family="f"),
            case("u", family="g"),
            case("v"),
            case("w", family="f", status="closing"),
        ],
        weights={"family_split": 20000},
    )
    pen = lambda placement: evaluate(inst, placement).penalties["family"]  # noqa: E731
    assert pen({"x": "a", "y": "a", "z": "a", "u": "b", "v": "c"}) == 0
    assert pen({"x": "a", "y": "a", "z": "b"}) == 20000
    assert pen({"x": "a", "y": "b", "z": "c"}) == 40000
    # Unassigned siblings do not count as a provider.
    assert pen({"x": "a"}) == 0
    assert pen({"x": "a", "y": "b"}) == 20000
    assert pen({}) == 0


def test_kind_penalty_per_placed_case():
    inst = make(
        [provider("a", kind="external"), provider("b", kind="club")],
        [case("x"), case("y"), case("z")],
        weights={"kind_penalty": {"external": D("450.5"), "labour_market": 1}},
    )
    assert evaluate(inst, {"x": "a", "y": "a", "z": "b"}).penalties["kind"] == 901
    assert evaluate(inst, {"x": "b", "y": "b"}).penalties["kind"] == 0


def test_unassigned_penalty_per_active_case():
    inst = make(
        [provider("a")],
        [case("x"), case("y"), case("z", status="closing")],
        weights={"unassigned": 1000},
    )
    assert evaluate(inst, {"x": "a", "y": "a"}).penalties["unassigned"] == 0
    assert evaluate(inst, {"x": "a"}).penalties["unassigned"] == 1000
    assert evaluate(inst, {}).penalties["unassigned"] == 2000


def test_default_weights_and_objective_is_cost_plus_penalties():
    inst = validate_instance(
        {
            "name": "defaults",
            "providers": [provider("a", hourly_rate=1), provider("b", kind="external")],
            "cases": [
                case("x", hours=2, relations={"a": 2}, current_provider="a", family="f"),
                case("y", hours=1, family="f"),
                case("z", hours=1),
            ],
        }
    )
    ev = evaluate(inst, {"x": "b", "y": "a"})
    assert ev.total_cost == 46  # 1 DKK/h * 46 weeks * 1 h
    assert ev.penalties == {
        "relation": 50000,
        "continuity": 15000,
        "family": 20000,
        "kind": 0,
        "unassigned": 10000000,
    }
    assert ev.objective == 46 + 50000 + 15000 + 20000 + 10000000


# --- check() on allocation/1 documents ---------------------------------------------------


def sample() -> Instance:
    return make(
        [
            provider("a", hourly_rate=D("312.75"), fixed_cost=1000, capacity=6, max_cases=2),
            provider("b", kind="external", capacity=4),
            provider("c", optional=True, fixed_cost=500),
        ],
        [
            case("x", hours=D("2.5"), relations={"a": 2}),
            case("y", hours=3, needs=["autism"]),
            case("z", hours=1, family="f"),
            case("q", status="closing"),
        ],
        weights={"relation_per_level": 100, "unassigned": 5000, "kind_penalty": {"external": 7}},
        weeks=D("45.5"),
        offers=[{"case": "z", "provider": "b", "annual_cost": D("1234.56"), "hours_per_week": 2}],
    )


PLACEMENT = {"x": "a", "z": "b"}


def allocation(inst: Instance, placement: dict[str, str], status: str = "optimal") -> dict:
    """A correct allocation/1 document for the placement, as `json.load` would give it."""
    ev = evaluate(inst, placement)
    active = [c.id for c in inst.cases if c.status == "active"]
    return {
        "format": "allocation/1",
        "instance": inst.name,
        "status": status,
        "objective": float(ev.objective),
        "bound": float(ev.objective) if status == "optimal" else None,
        "total_cost": float(ev.total_cost),
        "penalties": {k: float(v) for k, v in ev.penalties.items()},
        "assignments": [{"case": c, "provider": p} for c, p in placement.items()],
        "unassigned": [{"case": c, "reason": "r"} for c in active if c not in placement],
        "providers": [
            {
                "id": p.id,
                "cases": ev.provider_cases[p.id],
                "hours": float(ev.provider_hours[p.id]),
                "annual_cost": round(float(ev.provider_cost[p.id]), 2),
            }
            for p in inst.providers
        ],
        "solve_seconds": 0.1,
    }


def test_sample_values():
    ev = evaluate(sample(), PLACEMENT)
    assert ev.violations == []
    # a: 1000 + 312.75 * 45.5 * 2.5; b: offer 1234.56; c: optional, unused.
    assert ev.provider_cost == {
        "a": Fraction("36575.3125"),
        "b": Fraction("1234.56"),
        "c": 0,
    }
    assert ev.penalties == {
        "relation": 0,
        "continuity": 0,
        "family": 0,
        "kind": 7,
        "unassigned": 5000,
    }
    assert ev.objective == Fraction("36575.3125") + Fraction("1234.56") + 5007


def test_correct_allocation_passes():
    inst = sample()
    report = check(inst, allocation(inst, PLACEMENT))
    assert report.violations == []
    assert report.ok
    assert report.evaluation is not None
    assert report.evaluation.objective == Fraction("42816.8725")
    assert check(inst, allocation(inst, PLACEMENT, status="feasible")).ok


def test_rounding_within_tolerance_passes():
    inst = sample()
    doc = allocation(inst, PLACEMENT)
    doc["objective"] += 0.99
    doc["providers"][0]["hours"] += 0.01
    assert check(inst, doc).ok


def tampered(change) -> list[str]:
    inst = sample()
    doc = allocation(inst, PLACEMENT)
    change(doc)
    return check(inst, copy.deepcopy(doc)).violations


def test_wrong_objective_is_caught():
    def change(doc):
        doc["objective"] += 1.5
        doc["bound"] = doc["objective"]

    violations = tampered(change)
    assert violations[0] == "objective: reported 42818.37 but recomputed 42816.87"
    assert len(violations) == 2  # and the bound is then above the true objective
    assert violations[1].startswith("bound: 42818.37 is not within 1 DKK")


def test_wrong_total_cost_and_penalty_are_caught():
    def change(doc):
        doc["total_cost"] -= 2
        doc["penalties"]["kind"] = 0

    assert tampered(change) == [
        "total_cost: reported 37807.87 but recomputed 37809.87",
        "penalties.kind: reported 0 but recomputed 7",
    ]


def test_wrong_provider_entries_are_caught():
    def change(doc):
        doc["providers"][1]["annual_cost"] = 0
        doc["providers"][1]["hours"] = 1.98
        doc["providers"][2]["cases"] = 1

    assert tampered(change) == [
        "provider b: hours: reported 1.98 but recomputed 2",
        "provider b: annual_cost: reported 0 but recomputed 1234.56",
        "provider c: cases reported 1 but recomputed 0",
    ]


def test_missing_and_unknown_provider_entries_are_caught():
    def change(doc):
        doc["providers"][2]["id"] = "nope"

    assert tampered(change) == [
        "providers #3: id 'nope' is not a provider of the instance",
        "provider c: has no entry in providers",
    ]


def test_missing_unassigned_entry_is_caught():
    def change(doc):
        doc["unassigned"] = []

    assert tampered(change) == ["case y: neither assigned nor listed as unassigned"]


def test_unassigned_entry_for_a_placed_or_closing_case_is_caught():
    def change(doc):
        doc["unassigned"] += [{"case": "x", "reason": ""}, {"case": "q", "reason": ""}]

    assert tampered(change) == [
        "case x: listed as unassigned but assigned to a",
        "case q: listed as unassigned but is not an active case",
    ]


def test_case_placed_twice_is_caught():
    def change(doc):
        doc["assignments"].append({"case": "x", "provider": "c"})

    assert tampered(change) == ["case x: assigned more than once (at a and at c)"]


def test_closing_or_unknown_case_assigned_is_caught():
    def change(doc):
        doc["assignments"] += [{"case": "q", "provider": "c"}, {"case": "nope", "provider": "c"}]

    assert tampered(change) == [
        "case q: assigned but is closing",
        "case nope: assigned but is not in the instance",
    ]


def test_ineligible_pair_is_caught():
    inst = sample()
    placement = {"x": "a", "y": "c", "z": "b"}  # y needs autism, c has no competences
    report = check(inst, allocation(inst, placement))
    assert report.violations == ["case y: not eligible at provider c (lacks competence autism)"]
    assert not report.ok


def test_capacity_breach_in_allocation_is_caught():
    inst = sample()
    placement = {"x": "b", "y": "b", "z": "b"}
    violations = check(inst, allocation(inst, placement)).violations
    assert "provider b: load 7.50 h/week exceeds capacity_hours 4" in violations
    assert "case y: not eligible at provider b (lacks competence autism)" in violations


def test_optimal_with_far_bound_is_caught():
    def change(doc):
        doc["bound"] = doc["objective"] - 100

    assert tampered(change) == [
        "bound: 42716.87 is not within 1 DKK of the recomputed objective 42816.87 "
        "although status is optimal"
    ]


def test_optimal_without_bound_is_caught():
    def change(doc):
        doc["bound"] = None

    assert tampered(change) == ["bound: must be a number when status is optimal"]


def test_feasible_bound_rules():
    inst = sample()
    doc = allocation(inst, PLACEMENT, status="feasible")
    doc["bound"] = doc["objective"] - 10000
    assert check(inst, doc).ok
    doc["bound"] = doc["objective"] + 1.5
    assert check(inst, doc).violations == [
        "bound: 42818.37 exceeds the recomputed objective 42816.87"
    ]


def test_format_and_status_are_checked():
    def change(doc):
        doc["format"] = "allocation/2"

    assert tampered(change) == ["format: must be 'allocation/1', found 'allocation/2'"]

    def change_status(doc):
        doc["status"] = "solved"

    assert tampered(change_status) == [
        "status: must be one of optimal, feasible, infeasible, unknown, found 'solved'"
    ]


@pytest.mark.parametrize("status", ["infeasible", "unknown"])
def test_infeasible_and_unknown_documents(status):
    inst = sample()
    doc = {
        "format": "allocation/1",
        "instance": "t",
        "status": status,
        "objective": None,
        "bound": None,
        "total_cost": None,
        "penalties": {},
        "assignments": [],
        "unassigned": [],
        "providers": [],
    }
    report = check(inst, doc)
    assert report.ok
    assert report.evaluation is None
    doc["objective"] = 5.0
    doc["assignments"] = [{"case": "x", "provider": "a"}]
    assert check(inst, doc).violations == [
        f"objective: must be null when status is {status}",
        f"assignments: must be empty when status is {status}",
    ]


def test_missing_numbers_are_violations_not_crashes():
    def change(doc):
        del doc["objective"]
        doc["penalties"] = None

    violations = tampered(change)
    assert violations[0] == "objective: reported None is not a number, recomputed 42816.87"
    assert "penalties: must be an object with relation, continuity, family, kind, unassigned" in (
        violations
    )
