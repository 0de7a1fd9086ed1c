"""Why a case is left unassigned, and which rules clash when nothing is feasible.

The wording of each reason of `solver.reasons` is asserted exactly, directly through
`no_provider_reason` and through full solves. The infeasibility clashes of
`solver.conflicts.lock_conflicts` are asserted exactly too, and `solve` must report them
with status infeasible and no objective. An instance without locks is never infeasible
(unless a fixed cost alone breaks a budget). Finally, on random instances, every reason
given for an optimal allocation is confirmed by the independent checker.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from decimal import Decimal as D
from typing import Any

from bruteforce import RandomChooser, random_instance_dict, to_json
from test_eligibility import large_instance_dict

from solver import Instance, Result, SolveParams, solve, validate_instance
from solver.arrays import derive
from solver.checker import allowed, check
from solver.checker import evaluate as check_evaluate
from solver.conflicts import lock_conflicts
from solver.reasons import no_provider_reason

PARAMS = SolveParams(time_limit=10, workers=2, seed=0)
WEIGHTS = {"relation_per_level": 0, "continuity": 0, "family_split": 0, "unassigned": 1_000_000}
CAPACITY_FULL = "capacity of every eligible provider is used"


def provider(pid: str, kind: str = "club", capacity: Any = 100, **fields: Any) -> dict:
    return {"id": pid, "kind": kind, "capacity_hours": capacity, **fields}


def case(cid: str = "x", age: int = 10, hours: Any = 2, **fields: Any) -> dict:
    return {"id": cid, "age": age, "hours_per_week": hours, **fields}


def make(
    providers: list[dict], cases: list[dict], weights: dict | None = None, **top: Any
) -> Instance:
    return validate_instance(
        {
            "name": "reasons",
            "weeks_per_year": 1,
            "providers": providers,
            "cases": cases,
            "weights": {**WEIGHTS, **(weights or {})},
            **top,
        }
    )


def reason_for(providers: list[dict], c: dict) -> str:
    """The direct reason, checked against the reason a full solve reports."""
    inst = make(providers, [c])
    direct = no_provider_reason(inst.cases[0], inst.providers)
    res = run(inst)
    assert res.assignments == []
    assert res.unassigned == [{"case": c["id"], "reason": direct}]
    return direct


def run(inst: Instance) -> Result:
    res = solve(inst, PARAMS)
    report = check(inst, json.loads(json.dumps(res.to_dict())))
    assert report.ok, report.violations
    return res


def reasons(res: Result) -> dict[str, str]:
    return {u["case"]: u["reason"] for u in res.unassigned}


# --- no eligible provider ------------------------------------------------------------------


def test_no_provider_has_the_competence():
    providers = [provider("a", competences=["psych"]), provider("b")]
    assert reason_for(providers, case(needs=["autism"])) == 'no provider has competence "autism"'


def test_no_provider_has_several_competences():
    providers = [provider("a", competences=["psych"])]
    got = reason_for(providers, case(needs=["autism", "psych", "adhd"]))
    assert got == 'no provider has competences "autism", "adhd"'


def test_no_provider_has_all_of_the_competences():
    providers = [provider("a", competences=["autism"]), provider("b", competences=["psych"])]
    got = reason_for(providers, case(needs=["autism", "psych"]))
    assert got == 'no provider has all of the competences "autism", "psych"'


def test_no_provider_has_the_competence_for_the_age():
    providers = [
        provider("a", competences=["autism"], max_age=18),
        provider("b", competences=["autism"], min_age=20),
        provider("c", min_age=19, max_age=19),  # serves 19, but lacks the competence
    ]
    got = reason_for(providers, case(age=19, needs=["autism"]))
    assert got == 'no provider has competence "autism" for age 19'


def test_no_provider_has_several_competences_for_the_age():
    providers = [provider("a", competences=["autism", "psych"], max_age=18)]
    got = reason_for(providers, case(age=19, needs=["autism", "psych"]))
    assert got == 'no provider has competences "autism", "psych" for age 19'


def test_no_provider_serves_the_age():
    providers = [provider("a", max_age=18), provider("b", min_age=20)]
    assert reason_for(providers, case(age=19)) == "no provider serves age 19"


def test_no_provider_serves_the_district():
    providers = [provider("a", districts=["south"]), provider("b", districts=["east", "west"])]
    got = reason_for(providers, case(district="north"))
    assert got == "no provider for age 10 serves district north"


def test_no_provider_with_competence_serves_the_district():
    providers = [
        provider("a", competences=["autism"], districts=["south"]),
        provider("b", districts=["north"]),
    ]
    got = reason_for(providers, case(district="north", needs=["autism"]))
    assert got == 'no provider with competence "autism" for age 10 serves district north'


def test_case_without_district_and_providers_with_districts():
    providers = [provider("a", districts=["south"])]
    got = reason_for(providers, case())
    assert got == (
        "the case has no district and every provider for age 10 serves listed districts only"
    )


def test_every_provider_forbidden():
    providers = [provider("a"), provider("b", districts=["north"]), provider("c", max_age=5)]
    got = reason_for(providers, case(district="north", forbidden_providers=["a", "b"]))
    assert got == "every provider for age 10 in district north is forbidden for this case (a, b)"


def test_every_provider_takes_no_new_cases():
    providers = [
        provider("a", accepts_new=False),
        provider("b", accepts_new=False),
        provider("c"),
    ]
    got = reason_for(providers, case(forbidden_providers=["c"], current_provider="other"))
    assert got == "every provider for age 10 takes no new cases (a, b)"


# --- eligible providers exist, but none is used ------------------------------------------------


def test_capacity_of_every_eligible_provider_is_used():
    inst = make(
        [provider("a", capacity=3), provider("b", capacity=3), provider("c", max_age=5)],
        [case("c1", hours=3), case("c2", hours=3), case("c3", hours=3)],
    )
    res = run(inst)
    assert res.status == "optimal"
    assert len(res.assignments) == 2
    (left,) = res.unassigned
    assert left["reason"] == CAPACITY_FULL


def test_max_cases_of_every_eligible_provider_is_used():
    inst = make(
        [provider("a", max_cases=1), provider("b", max_cases=0)],
        [case("c1", hours=1), case("c2", hours=1, relations={"a": 1})],
        weights={"relation_per_level": 5},
    )
    res = run(inst)
    assert {a["case"]: a["provider"] for a in res.assignments} == {"c2": "a"}
    assert reasons(res) == {
        "c1": "every eligible provider is full or over budget (a: max cases; b: max cases)"
    }


def test_mixed_limits_name_each_provider():
    inst = make(
        [provider("a", capacity=2), provider("b", max_cases=1)],
        [case("c1", hours=2), case("c2", hours=2), case("c3", hours=2)],
    )
    res = run(inst)
    assert len(res.assignments) == 2
    (left,) = res.unassigned
    assert (
        left["reason"] == "every eligible provider is full or over budget (a: hours; b: max cases)"
    )


def test_budget_blocks_the_case():
    inst = make(
        [provider("e", kind="external", hourly_rate=100)],
        [case("c1", hours=2), case("c2", hours=3)],
        budgets=[{"name": "ext frame", "kinds": ["external"], "max_annual_cost": 250}],
    )
    res = run(inst)
    assert reasons(res) == {
        "c2": "every eligible provider is full or over budget (e: budget 'ext frame')"
    }


def test_budget_blocks_the_case_budget_name_is_quoted_as_written():
    # A budget's name is shown as written, underscores included.
    inst = make(
        [provider("e", kind="external", hourly_rate=100)],
        [case("c1", hours=3)],
        budgets=[{"name": "ext_frame_2024", "kinds": ["external"], "max_annual_cost": 250}],
    )
    res = run(inst)
    assert reasons(res) == {
        "c1": "every eligible provider is full or over budget (e: budget 'ext_frame_2024')"
    }


def test_placing_it_costs_more_than_leaving_it():
    inst = make(
        [provider("a", hourly_rate=100)],
        [case("x", hours=2)],
        weights={"unassigned": 150},
    )
    res = run(inst)
    assert res.status == "optimal"
    assert res.assignments == []
    assert reasons(res) == {
        "x": "placing it costs more than leaving it: at the best eligible provider (a) its "
        "cost and penalties come to at least the unassigned penalty of 150 DKK"
    }
    assert res.objective == 150


def test_placing_it_costs_more_than_leaving_it_names_the_best_provider():
    inst = make(
        [provider("a", hourly_rate=200), provider("b", hourly_rate=100)],
        [case("x", hours=2)],
        weights={"unassigned": 1},
    )
    res = run(inst)
    assert reasons(res)["x"].startswith(
        "placing it costs more than leaving it: at the best eligible provider (b) "
    )


# --- infeasibility: the clashing rules -----------------------------------------------------------


def locked(cid: str, pid: str, hours: Any = 2, **fields: Any) -> dict:
    return case(cid, hours=hours, must_provider=pid, **fields)


def assert_infeasible(inst: Instance, expected: list[str]) -> None:
    assert lock_conflicts(derive(inst)) == expected
    res = solve(inst, PARAMS)
    assert res.status == "infeasible"
    assert res.objective is None and res.total_cost is None
    assert res.assignments == [] and res.unassigned == []
    assert res.conflicts == expected
    doc = json.loads(json.dumps(res.to_dict()))
    assert doc["objective"] is None and doc["conflicts"] == expected
    assert check(inst, doc).ok


def test_locks_over_capacity():
    inst = make(
        [provider("a", capacity=4), provider("b")],
        [locked("L1", "a", hours=3), locked("L2", "a", hours=2), case("free")],
    )
    assert_infeasible(inst, ["cases L1 and L2 are locked to a and need 5 h/week; a has 4 h/week"])


def test_lock_over_capacity_single_case():
    inst = make([provider("a", capacity=D("1.5"))], [locked("L1", "a", hours=D("2.5"))])
    assert_infeasible(inst, ["case L1 is locked to a and needs 2.5 h/week; a has 1.5 h/week"])


def test_locks_over_capacity_names_the_true_capacity():
    # The loads share the hour unit 2 h; the capacity of 3 h must still be reported as 3.
    inst = make([provider("a", capacity=3)], [locked("L1", "a"), locked("L2", "a")])
    assert_infeasible(inst, ["cases L1 and L2 are locked to a and need 4 h/week; a has 3 h/week"])


def test_locks_over_capacity_use_offer_hours():
    inst = make(
        [provider("a", capacity=5)],
        [locked("L1", "a", hours=1), locked("L2", "a", hours=1)],
        offers=[{"case": "L1", "provider": "a", "annual_cost": 0, "hours_per_week": 5}],
    )
    assert_infeasible(inst, ["cases L1 and L2 are locked to a and need 6 h/week; a has 5 h/week"])


def test_locks_over_max_cases():
    inst = make(
        [provider("a", max_cases=2)],
        [locked("L1", "a"), locked("L2", "a"), locked("L3", "a")],
    )
    assert_infeasible(inst, ["cases L1, L2 and L3 are locked to a; a takes at most 2 cases"])


def test_locks_over_capacity_and_max_cases_both_reported():
    inst = make(
        [provider("a", capacity=2, max_cases=1), provider("b", capacity=0)],
        [locked("L1", "a"), locked("L2", "a"), locked("L3", "b")],
    )
    assert_infeasible(
        inst,
        [
            "cases L1 and L2 are locked to a and need 4 h/week; a has 2 h/week",
            "cases L1 and L2 are locked to a; a takes at most 1 case",
            "case L3 is locked to b and needs 2 h/week; b has 0 h/week",
        ],
    )


def test_fixed_costs_and_locked_cases_over_a_budget():
    inst = make(
        [
            provider("e", kind="external", fixed_cost=1000, hourly_rate=100),
            provider("x", kind="external", fixed_cost=300, optional=True),
            provider("c", fixed_cost=99999),
        ],
        [locked("L1", "e", hours=5), case("free")],
        budgets=[{"name": "ext frame", "kinds": ["external"], "max_annual_cost": 1200}],
    )
    assert_infeasible(
        inst,
        [
            "budget 'ext frame' allows 1 200 DKK a year, but fixed costs and locked case L1 "
            "alone cost 1 500 DKK (e 1 500 DKK)"
        ],
    )


def test_fixed_cost_alone_over_a_budget():
    inst = make(
        [provider("e", kind="external", fixed_cost=D("2500.5")), provider("c")],
        [case("free")],
        budgets=[{"name": "frame", "providers": ["e"], "max_annual_cost": 2500}],
    )
    assert_infeasible(
        inst,
        [
            "budget 'frame' allows 2 500 DKK a year, but fixed costs alone "
            "cost 2 500.50 DKK (e 2 500.50 DKK)"
        ],
    )


def test_locked_optional_provider_opens_and_counts_in_the_budget():
    inst = make(
        [provider("e", kind="external", fixed_cost=800, optional=True)],
        [locked("L1", "e")],
        offers=[{"case": "L1", "provider": "e", "annual_cost": 300}],
        budgets=[{"name": "ext", "kinds": ["external"], "max_annual_cost": 1000}],
    )
    assert_infeasible(
        inst,
        [
            "budget 'ext' allows 1 000 DKK a year, but fixed costs and locked case L1 alone "
            "cost 1 100 DKK (e 1 100 DKK)"
        ],
    )


def test_locks_exactly_at_the_limits_are_feasible():
    inst = make(
        [provider("a", capacity=4, max_cases=2, kind="external", hourly_rate=100)],
        [locked("L1", "a"), locked("L2", "a"), case("free")],
        budgets=[{"name": "ext", "kinds": ["external"], "max_annual_cost": 400}],
    )
    assert lock_conflicts(derive(inst)) == []
    res = run(inst)
    assert res.status == "optimal"
    assert {a["case"] for a in res.assignments} == {"L1", "L2"}
    assert res.total_cost == 400


def test_closing_locked_cases_never_clash():
    inst = make(
        [provider("a", capacity=0, max_cases=0)],
        [locked("L1", "a", status="closing", hours=50)],
    )
    assert lock_conflicts(derive(inst)) == []
    assert run(inst).status == "optimal"


def test_no_lock_clash_is_never_infeasible():
    """Random instances without locks: infeasible exactly when a fixed cost alone breaks a
    budget (the one clash left without locks), else always solved."""
    solved = 0
    for seed in range(80):
        doc = random_instance_dict(RandomChooser(random.Random(seed)))
        for c in doc["cases"]:
            c.pop("must_provider", None)
        inst = validate_instance(doc)
        conflicts = lock_conflicts(derive(inst))
        res = solve(inst, PARAMS)
        where = f"seed {seed}: {to_json(doc)}"
        if conflicts:
            assert all(c.startswith("budget '") for c in conflicts), where
            assert res.status == "infeasible" and res.conflicts == conflicts, where
            continue
        solved += 1
        assert res.status == "optimal", f"{res.status} {res.conflicts}; {where}"
        assert res.objective is not None
        report = check(inst, json.loads(json.dumps(res.to_dict())))
        assert report.ok, f"{report.violations}; {where}"
    assert solved >= 60


# --- every reason holds for the allocation it explains -----------------------------------


def assert_reasons_hold(inst: Instance, res: Result, where: str) -> Counter:
    """Check each unassigned reason against the checker: try the case at every provider
    it may be placed at, keeping the rest of the optimal allocation."""
    place = {a["case"]: a["provider"] for a in res.assignments}
    base = check_evaluate(inst, place)
    seen: Counter = Counter()
    for u in res.unassigned:
        c, reason = inst.case(u["case"]), u["reason"]
        options = [p.id for p in inst.providers if allowed(c, p)]
        trials = {pid: check_evaluate(inst, {**place, c.id: pid}) for pid in options}
        what = f"case {c.id}: {reason}; {where}"
        if reason.startswith(("no provider", "every provider", "the case has no district")):
            assert options == [], what
            assert reason == no_provider_reason(c, inst.providers), what
            seen["no provider"] += 1
        elif reason == CAPACITY_FULL:
            assert options, what
            for t in trials.values():
                assert any("exceeds capacity_hours" in v for v in t.violations), what
            seen["capacity"] += 1
        elif reason.startswith("every eligible provider is full or over budget ("):
            assert options, what
            for pid, t in trials.items():
                assert not t.feasible and f"{pid}: " in reason, what
            seen["limits"] += 1
        elif reason.startswith("placing it costs more than leaving it"):
            assert options, what
            for t in trials.values():
                assert not t.feasible or t.objective >= base.objective, what
            seen["costs more"] += 1
        else:
            raise AssertionError(f"unexpected reason for an optimal allocation: {what}")
    return seen


def test_every_reason_holds_on_random_instances():
    seen: Counter = Counter()
    docs = [
        (f"tiny {s}", random_instance_dict(RandomChooser(random.Random(s)))) for s in range(200)
    ]
    docs += [(f"large {s}", large_instance_dict(random.Random(10_000 + s))) for s in range(8)]
    for label, doc in docs:
        inst = validate_instance(doc)
        res = solve(inst, PARAMS)
        if res.status != "optimal":
            continue
        seen += assert_reasons_hold(inst, res, f"{label}: {to_json(doc)}")
    assert set(seen) == {"no provider", "capacity", "limits", "costs more"}, seen
