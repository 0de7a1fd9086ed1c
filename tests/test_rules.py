"""The solver, rule by rule, on minimal instances with exact placements and figures.

In the style of constraint tests: each test builds the smallest instance in which one rule
decides the outcome, solves it, and asserts where every case goes and the exact cost and
penalty figures (as Fractions). Every allocation/1 document also passes the independent
checker.

Unless a test sets them, all penalty weights are 0 except `unassigned` (1 000 000), and
`weeks_per_year` is 1, so a provider's hourly rate is DKK per weekly hour.
"""

from __future__ import annotations

import json
from decimal import Decimal as D
from fractions import Fraction
from typing import Any

from solver import Instance, Result, SolveParams, solve, validate_instance
from solver.checker import check

PARAMS = SolveParams(time_limit=10, workers=2, seed=0)
UNASSIGNED = 1_000_000
BASE_WEIGHTS = {
    "relation_per_level": 0,
    "continuity": 0,
    "family_split": 0,
    "unassigned": UNASSIGNED,
}
CAPACITY_FULL = "capacity of every eligible provider is used"


def provider(pid: str, kind: str = "club", capacity: Any = 100, **fields: Any) -> dict:
    return {"id": pid, "kind": kind, "capacity_hours": capacity, **fields}


def case(cid: str, age: int = 10, hours: Any = 2, **fields: Any) -> dict:
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
            "name": "rule",
            "weeks_per_year": weeks,
            "providers": providers,
            "cases": cases,
            "weights": {**BASE_WEIGHTS, **(weights or {})},
            **top,
        }
    )


def run(inst: Instance) -> Result:
    """Solve to proven optimality and pass the document through the independent checker."""
    res = solve(inst, PARAMS)
    assert res.status == "optimal", res.conflicts
    doc = json.loads(json.dumps(res.to_dict()))
    report = check(inst, doc)
    assert report.ok, report.violations
    assert res.objective == res.total_cost + sum(res.penalties.values())
    return res


def placed(res: Result) -> dict[str, str]:
    return {a["case"]: a["provider"] for a in res.assignments}


def reasons(res: Result) -> dict[str, str]:
    return {u["case"]: u["reason"] for u in res.unassigned}


def cost_of(res: Result, pid: str) -> Fraction:
    return next(p.annual_cost for p in res.providers if p.id == pid)


def entry(res: Result, pid: str):
    return next(p for p in res.providers if p.id == pid)


def penalties(res: Result, **nonzero: Any) -> None:
    """Assert the five penalty terms: the named ones as given, the others 0."""
    expected = {name: Fraction(0) for name in res.penalties}
    expected.update({k: Fraction(v) for k, v in nonzero.items()})
    assert res.penalties == expected


# The eligibility tests use a cheap provider whose eligibility is under test and a dear
# fallback that is always eligible: a case at `dear` shows `cheap` was not eligible.
def cheap(**fields: Any) -> dict:
    return provider("cheap", **fields)


DEAR = provider("dear", hourly_rate=100, competences=["autism", "psych"])


# --- eligibility ----------------------------------------------------------------------------


def test_needs_must_all_be_among_competences():
    inst = make(
        [cheap(competences=["autism"]), DEAR],
        [
            case("both", needs=["autism", "psych"]),
            case("one", needs=["autism"]),
            case("none"),
            case("other", needs=["psych"]),
        ],
    )
    res = run(inst)
    assert placed(res) == {"both": "dear", "one": "cheap", "none": "cheap", "other": "dear"}
    assert res.total_cost == 400  # two cases of 2 h at 100 DKK/h
    assert cost_of(res, "dear") == 400 and cost_of(res, "cheap") == 0
    penalties(res)


def test_competences_compare_exactly_case_included():
    res = run(make([cheap(competences=["Autism"]), DEAR], [case("x", needs=["autism"])]))
    assert placed(res) == {"x": "dear"}


