"""Goals in order (`solve --priority`) and trade-off curves (`pareto`), against brute force.

The brute force enumerates every feasible placement and scores it with the independent
checker; the lexicographic optimum is the least tuple of term values, the frontier the
placements that no other beats on both criteria.
"""

from __future__ import annotations

import json
import math
import random
from fractions import Fraction

import pytest
from bruteforce import RandomChooser, feasible_placements, random_instance_dict, term_values

from cli import main
from solver.arrays import derive
from solver.checker import check
from solver.goals import frontier, solve_priority
from solver.io import load_instance, validate_instance
from solver.model import TERMS
from solver.solve import SolveParams, solve

PARAMS = SolveParams(time_limit=20, workers=2, seed=0)
ORDERS = [["relation", "cost"], ["continuity"], ["cost", "family"], ["kind", "unassigned"]]


def _tiny(seed: int):
    return validate_instance(random_instance_dict(RandomChooser(random.Random(seed))))


def _stages(order: list[str]) -> list[list[str]]:
    first = [] if "unassigned" in order else [["unassigned"]]
    return first + [[t] for t in order] + [list(TERMS)]


def _checked(inst, result) -> dict[str, Fraction]:
    """The result's terms as the independent checker computes them (and it is feasible)."""
    report = check(inst, json.loads(json.dumps(result.to_dict())))
    assert report.ok, report.violations
    return term_values(report.evaluation)


def _brute_stages(inst, order: list[str], tolerance: float):
    """Stage by stage: the least value among the placements within every earlier limit
    (the limit is rounded down to whole money units). The values and the placements'
    terms left at the end; None when no placement is feasible."""
    scale = derive(inst).money_scale
    left = [term_values(ev) for _, ev in feasible_placements(inst)]
    if not left:
        return None, []
    expected = []
    for n, names in enumerate(_stages(order)):
        value = min(sum(v[t] for t in names) for v in left)
        implicit = n == 0 and "unassigned" not in order
        share = Fraction(tolerance)
        slack = 0 if implicit else Fraction(math.floor(abs(value) * scale * share), scale)
        left = [v for v in left if sum(v[t] for t in names) <= value + slack]
        expected.append(round(float(value), 2))
    return expected, left


def _assert_priority(inst, order, tolerance) -> dict:
    expected, left = _brute_stages(inst, order, tolerance)
    result = solve_priority(inst, order, tolerance, PARAMS)
    if expected is None:
        assert result.status == "infeasible"
        return {}
    assert result.priority["optimal"], result.priority
    assert [s["value"] for s in result.priority["stages"]] == expected, (order, tolerance)
    values = _checked(inst, result)
    assert values in left  # the allocation keeps every limit and is best for the last stage
    return {a["case"]: a["provider"] for a in result.assignments}


@pytest.mark.parametrize("seed", range(40))
def test_priority_matches_brute_force(seed):
    _assert_priority(_tiny(seed), ORDERS[seed % len(ORDERS)], [0.0, 0.1, 0.5][seed % 3])


@pytest.mark.parametrize("tolerance, chosen", [(0.0, "a"), (0.05, "a"), (0.1, "b"), (0.5, "b")])
def test_priority_tolerance_against_brute_force(tolerance, chosen):
    """A costs 100 000 and keeps no relation; B costs 110 000 and keeps it: cost first,
    B is chosen exactly when the tolerance allows 10 %."""
    inst = validate_instance(
        {
            "name": "tolerance",
            "providers": [
                {"id": "a", "kind": "external", "capacity_hours": 10},
                {"id": "b", "kind": "external", "capacity_hours": 10},
            ],
            "cases": [{"id": "U1", "age": 12, "hours_per_week": 5, "relations": {"b": 1}}],
            "offers": [
                {"case": "U1", "provider": "a", "annual_cost": 100000},
                {"case": "U1", "provider": "b", "annual_cost": 110000},
            ],
        }
    )
    assert _assert_priority(inst, ["cost", "relation"], tolerance) == {"U1": chosen}


