"""HiGHS beside the search (`solver.mip`): its MIP is the model itself (its optimum is the
brute-force optimum), its allocations keep every rule, and `solve()` runs it where
`beside` says, with --mip/--no-mip overriding."""

from __future__ import annotations

import importlib
import json
import random
import time
from fractions import Fraction

import numpy as np
import pytest
from bruteforce import RandomChooser, brute_force, random_instance_dict, to_json
from test_columns import _gap

import solver.lns as lns_module
import solver.mip as mip_module
from solver import SolveParams, solve, validate_instance
from solver.arrays import NO, derive
from solver.checker import check
from solver.checker import evaluate as evaluate_independently
from solver.gap import Gap, gap_instance
from solver.gapbench import run_ours, run_plain_cpsat
from solver.heuristic import evaluate, greedy
from solver.lns import Outcome
from solver.mip import Mip
from solver.model import build_model

solve_module = importlib.import_module("solver.solve")  # `solver.solve` is also the function


def _highs(am, start, monkeypatch) -> tuple[Mip, list, list]:
    """HiGHS to the end (its deadline out of reach), waited for; with HiGHS's answers and
    the allocations the greedy got from them and gave back."""
    found, answers, repairs = [], [], []
    read, repair = Mip._read, mip_module.greedy

    def keep_answer(self, response):
        answers.append(response)
        read(self, response)

    def keep_repair(a, assign):
        repairs.append((assign.copy(), repair(a, assign)))
        return repairs[-1][1]

    monkeypatch.setattr(Mip, "_read", keep_answer)
    monkeypatch.setattr(mip_module, "greedy", keep_repair)
    mip = Mip(am, start, seed=0, deadline=time.perf_counter() + 600, report=found.append)
    mip.start()
    mip.join()
    assert found == ([] if mip.units is None else [mip.units])
    return mip, answers, repairs


@pytest.mark.parametrize("place_all", [False, True])
def test_the_mip_optimum_is_the_brute_force_optimum(place_all, monkeypatch):
    """Budgets, families, fixed costs, hours above included hours, locks, closing cases:
    HiGHS solved to the end on the model's rows reaches the spec's optimum (its own
    objective, offset included), the greedy keeps every placement of its answer (no rule
    broken), and the allocation passes the independent checker at that value."""
    rng = random.Random(23)
    solved = 0
    for _ in range(120):
        doc = random_instance_dict(RandomChooser(rng))
        inst = validate_instance(doc)
        best, _ = brute_force(inst)
        a = derive(inst)
        am = build_model(a)
        start = greedy(a)
        units = sum(evaluate(a, start)[1].values())
        if place_all:
            if not solve_module._start_places_all(am, start, units):
                continue
            am.place_all()
        where = f"place_all {place_all}; instance: {to_json(doc)}"
        mip, answers, repairs = _highs(am, start, monkeypatch)
        if best is None:
            continue  # no allocation keeps every rule (HiGHS may still find its rows' one)
        assert mip.units is not None, where
        (answer,) = answers
        highs_value = answer.solutions[0].primal_solution.objective_value
        assert a.money(round(highs_value)) == best, f"HiGHS's objective {highs_value}; {where}"
        raw, kept = repairs[0]
        assert (kept[raw != NO] == raw[raw != NO]).all(), where
        found = a.money(mip.units)
        assert found == best, f"HiGHS {found}, brute force {best}; {where}"
        assign = am.assignment_of(mip.solution)
        placement = {a.case_ids[j]: a.provider_ids[i] for j, i in enumerate(assign) if i >= 0}
        ev = evaluate_independently(inst, placement)
        assert ev.feasible and ev.objective == best, f"{ev.violations}; {where}"
        assert am.value(mip.solution) == mip.units, where
        solved += 1
    assert solved >= 20, f"only {solved} instances compared"


def test_solve_with_highs_beside_the_search_proves_the_brute_force_optimum():
    rng = random.Random(29)
    for _ in range(30):
        doc = random_instance_dict(RandomChooser(rng))
        inst = validate_instance(doc)
        best, _ = brute_force(inst)
        res = solve(inst, SolveParams(time_limit=20, workers=2, seed=0, columns=False, mip=True))
        where = f"instance: {to_json(doc)}"
        if best is None:
            assert res.status == "infeasible", where
            continue
        assert res.status == "optimal" and abs(res.objective - best) <= Fraction(1, 10**6), where
        report = check(inst, json.loads(json.dumps(res.to_dict())))
        assert report.ok and report.evaluation.objective == best, where


def _highs_answered(records) -> bool:
    assert not [r for r in records if r.levelname == "WARNING"]  # e.g. "HiGHS failed"
    return any("HiGHS:" in r.getMessage() and "money units" in r.getMessage() for r in records)


def test_the_default_runs_highs_where_it_fits_and_the_flags_override(caplog):
    inst = _gap(10, 400, seed=2)
    runs = {}
    for mip in (None, True, False):
        caplog.clear()
        with caplog.at_level("INFO", logger="solver.mip"):
            res = solve(inst, SolveParams(time_limit=4, workers=2, seed=0, mip=mip))
        runs[mip] = _highs_answered(caplog.records), res
    assert runs[None][0] and runs[True][0] and not runs[False][0]
    for _ran, res in runs.values():
        assert res.status in ("optimal", "feasible") and res.bound <= res.objective
        assert check(inst, json.loads(json.dumps(res.to_dict()))).ok
    # with one worker there is no second core for it
    caplog.clear()
    with caplog.at_level("INFO", logger="solver.mip"):
        solve(inst, SolveParams(time_limit=2, workers=1, seed=0, mip=True))
    assert not _highs_answered(caplog.records)