def test_ages_are_inclusive_at_both_ends():
    inst = make(
        [cheap(min_age=12, max_age=17), DEAR],
        [case(f"a{age}", age=age) for age in (11, 12, 17, 18)],
    )
    res = run(inst)
    assert placed(res) == {"a11": "dear", "a12": "cheap", "a17": "cheap", "a18": "dear"}
    assert res.total_cost == 400


def test_only_min_age_or_only_max_age():
    inst = make(
        [cheap(min_age=12), provider("young", max_age=11, hourly_rate=10), DEAR],
        [case("a30", age=30), case("a0", age=0), case("a11", age=11)],
    )
    res = run(inst)
    assert placed(res) == {"a30": "cheap", "a0": "young", "a11": "young"}
    assert res.total_cost == 40


def test_empty_districts_serve_every_case_with_or_without_district():
    res = run(make([cheap(), DEAR], [case("n", district="north"), case("none")]))
    assert placed(res) == {"n": "cheap", "none": "cheap"}
    assert res.total_cost == 0


def test_listed_districts_and_case_without_district():
    inst = make(
        [cheap(districts=["north"]), DEAR],
        [case("n", district="north"), case("s", district="south"), case("none")],
    )
    res = run(inst)
    assert placed(res) == {"n": "cheap", "s": "dear", "none": "dear"}
    assert res.total_cost == 400


def test_forbidden_providers():
    inst = make(
        [cheap(), DEAR],
        [case("f", forbidden_providers=["cheap"]), case("ok", forbidden_providers=["dear"])],
    )
    res = run(inst)
    assert placed(res) == {"f": "dear", "ok": "cheap"}
    assert res.total_cost == 200


def test_forbidden_everywhere_leaves_case_unassigned():
    res = run(make([cheap(), DEAR], [case("f", forbidden_providers=["cheap", "dear"])]))
    assert placed(res) == {}
    assert set(reasons(res)) == {"f"}
    penalties(res, unassigned=UNASSIGNED)
    assert res.objective == UNASSIGNED


def test_accepts_new_false_keeps_only_its_current_cases():
    inst = make(
        [cheap(accepts_new=False), DEAR],
        [
            case("kept", current_provider="cheap"),
            case("elsewhere", current_provider="dear"),
            case("new"),
            case("closed-provider", current_provider="gone"),
        ],
    )
    res = run(inst)
    assert placed(res) == {
        "kept": "cheap",
        "elsewhere": "dear",
        "new": "dear",
        "closed-provider": "dear",
    }
    assert res.total_cost == 600


def test_must_provider_overrides_every_eligibility_rule():
    strict = cheap(
        competences=[],
        districts=["south"],
        min_age=20,
        max_age=25,
        accepts_new=False,
    )
    inst = make(
        [strict, DEAR],
        [
            case(
                "locked",
                age=10,
                district="north",
                needs=["autism"],
                forbidden_providers=["cheap"],
                must_provider="cheap",
            ),
            case("free", age=10, district="north", needs=["autism"]),
        ],
    )
    res = run(inst)
    assert placed(res) == {"locked": "cheap", "free": "dear"}
    locked = {a["case"]: a["locked"] for a in res.assignments}
    assert locked == {"locked": True, "free": False}
    assert res.total_cost == 200


def test_must_provider_binds_even_when_dearer():
    inst = make([cheap(), DEAR], [case("x", must_provider="dear", hours=3)])
    res = run(inst)
    assert placed(res) == {"x": "dear"}
    assert res.total_cost == 300
    assert res.objective == 300


def test_offer_does_not_make_an_ineligible_pair_eligible():
    inst = make(
        [cheap(), DEAR],
        [case("x", needs=["autism"])],
        offers=[{"case": "x", "provider": "cheap", "annual_cost": 0}],
    )
    res = run(inst)
    assert placed(res) == {"x": "dear"}
    assert res.total_cost == 200
    assert res.assignments[0]["offer"] is False


# --- load, capacity and max_cases ---------------------------------------------------------


