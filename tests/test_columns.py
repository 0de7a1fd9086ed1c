"""The column dive (`solver.columns`): its LP against the pair LP and brute force on pure GAP
instances, its allocations against the rules, and `solve(columns=True)` against brute force."""

from __future__ import annotations

import importlib
import json
import random
import time
from fractions import Fraction

import numpy as np
import pytest
from bruteforce import RandomChooser, brute_force, random_instance_dict, to_json

from solver import SolveParams, solve, validate_instance
from solver.arrays import NO, derive
from solver.checker import check
from solver.checker import evaluate as evaluate_independently
from solver.columns import DONE, _knapsack, _Master, dive
from solver.gap import Gap, gap_instance
from solver.heuristic import evaluate, greedy
from solver.lp import relax
from solver.model import build_model


def _coefficients(am) -> np.ndarray:
    return am.pair_costs()


def _random_gaps(count: int, seed: int):
    rng = random.Random(seed)
    for k in range(count):
        m, n = rng.randint(2, 3), rng.randint(3, 6)
        use = tuple(tuple(rng.randint(1, 9) for _ in range(n)) for _ in range(m))
        cost = tuple(tuple(rng.randint(1, 30) for _ in range(n)) for _ in range(m))
        capacity = tuple(max(max(row), int(sum(row) * rng.uniform(0.4, 0.8))) for row in use)
        yield gap_instance(Gap(f"g{k}", cost, use, capacity))


def test_the_column_lp_lies_between_the_pair_lp_and_the_optimum():
    tighter = 0
    for inst in _random_gaps(60, 3):
        best, _ = brute_force(inst)
        a = derive(inst)
        am = build_model(a)
        master = _Master(am, _coefficients(am), np.zeros(am.n_pairs, bool), float("inf"), 10**6)
        assert master.generate() == DONE
        root = Fraction(master.value + am.constant) / a.money_scale
        pair_lp = Fraction(relax(am, 10.0).lagrangian) / a.money_scale
        where = f"instance: {inst.model_dump_json()}"
        assert pair_lp - Fraction(1, 1000) <= root <= best + Fraction(1, 1000), where
        tighter += root > pair_lp + Fraction(1, 1000)
    assert tighter >= 5, f"the column LP was tighter than the pair LP on {tighter} instances"


def test_the_column_lp_is_below_the_optimum_beside_the_other_rules():
    """Leaving cases out, hourly billing, offers, penalties, locks: the core drops only
    rules and terms that cannot lower the objective, so its LP is a lower bound when its
    costs are exact (no hours above included hours) and pricing is exact (no max_cases)."""
    rng = random.Random(17)
    checked = left_out = 0
    for _ in range(300):
        doc = random_instance_dict(RandomChooser(rng))
        for p in doc["providers"]:
            p.pop("max_cases", None)
        inst = validate_instance(doc)
        best, placement = brute_force(inst)
        a = derive(inst)
        am = build_model(a)
        if best is None or am.excess:
            continue
        master = _Master(am, _coefficients(am), np.zeros(am.n_pairs, bool), float("inf"), 10**6)
        assert master.generate() == DONE
        root = Fraction(master.value + am.constant) / a.money_scale
        assert root <= best + Fraction(1, 1000), f"{root} > {best}; instance: {to_json(doc)}"
        checked += 1
        left_out += len(placement) < a.n_cases
    assert checked >= 100 and left_out >= 5, (checked, left_out)


def _check_core(a, assign: np.ndarray, where: str) -> None:
    """Placed cases are on their eligible pairs, locked ones at their lock, and every
    provider's hours and case count fit."""
    cases, providers = a.pair_case.tolist(), a.pair_provider.tolist()
    pairs = {(j, i): k for k, (j, i) in enumerate(zip(cases, providers, strict=True))}
    load = np.zeros(a.n_providers, np.int64)
    for j, i in enumerate(assign):
        if i != NO:
            assert (j, int(i)) in pairs, where
            load[i] += a.pair_load[pairs[j, int(i)]]
    assert (load <= a.capacity).all(), where
    count = np.bincount(assign[assign != NO], minlength=a.n_providers)
    limited = a.max_cases != NO
    assert (count[limited] <= a.max_cases[limited]).all(), where
    locked = a.case_lock != NO
    assert ((assign[locked] == NO) | (assign[locked] == a.case_lock[locked])).all(), where