def _type_d_gap(seed: int) -> Gap:
    """20 jobs, 4 agents: costs fall as loads rise, capacities tight (as chu1997 type d),
    so the greedy is often not optimal."""
    rng = random.Random(seed)
    use = tuple(tuple(rng.randint(5, 25) for _ in range(20)) for _ in range(4))
    cost = tuple(tuple(40 - u + rng.randint(-5, 5) for u in row) for row in use)
    capacity = tuple(int(0.28 * sum(row)) for row in use)
    return Gap(f"g{seed}", cost, use, capacity)


@pytest.mark.parametrize("highs", ["better", "worse", "same"])
def test_after_highs_the_search_goes_on_from_both_allocations(highs, monkeypatch):
    """HiGHS has MIP_SHARE of the time; then the search goes on from the better of HiGHS's
    allocation and its own (here the search does nothing), and from the other too, one per
    core, when they differ: HiGHS's answer as it is (the optimum, better than the greedy
    start), replaced by one that places no case (worse), or by the search's own (same)."""
    calls = []  # each search's start, its value, work, deadline and seed

    def idle(am, start, units, work, deadline, seed, *args, **kw):
        # the model's hint is the start's, as `improve` requires
        assert list(am.model.proto.solution_hint.values) == am.solution_of(start).tolist()
        calls.append((start.copy(), units, work, deadline, seed))
        return Outcome(start.copy(), units, work=0.0)

    def replaced(self):  # HiGHS's answer, replaced
        join(self)
        other = np.full(self.am.arrays.n_cases, NO) if highs == "worse" else self.start_assign
        self.solution = self.am.solution_of(other)
        self.units = sum(evaluate(self.am.arrays, other)[1].values())

    join = Mip.join
    monkeypatch.setattr(solve_module, "improve", idle)
    monkeypatch.setattr(lns_module, "improve", idle)  # the two searches of `improve_each`
    if highs != "better":
        monkeypatch.setattr(Mip, "join", replaced)
    params = SolveParams(time_limit=10, workers=2, seed=0, lp=False, columns=False, mip=True)
    for seed in range(8):
        gap = _type_d_gap(seed)
        a, optimum = derive(gap_instance(gap)), run_plain_cpsat(gap, 20, 2, 0)
        if a.money(sum(evaluate(a, greedy(a))[1].values())) > optimum.value:
            break
    else:
        raise AssertionError("the greedy was optimal on every instance")
    run, _ = run_ours(gap, params)
    (first, value, work, first_end, seed), *then = calls
    then.sort(key=lambda call: call[4])  # by seed: the better allocation's search first
    assert len(then) == (1 if highs == "same" else 2), [c[1] for c in calls]
    for start, units, more, end, _seed in then:
        assert units == sum(evaluate(a, start)[1].values())
        # each gets the work the first search left (all of it here) and runs to the end
        assert first_end < end and work == pytest.approx(solve_module.MIP_SHARE * more)
    assert [c[4] for c in then] == [seed + 1 + t for t in range(len(then))]
    values = [c[1] for c in then]
    assert values == sorted(values)
    if highs == "better":
        assert a.money(values[0]) == optimum.value == run.value
        assert (then[1][0] == first).all() and values[1] == value > values[0]
    elif highs == "worse":
        assert (then[0][0] == first).all() and values[0] == value < values[1]
        assert a.money(value) == run.value > optimum.value
    else:
        assert (then[0][0] == first).all() and values[0] == value
        assert a.money(value) == run.value > optimum.value


@pytest.mark.parametrize("large", [False, True])
def test_highs_allocation_is_reported_when_it_beats_the_search(large, monkeypatch):
    """With the search doing nothing, the reported allocation is HiGHS's: the optimum
    (proven by a plain CP-SAT model of the GAP), where the greedy start was worse; also on
    models too large for CP-SAT (here PROVER_PAIRS is lowered), where only --mip runs it."""
    if large:
        monkeypatch.setattr(solve_module, "PROVER_PAIRS", 0)
    for module in (solve_module, lns_module):  # `lns.improve_each` calls `lns.improve`
        monkeypatch.setattr(
            module, "improve", lambda am, start, units, *args, **kw: Outcome(start.copy(), units)
        )
    params = SolveParams(time_limit=20, workers=2, seed=0, lp=False, mip=True)
    better = 0
    for seed in range(8):
        gap = _type_d_gap(seed)
        optimum = run_plain_cpsat(gap, 20, 2, 0)
        assert optimum.status == "optimal"
        run, _ = run_ours(gap, params)
        assert run.status == "feasible" and run.value == optimum.value, (seed, run, optimum)
        a = derive(gap_instance(gap))
        better += a.money(sum(evaluate(a, greedy(a))[1].values())) > optimum.value
    assert better >= 3, f"the greedy start was worse than the optimum on {better} instances"


def test_stop_returns_at_once_and_nothing_is_reported_after_it():
    am = build_model(derive(_gap(10, 400, seed=3)))
    start = greedy(am.arrays)
    found = []
    mip = Mip(am, start, seed=0, deadline=time.perf_counter() + 5, report=found.append)
    mip.start()
    mip.stop()
    mip.join()
    assert mip.thread.is_alive()  # join returned while HiGHS runs out its 5 s
    mip.thread.join()
    assert found == [] and mip.solution is None