def test_offer_hours_are_the_load_for_capacity_and_are_not_billed():
    inst = make(
        [provider("a", capacity=4, hourly_rate=100)],
        [case("big", hours=5), case("small", hours=1)],
        offers=[{"case": "big", "provider": "a", "annual_cost": 1000, "hours_per_week": 3}],
    )
    res = run(inst)
    assert placed(res) == {"big": "a", "small": "a"}
    hours = {a["case"]: (a["hours"], a["offer"]) for a in res.assignments}
    assert hours == {"big": (3.0, True), "small": (1.0, False)}
    assert entry(res, "a").hours == 4 and entry(res, "a").cases == 2
    assert cost_of(res, "a") == 1000 + 100  # offer + 1 billed hour
    penalties(res)


def test_offer_without_hours_uses_the_case_hours():
    inst = make(
        [provider("a", capacity=4)],
        [case("big", hours=5)],
        offers=[{"case": "big", "provider": "a", "annual_cost": 1000}],
    )
    res = run(inst)
    assert placed(res) == {}
    assert reasons(res) == {"big": CAPACITY_FULL}
    assert res.total_cost == 0
    penalties(res, unassigned=UNASSIGNED)


def test_capacity_hours_bind_third_case_unassigned():
    inst = make(
        [provider("a", capacity=8)],
        [case("c1", hours=4), case("c2", hours=4), case("c3", hours=5)],
    )
    res = run(inst)
    assert placed(res) == {"c1": "a", "c2": "a"}
    assert reasons(res) == {"c3": CAPACITY_FULL}
    assert entry(res, "a").hours == 8
    penalties(res, unassigned=UNASSIGNED)
    assert res.objective == UNASSIGNED


def test_capacity_is_exact_no_tolerance():
    inst = make(
        [provider("a", capacity=D("4.99"))],
        [case("c1", hours=D("2.5")), case("c2", hours=D("2.5"))],
    )
    res = run(inst)
    assert len(placed(res)) == 1
    penalties(res, unassigned=UNASSIGNED)


def test_max_cases_binds_third_case_unassigned():
    inst = make(
        [provider("a", max_cases=2, hourly_rate=100)],
        [case("c1", hours=1), case("c2", hours=1), case("c3", hours=3)],
    )
    res = run(inst)
    assert placed(res) == {"c1": "a", "c2": "a"}
    assert reasons(res) == {"c3": "every eligible provider is full or over budget (a: max cases)"}
    assert res.total_cost == 200
    penalties(res, unassigned=UNASSIGNED)


def test_max_cases_zero_takes_nothing():
    res = run(make([provider("a", max_cases=0), DEAR], [case("x")]))
    assert placed(res) == {"x": "dear"}


def test_closing_cases_take_no_capacity_and_count_in_no_limit():
    inst = make(
        [provider("a", capacity=2, max_cases=1)],
        [
            case("old", hours=10, status="closing", current_provider="a", must_provider="a"),
            case("new", hours=2),
        ],
    )
    res = run(inst)
    assert placed(res) == {"new": "a"}
    assert res.unassigned == []
    assert entry(res, "a").cases == 1 and entry(res, "a").hours == 2
    assert res.closing_cases == 1
    assert res.objective == 0


def test_only_closing_cases_are_not_placed_and_cost_nothing():
    inst = make(
        [provider("a", capacity=1, hourly_rate=100, fixed_cost=10, optional=True)],
        [case("old1", status="closing", current_provider="a", family="f", relations={"a": 3})],
        weights={"continuity": 1000, "relation_per_level": 1000, "family_split": 1000},
    )
    res = run(inst)
    assert res.assignments == [] and res.unassigned == []
    assert res.closing_cases == 1
    assert res.objective == 0 and cost_of(res, "a") == 0
    penalties(res)


# --- provider cost -----------------------------------------------------------------------


