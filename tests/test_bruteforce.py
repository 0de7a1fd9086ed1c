"""The solver against exhaustive search on random tiny instances with every spec feature.

Brute force scores placements with the independent checker; the solver must prove the
same optimum exactly (or say infeasible exactly when no placement is feasible), and its
allocation/1 document must pass `check`.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction

from bruteforce import DrawChooser, RandomChooser, brute_force, random_instance_dict, to_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from solver import SolveParams, solve, validate_instance
from solver.checker import check, evaluate

PARAMS = SolveParams(time_limit=20, workers=2, seed=0)


def assert_solver_matches_brute_force(doc: dict) -> None:
    inst = validate_instance(doc)
    best, placement = brute_force(inst)
    res = solve(inst, PARAMS)
    where = f"instance: {to_json(doc)}"
    if best is None:
        assert res.status == "infeasible", f"brute force: infeasible, solver: {res.status}; {where}"
    else:
        assert res.status == "optimal", f"brute force: {best}, solver: {res.status}; {where}"
        assert isinstance(res.objective, Fraction)
        assert abs(res.objective - best) <= Fraction(1, 10**6), (
            f"brute force {float(best)} at {placement}, solver {float(res.objective)}; {where}"
        )
    report = check(inst, json.loads(json.dumps(res.to_dict())))
    assert report.ok, f"{report.violations}; {where}"
    if best is not None:
        assert report.evaluation is not None
        assert report.evaluation.objective == best, where


@st.composite
def instance_docs(draw) -> dict:
    return random_instance_dict(DrawChooser(draw))


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(instance_docs())
def test_solver_matches_brute_force_hypothesis(doc):
    assert_solver_matches_brute_force(doc)


def test_solver_matches_brute_force_seeded_loop():
    for seed in range(150):
        doc = random_instance_dict(RandomChooser(random.Random(seed)))
        assert_solver_matches_brute_force(doc)


def test_generator_covers_every_feature():
    """The seeded instances really exercise each term and rule (else the loop proves little)."""
    seen: set[str] = set()
    for seed in range(150):
        doc = random_instance_dict(RandomChooser(random.Random(seed)))
        inst = validate_instance(doc)
        best, placement = brute_force(inst)
        if best is None:
            seen.add("infeasible")
            continue
        ev = evaluate(inst, placement)
        seen |= {f"penalty {k}" for k, v in ev.penalties.items() if v}
        seen |= {"budget"} if inst.budgets else set()
        seen |= {"lock"} if any(c.must_provider for c in inst.cases) else set()
        seen |= {"closing"} if any(c.status == "closing" for c in inst.cases) else set()
        seen |= (
            {"offer used"}
            if any((o.case, o.provider) in placement.items() for o in inst.offers)
            else set()
        )
        if any(v.denominator != 1 for v in ev.provider_cost.values()):
            seen.add("fractional cost")
    expected = {
        "infeasible",
        "penalty relation",
        "penalty continuity",
        "penalty family",
        "penalty kind",
        "penalty unassigned",
        "budget",
        "lock",
        "closing",
        "offer used",
        "fractional cost",
    }
    assert expected <= seen, expected - seen


def test_brute_force_on_a_known_instance():
    inst = validate_instance(
        {
            "name": "known",
            "weeks_per_year": 10,
            "providers": [
                {"id": "a", "kind": "club", "capacity_hours": 4, "hourly_rate": 100},
                {"id": "b", "kind": "external", "capacity_hours": 10, "hourly_rate": 300},
            ],
            "cases": [
                {"id": "x", "age": 10, "hours_per_week": 3},
                {"id": "y", "age": 10, "hours_per_week": 3},
            ],
            "weights": {"unassigned": 1000000},
        }
    )
    # One case fits at a (3 h * 10 weeks * 100 = 3000), the other goes to b (9000).
    best, placement = brute_force(inst)
    assert best == 12000
    assert sorted(placement.values()) == ["a", "b"]


def test_brute_force_reports_no_feasible_placement():
    inst = validate_instance(
        {
            "name": "locked over capacity",
            "providers": [{"id": "a", "kind": "club", "capacity_hours": 2}],
            "cases": [{"id": "x", "age": 10, "hours_per_week": 3, "must_provider": "a"}],
        }
    )
    assert brute_force(inst) == (None, {})