@pytest.mark.parametrize("budget", [1, 3, 10**6])
def test_a_dive_or_a_rounding_keeps_the_rules_of_the_core(budget):
    """Out of LP solves, the dive rounds the LP; completed by the greedy, the allocation
    passes the independent checker on the full model."""
    rng = random.Random(7)
    for _ in range(40):
        doc = random_instance_dict(RandomChooser(rng))
        inst = validate_instance(doc)
        if brute_force(inst)[0] is None:  # no allocation keeps every rule
            continue
        a = derive(inst)
        am = build_model(a)
        where = f"budget {budget}; instance: {to_json(doc)}"
        start = greedy(a)
        assign = dive(am, _coefficients(am), np.zeros(am.n_pairs, bool), start, budget, 1e18)
        assert assign is not None and assign.shape == (a.n_cases,), where
        _check_core(a, assign, where)
        full = greedy(a, assign)
        placement = {a.case_ids[j]: a.provider_ids[i] for j, i in enumerate(full) if i != NO}
        ev = evaluate_independently(inst, placement)
        assert ev.feasible, f"{ev.violations}; {where}"
        assert ev.objective == a.money(sum(evaluate(a, full)[1].values())), where


def test_the_dive_is_the_same_every_time_and_none_after_the_deadline():
    inst = next(_random_gaps(1, 11))
    a = derive(inst)
    am = build_model(a)
    cost, none = _coefficients(am), np.zeros(am.n_pairs, bool)
    first = dive(am, cost, none, None, 10**6, 1e18)
    assert first is not None
    assert (dive(am, cost, none, None, 10**6, 1e18) == first).all()
    assert dive(am, cost, none, None, 10**6, time.perf_counter() - 1) is None


def test_knapsack_equals_enumeration():
    rng = np.random.default_rng(0)
    for _ in range(200):
        k = int(rng.integers(1, 8))
        profit = rng.uniform(0.1, 10, k)
        load = rng.integers(0, 6, k)
        cap = int(rng.integers(0, 12))
        chosen, value = _knapsack(profit, load, cap)
        best = max(
            sum(profit[t] for t in range(k) if mask >> t & 1)
            for mask in range(1 << k)
            if sum(load[t] for t in range(k) if mask >> t & 1) <= cap
        )
        assert load[chosen].sum() <= cap
        assert value == pytest.approx(best) and profit[chosen].sum() == pytest.approx(best)


def test_solve_with_the_dive_proves_the_brute_force_optimum():
    rng = random.Random(13)
    for _ in range(30):
        doc = random_instance_dict(RandomChooser(rng))
        inst = validate_instance(doc)
        best, _ = brute_force(inst)
        res = solve(inst, SolveParams(time_limit=20, workers=2, seed=0, columns=True))
        where = f"instance: {to_json(doc)}"
        if best is None:
            assert res.status == "infeasible", where
            continue
        assert res.status == "optimal" and abs(res.objective - best) <= Fraction(1, 10**6), where
        report = check(inst, json.loads(json.dumps(res.to_dict())))
        assert report.ok and report.evaluation.objective == best, where


def _gap(agents: int, jobs: int, seed: int = 0):
    rng = random.Random(seed)
    use = tuple(tuple(rng.randint(5, 25) for _ in range(jobs)) for _ in range(agents))
    cost = tuple(tuple(rng.randint(10, 50) for _ in range(jobs)) for _ in range(agents))
    capacity = tuple(int(0.8 * sum(row) / agents) for row in use)
    return gap_instance(Gap(f"g{agents}x{jobs}", cost, use, capacity))


@pytest.mark.parametrize(
    ("agents", "jobs", "limit", "fits"),
    [
        (20, 100, 60, True),  # 5 cases per provider, 2 000 pairs x 100 cases
        (10, 100, 60, True),  # 10 per provider
        (5, 100, 60, False),  # 20 per provider: long columns, GLOP too slow
        (20, 200, 60, True),  # 4 000 x 200 = 800 000 <= 15 000 x 60
        (20, 200, 10, False),  # the same in 10 s: too large for the time
        (40, 400, 60, False),  # 16 000 x 400
    ],
)
def test_the_dive_runs_by_default_where_its_lp_is_small_for_the_time(agents, jobs, limit, fits):
    am = build_model(derive(_gap(agents, jobs)))
    solve_module = importlib.import_module("solver.solve")
    assert solve_module.columns_fit(am, SolveParams(time_limit=limit)) is fits


def test_the_default_dives_where_it_fits_and_the_flags_override(caplog):
    inst = _gap(10, 30, seed=4)  # 3 cases per provider, 300 pairs x 30 cases
    # without the LP the start is not proven optimal, so the search (and the dive) runs
    runs = {}
    for columns in (None, True, False):
        caplog.clear()
        with caplog.at_level("INFO", logger="solver.solve"):
            res = solve(inst, SolveParams(time_limit=10, workers=2, seed=0, lp=False,
                                          columns=columns))  # fmt: skip
        runs[columns] = any("column dive" in r.getMessage() for r in caplog.records), res
    assert runs[None][0] and runs[True][0] and not runs[False][0]
    for _dived, res in runs.values():
        assert res.status in ("optimal", "feasible")
        assert check(inst, json.loads(json.dumps(res.to_dict()))).ok