def test_fixed_cost_of_non_optional_provider_is_always_paid():
    inst = make(
        [provider("a", fixed_cost=5000), provider("b", fixed_cost=700, competences=["autism"])],
        [case("x", needs=["autism"])],
    )
    res = run(inst)
    assert placed(res) == {"x": "b"}
    assert entry(res, "a").cases == 0
    assert cost_of(res, "a") == 5000 and cost_of(res, "b") == 700
    assert res.total_cost == 5700


def test_fixed_cost_paid_with_no_cases_at_all():
    res = run(make([provider("a", fixed_cost=D("1234.5"))], []))
    assert res.total_cost == Fraction(2469, 2)
    assert res.objective == Fraction(2469, 2)
    assert res.assignments == [] and res.unassigned == []


def test_optional_provider_closed_when_unused():
    inst = make(
        [provider("opt", fixed_cost=5000, optional=True), provider("b", hourly_rate=100)],
        [case("x", hours=30)],
    )
    res = run(inst)
    assert placed(res) == {"x": "b"}
    assert cost_of(res, "opt") == 0 and cost_of(res, "b") == 3000
    assert res.total_cost == 3000


def test_optional_provider_opened_when_worth_it():
    inst = make(
        [provider("opt", fixed_cost=5000, optional=True), provider("b", hourly_rate=100)],
        [case("x", hours=30), case("y", hours=30)],
    )
    res = run(inst)
    assert placed(res) == {"x": "opt", "y": "opt"}
    assert cost_of(res, "opt") == 5000 and cost_of(res, "b") == 0
    assert res.total_cost == 5000


def test_included_hours_and_hourly_billing_above_them():
    inst = make(
        [provider("a", hourly_rate=100, included_hours=5, fixed_cost=1000)],
        [case("c3", hours=3), case("c4", hours=4), case("o", hours=10)],
        weeks=2,
        offers=[{"case": "o", "provider": "a", "annual_cost": 50}],
    )
    res = run(inst)
    assert placed(res) == {"c3": "a", "c4": "a", "o": "a"}
    # billed 3 + 4 = 7 h (the offered case is not billed), 2 above the included 5
    assert cost_of(res, "a") == 1000 + 100 * 2 * 2 + 50
    assert entry(res, "a").hours == 17
    assert res.total_cost == 1450


def test_hours_within_included_hours_cost_nothing_extra():
    inst = make(
        [provider("a", hourly_rate=100, included_hours=6), provider("b", hourly_rate=1)],
        [case("c1", hours=3), case("c2", hours=3)],
    )
    res = run(inst)
    assert placed(res) == {"c1": "a", "c2": "a"}
    assert res.total_cost == 0


def test_decimal_hours_rate_weeks_and_included_hours_are_exact():
    inst = make(
        [provider("a", hourly_rate=D("312.75"), included_hours=D("9.25"))],
        [case(f"c{n}", hours=D("2.5")) for n in range(5)] + [case("o", hours=D("1.5"))],
        weeks=D("45.5"),
        offers=[{"case": "o", "provider": "a", "annual_cost": D("1234.56")}],
    )
    res = run(inst)
    assert set(placed(res).values()) == {"a"} and len(placed(res)) == 6
    # 12.5 billed hours, 3.25 above 9.25, at 312.75 DKK/h for 45.5 weeks, plus the offer
    hourly = Fraction("312.75") * Fraction("45.5") * Fraction("3.25")
    assert hourly == Fraction(4624790625, 100000)
    assert res.total_cost == hourly + Fraction("1234.56")
    assert cost_of(res, "a") == hourly + Fraction("1234.56")
    assert entry(res, "a").hours == 14
    assert res.to_dict()["total_cost"] == 47482.47


# --- budgets -----------------------------------------------------------------------------


def test_budget_leaves_a_case_unassigned():
    inst = make(
        [provider("e", kind="external", hourly_rate=100)],
        [case("c1", hours=2), case("c2", hours=3)],
        budgets=[{"name": "ext frame", "kinds": ["external"], "max_annual_cost": 250}],
    )
    res = run(inst)
    assert placed(res) == {"c1": "e"}
    assert reasons(res) == {
        "c2": "every eligible provider is full or over budget (e: budget 'ext frame')"
    }
    assert res.total_cost == 200
    penalties(res, unassigned=UNASSIGNED)