def test_priority_tolerance_lets_the_later_goal_gain():
    inst = load_instance("instances/ballerup-2022.json")
    strict = solve_priority(inst, ["relation", "cost"], 0.0, PARAMS)
    loose = solve_priority(inst, ["relation", "cost"], 1.0, PARAMS)  # relation may double
    s, lo = strict.priority["stages"], loose.priority["stages"]
    assert [x["goal"] for x in s] == ["unassigned", "relation", "cost", "objective"]
    assert lo[1]["value"] == s[1]["value"] and lo[1]["limit"] == 2 * s[1]["limit"]
    assert _checked(inst, loose)["relation"] <= 2 * _checked(inst, strict)["relation"]
    assert _checked(inst, loose)["cost"] < _checked(inst, strict)["cost"]
    weighted = solve(inst, PARAMS)
    assert strict.objective >= weighted.objective  # the weighted optimum is the least sum


def _nondominated(inst, first: str, second: str) -> set[tuple[Fraction, Fraction]]:
    points = set()
    for _, ev in feasible_placements(inst):
        v = term_values(ev)
        points.add((ev.objective - v[second], v[second]))
    return {p for p in points if not any(q != p and q[0] <= p[0] and q[1] <= p[1] for q in points)}


@pytest.mark.parametrize("seed", range(20))
def test_pareto_points_are_the_frontier(seed):
    inst = _tiny(seed)
    first, second = [("cost", "relation"), ("cost", "continuity"), ("kind", "cost")][seed % 3]
    truth = _nondominated(inst, first, second)
    if not truth:
        curve = frontier(inst, first, second, 50, PARAMS)
        assert curve.conflicts and not curve.points
        return
    curve = frontier(inst, first, second, 50, PARAMS)  # 50 points: every one of them
    got = {(p.first, p.second) for p in curve.points}
    assert all(p.proven for p in curve.points)
    assert got == truth, (first, second, got, truth)
    for p in curve.points:
        values = _checked(inst, p.result)
        assert (p.first, p.second) == (sum(values.values()) - values[second], values[second])


def test_pareto_spreads_points_and_none_dominates_another():
    inst = load_instance("instances/ballerup-2022.json")
    curve = frontier(inst, "cost", "relation", 3, PARAMS)
    assert len(curve.points) == 3
    seconds = [p.second for p in curve.points]
    assert seconds == sorted(seconds, reverse=True) and len(set(seconds)) == 3
    weighted = solve(inst, PARAMS)
    assert curve.points[0].objective == weighted.objective  # the end best for cost + rest
    for p in curve.points:
        _checked(inst, p.result)
        others = [q for q in curve.points if q is not p]
        assert not any(q.first <= p.first and q.second <= p.second for q in others)


def test_cli_pareto_and_priority(tmp_path, capsys):
    out = tmp_path / "curve.html"
    args = ["pareto", "instances/tiny.json", "--between", "cost", "continuity"]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--time-limit", "10", "--out", str(out)])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert "Trade-off between cost and continuity" in text and "<svg" in out.read_text()
    with pytest.raises(SystemExit) as stop:
        main(["pareto", "instances/tiny.json", "--between", "cost", "costs", "--out", str(out)])
    assert stop.value.code == 2
    assert "'costs' is not a term" in capsys.readouterr().err
    alloc = tmp_path / "a.json"
    with pytest.raises(SystemExit) as stop:
        main(["solve", "instances/tiny.json", "--priority", "relation,cost", "--out", str(alloc)])
    assert stop.value.code == 0
    doc = json.loads(alloc.read_text())
    assert [s["goal"] for s in doc["priority"]["stages"]] == [
        "unassigned",
        "relation",
        "cost",
        "objective",
    ]
    assert check(load_instance("instances/tiny.json"), doc).ok