def test_budget_moves_a_case_to_a_dearer_provider():
    inst = make(
        [provider("e", kind="external", hourly_rate=100), provider("c", hourly_rate=300)],
        [case("c1", hours=3), case("c2", hours=2)],
        budgets=[{"name": "ext", "kinds": ["external"], "max_annual_cost": 400}],
    )
    res = run(inst)
    assert placed(res) == {"c1": "e", "c2": "c"}
    assert cost_of(res, "e") == 300 and cost_of(res, "c") == 600
    assert res.total_cost == 900
    penalties(res)


def test_budget_counts_fixed_cost_of_an_opened_optional_provider():
    inst = make(
        [
            provider("e", kind="external", fixed_cost=300, optional=True),
            provider("c", hourly_rate=100),
        ],
        [case("c1", hours=2), case("c2", hours=2), case("c3", hours=2), case("c4", hours=2)],
        budgets=[{"name": "ext", "providers": ["e"], "max_annual_cost": 299}],
    )
    res = run(inst)
    assert placed(res) == {c: "c" for c in ("c1", "c2", "c3", "c4")}
    assert cost_of(res, "e") == 0 and res.total_cost == 800


def test_budget_counts_a_provider_matched_by_kind_and_id_once():
    inst = make(
        [provider("e", kind="external", hourly_rate=100), provider("c", hourly_rate=1000)],
        [case("x", hours=3)],
        budgets=[
            {"name": "both", "kinds": ["external"], "providers": ["e"], "max_annual_cost": 300}
        ],
    )
    res = run(inst)
    assert placed(res) == {"x": "e"}  # 300 <= 300 counted once; 600 if counted twice
    assert res.total_cost == 300


def test_budget_over_several_providers_sums_them():
    inst = make(
        [
            provider("e1", kind="external", hourly_rate=100),
            provider("e2", kind="external", hourly_rate=100),
            provider("c", hourly_rate=150),
        ],
        [case("c1", hours=2), case("c2", hours=2), case("c3", hours=2)],
        budgets=[{"name": "ext", "kinds": ["external"], "max_annual_cost": 400}],
    )
    res = run(inst)
    where = placed(res)
    assert len(where) == 3 and list(where.values()).count("c") == 1
    assert cost_of(res, "e1") + cost_of(res, "e2") == 400
    assert cost_of(res, "c") == 300
    assert res.total_cost == 700


# --- penalties ---------------------------------------------------------------------------


def test_relation_penalty_is_strongest_level_minus_given_also_when_unassigned():
    inst = make(
        [provider("a"), provider("b")],
        [
            case("x", relations={"a": 3, "b": 1}, forbidden_providers=["a"]),
            case("y", relations={"b": 2}, needs=["none-has-it"]),
            case("z", relations={"a": 1, "b": 3}),
        ],
        weights={"relation_per_level": 1000},
    )
    res = run(inst)
    assert placed(res) == {"x": "b", "z": "b"}
    levels = {a["case"]: a["relation_level"] for a in res.assignments}
    assert levels == {"x": 1, "z": 3}
    penalties(res, relation=2000 + 2000, unassigned=UNASSIGNED)


def test_relation_penalty_steers_to_the_known_adult():
    inst = make(
        [provider("a", hourly_rate=100), provider("b")],
        [case("x", hours=2, relations={"a": 2})],
        weights={"relation_per_level": 150},
    )
    res = run(inst)
    assert placed(res) == {"x": "a"}  # 200 DKK beats 2 x 150 DKK of relation penalty
    assert res.total_cost == 200
    penalties(res)
    assert res.objective == 200


def test_continuity_only_for_a_current_provider_in_the_instance():
    inst = make(
        [provider("a", hourly_rate=50), provider("b")],
        [
            case("moved", current_provider="a", forbidden_providers=["a"]),
            case("gone", current_provider="closed-club"),
            case("stays", current_provider="a"),
            case("lost", current_provider="a", needs=["none-has-it"]),
        ],
        weights={"continuity": 1000},
    )
    res = run(inst)
    assert placed(res) == {"moved": "b", "gone": "b", "stays": "a"}
    assert res.total_cost == 100  # "stays" at a: 100 DKK is less than 1000 continuity
    penalties(res, continuity=2000, unassigned=UNASSIGNED)


def test_family_split_per_extra_provider():
    inst = make(
        [provider("a"), provider("b"), provider("c")],
        [
            case("f1", family="f", forbidden_providers=["b", "c"]),
            case("f2", family="f", forbidden_providers=["a", "c"]),
            case("f3", family="f", forbidden_providers=["a", "b"]),
            case("g1", family="g"),
            case("g2", family="g"),
            case("alone", family="h"),
        ],
        weights={"family_split": 700},
    )
    res = run(inst)
    where = placed(res)
    assert (where["f1"], where["f2"], where["f3"]) == ("a", "b", "c")
    assert where["g1"] == where["g2"]
    penalties(res, family=2 * 700)


def test_family_split_keeps_siblings_together_when_cheaper():
    inst = make(
        [provider("a"), provider("b", hourly_rate=100)],
        [case("s1", family="f"), case("s2", family="f", forbidden_providers=["a"])],
        weights={"family_split": 300},
    )
    res = run(inst)
    assert placed(res) == {"s1": "b", "s2": "b"}
    assert res.total_cost == 400
    penalties(res)


def test_family_split_counts_only_placed_siblings():
    inst = make(
        [provider("a")],
        [case("s1", family="f"), case("s2", family="f", needs=["none-has-it"])],
        weights={"family_split": 300},
    )
    res = run(inst)
    assert placed(res) == {"s1": "a"}
    penalties(res, unassigned=UNASSIGNED)


def test_kind_penalty_per_case_at_that_kind():
    inst = make(
        [provider("e", kind="external"), provider("c", kind="club", hourly_rate=100)],
        [
            case("only-ext", forbidden_providers=["c"]),
            case("free", hours=2),
            case("free2", hours=3),
        ],
        weights={"kind_penalty": {"external": 250, "club": 0}},
    )
    res = run(inst)
    # free: club 200 < 250; free2: club 300 > 250
    assert placed(res) == {"only-ext": "e", "free": "c", "free2": "e"}
    assert res.total_cost == 200
    penalties(res, kind=500)
    assert res.objective == 700


def test_unassigned_penalty_per_case():
    inst = make(
        [provider("a")],
        [case("x", needs=["n"]), case("y", age=20, needs=["n"]), case("ok")],
        weights={"unassigned": D("1234.56")},
    )
    res = run(inst)
    assert placed(res) == {"ok": "a"}
    assert set(reasons(res)) == {"x", "y"}
    penalties(res, unassigned=2 * Fraction("1234.56"))
    assert res.objective == Fraction("2469.12")


def test_unassigned_weight_zero_with_cost_leaves_cases_out():
    inst = make([provider("a", hourly_rate=1)], [case("x")], weights={"unassigned": 0})
    res = run(inst)
    assert placed(res) == {}
    assert res.objective == 0


def test_default_weights_are_the_spec_defaults():
    inst = validate_instance(
        {
            "name": "defaults",
            "providers": [provider("a"), provider("b")],
            "cases": [
                case("x", current_provider="a", relations={"a": 2}, forbidden_providers=["a"]),
                case("s1", family="f", forbidden_providers=["b"]),
                case("s2", family="f", forbidden_providers=["a"]),
                case("u", needs=["none-has-it"]),
            ],
        }
    )
    res = run(inst)
    assert placed(res) == {"x": "b", "s1": "a", "s2": "b"}
    penalties(res, relation=50000, continuity=15000, family=20000, unassigned=10_000_000)
    assert res.total_cost == 0
    assert res.objective == 10_085_000
