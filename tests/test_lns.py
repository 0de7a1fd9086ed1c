"""The neighbourhood search and each way `solve` combines it with CP-SAT, against brute force.

The brute-force suite runs the default mode (two workers: CP-SAT beside the search). Here
also: one worker (CP-SAT for a moment, then the search, then CP-SAT again), the same with
the search first, the search alone (as on models above PROVER_PAIRS), and the search ranked
by objective coefficients (no LP). Each must prove
the brute-force optimum exactly, report a bound no higher, and pass the checker.
"""

from __future__ import annotations

import importlib
import json
import random
from fractions import Fraction

import numpy as np
import pytest
from bruteforce import RandomChooser, brute_force, random_instance_dict, to_json
from test_columns import _gap

import solver.exchange as exchange_module
import solver.lns as lns_module
from solver import SolveParams, solve, validate_instance
from solver.arrays import derive
from solver.checker import check
from solver.checker import evaluate as evaluate_independently
from solver.heuristic import evaluate, greedy
from solver.lns import improve, improve_two
from solver.model import build_model

solve_module = importlib.import_module("solver.solve")  # `solver.solve` is also the function

# Without the column dive: on these small models its start is often optimal already, and
# the search would then stop at once (the dive has its own brute-force test).
ONE = SolveParams(time_limit=20, workers=1, seed=0, columns=False)
TWO = SolveParams(time_limit=20, workers=2, seed=0, columns=False)
# mode: (params, module constants to set, whether the search must run on some instances)
MODES = {
    "one worker": (ONE, {}, False),  # CP-SAT first proves these small models at once
    "one worker, search first": (ONE, {(solve_module, "PROBE_SHARE"): 0}, True),
    "search alone": (TWO, {(solve_module, "PROVER_PAIRS"): 0}, True),
    "search alone, to the best pairs": (
        TWO,
        {(solve_module, "PROVER_PAIRS"): 0, (lns_module, "PAIRS_FROM"): 1},
        True,
    ),
    "no LP": (SolveParams(time_limit=20, workers=2, seed=0, lp=False, columns=False), {}, True),
}


def _instances(count: int, seed: int):
    rng = random.Random(seed)
    for _ in range(count):
        doc = random_instance_dict(RandomChooser(rng))
        yield doc, validate_instance(doc)


@pytest.mark.parametrize("mode", list(MODES))
def test_every_search_mode_proves_the_brute_force_optimum(mode, monkeypatch):
    params, constants, must_search = MODES[mode]
    for (module, name), value in constants.items():
        monkeypatch.setattr(module, name, value)
    # Without the knapsack bound, which proves many of these small models optimal before
    # any search (tests/test_lagrange.py checks it).
    monkeypatch.setattr(solve_module, "KNAPSACK_SHARE", 0)
    searched = 0
    for doc, inst in _instances(40, 11):
        best, _ = brute_force(inst)
        res = solve(inst, params)
        where = f"{mode}; instance: {to_json(doc)}"
        if best is None:
            assert res.status == "infeasible", where
            continue
        assert res.status == "optimal", f"brute force {best}, solver {res.status}; {where}"
        assert abs(res.objective - best) <= Fraction(1, 10**6), where
        assert res.bound is not None and res.bound <= res.objective, where
        report = check(inst, json.loads(json.dumps(res.to_dict())))
        assert report.ok and report.evaluation.objective == best, where
        searched += res.lns_steps > 0
    if must_search:
        assert searched >= 5, f"the search ran on only {searched} instances"


def test_the_search_never_worsens_and_leaves_the_model_as_it_found_it():
    for doc, inst in _instances(30, 5):
        a = derive(inst)
        am = build_model(a)
        start = greedy(a)
        units = sum(evaluate(a, start)[1].values())
        am.set_hint(start)
        proto = am.model.proto
        before = [list(v.domain) for v in proto.variables], list(proto.objective.domain)
        out = improve(
            am, start, units, 1.0, float("inf"), 0,
            np.zeros(am.n_pairs), np.zeros(am.n_pairs, bool),
        )  # fmt: skip
        where = f"instance: {to_json(doc)}"
        assert out.units <= units, where
        assert out.units == sum(evaluate(a, out.assign)[1].values()), where
        assert (out.improved > 0) == (out.units < units), where
        after = [list(v.domain) for v in proto.variables], list(proto.objective.domain)
        assert after == before, where
        assert list(proto.solution_hint.values) == am.solution_of(out.assign).tolist(), where


def _gap_model(agents: int, jobs: int, seed: int):
    """A GAP instance's model (place_all), its greedy start and the start's value."""
    inst = _gap(agents, jobs, seed)
    a = derive(inst)
    am = build_model(a)
    start = greedy(a)
    units = sum(evaluate(a, start)[1].values())
    assert solve_module._start_places_all(am, start, units)
    am.place_all()
    am.set_hint(start)
    return inst, a, am, start, units


@pytest.mark.parametrize("pairs_from", [1, lns_module.PAIRS_FROM])
def test_steps_move_cases_only_among_the_allowed_providers(pairs_from, monkeypatch):
    monkeypatch.setattr(lns_module, "PAIRS_FROM", pairs_from)
    _inst, a, am, start, units = _gap_model(8, 60, 3)
    allowed = np.arange(a.n_providers) % 2 == 0
    out = improve(am, start, units, 0.2, float("inf"), 0, np.zeros(am.n_pairs),
                  np.zeros(am.n_pairs, bool), allowed=allowed)  # fmt: skip
    assert out.improved > 0 and out.units < units
    moved = out.assign != start
    assert allowed[start[moved]].all() and allowed[out.assign[moved]].all()


@pytest.mark.parametrize("pairs_from", [1, 100])
def test_steps_keep_to_the_best_pairs_only_with_pairs_from_providers(pairs_from, monkeypatch):
    # Steps of four providers of 12 (no growth): never every provider. From PAIRS_FROM
    # providers a freed case may only stay or go to one of its BEST_PAIRS pairs of lowest
    # score, wherever that provider is; below it, to any pair among the chosen providers.
    monkeypatch.setattr(lns_module, "PAIRS_FROM", pairs_from)
    # CP-SAT steps only: exchanges (`solver.exchange`) move cases to any pair
    settings = (("GROW", 1.0), ("FAST_GROW", 1.0), ("FIRST_SIZE", 4.0), ("EXCHANGE_WORK", 0))
    for name, value in settings:
        monkeypatch.setattr(lns_module, name, value)
    _inst, a, am, start, units = _gap_model(12, 80, 4)
    # Best pairs: the cheapest among half of the pairs, chosen at random.
    penalty = np.random.default_rng(1).random(am.n_pairs) < 0.5
    scores = am.pair_costs() + np.where(penalty, 10**9, 0)
    out = improve(am, start, units, 0.1, float("inf"), 0, scores, np.zeros(am.n_pairs, bool))
    assert out.improved > 0 and out.units < units
    better = []  # per moved case: how many of its pairs score lower than its new one
    for j in np.flatnonzero(out.assign != start).tolist():
        mine = a.pair_case == j
        new = scores[mine & (a.pair_provider == out.assign[j])][0]
        better.append(int((scores[mine] < new).sum()))
    if pairs_from == 1:
        assert max(better) < lns_module.BEST_PAIRS, better
    else:
        assert max(better) >= lns_module.BEST_PAIRS, better


def test_two_searches_improve_keep_every_rule_and_repeat_for_a_seed(monkeypatch):
    """Two searches on two copies: their moves are merged, the result passes the
    independent checker at its value, is the same for the same seed, and both copies keep
    their domains, with the result as hint."""
    inst, a, am, start, units = _gap_model(12, 120, 5)
    merges = []  # in `solver.lns` the greedy only checks a merge of the two searches' moves

    def merge(a, assign):
        merges.append(assign)
        return greedy(a, assign)

    monkeypatch.setattr(lns_module, "greedy", merge)
    outs = []
    for _ in range(2):
        models = (am, am.copy())
        proto = models[1].model.proto
        before = [list(v.domain) for v in proto.variables]
        out = improve_two(models, start, units, 4.0, float("inf"), 3, np.zeros(am.n_pairs),
                          np.zeros(am.n_pairs, bool))  # fmt: skip
        assert [list(v.domain) for v in proto.variables] == before
        for m in models:
            hint = m.model.proto.solution_hint
            assert list(hint.values) == m.solution_of(out.assign).tolist()
            assert list(m.model.proto.objective.domain) == []
        am.set_hint(start)
        outs.append(out)
    first, again = outs
    assert merges, "the two searches' moves were never merged"
    assert first.units < units and first.improved > 0 and first.work >= 4.0 - 1e-9
    assert first.units == again.units and (first.assign == again.assign).all()
    placement = {a.case_ids[j]: a.provider_ids[i] for j, i in enumerate(first.assign) if i >= 0}
    ev = evaluate_independently(inst, placement)
    assert ev.feasible and ev.objective == a.money(first.units)


@pytest.mark.parametrize(
    ("agents", "jobs", "workers", "mip", "expected"),
    [
        (20, 200, 2, None, "cpsat"),
        (20, 200, 1, None, None),
        (10, 400, 2, None, "highs"),
        (10, 400, 2, False, "cpsat"),
        (20, 200, 2, True, "highs"),
        (70, 1600, 2, None, "search"),  # 112 000 pairs
        (70, 1600, 2, False, "search"),
        (70, 1600, 2, True, "highs"),
    ],
)
def test_what_runs_beside_the_search(agents, jobs, workers, mip, expected):
    am = build_model(derive(_gap(agents, jobs)))
    params = SolveParams(workers=workers, mip=mip)
    assert solve_module.beside(am, params) == expected


def test_solve_with_two_searches_keeps_every_rule(monkeypatch):
    """Models over SEARCH_PAIRS pairs get two searches (here the threshold is lowered; the
    exchanges' turns are short, so that CP-SAT steps come within the time on a busy machine)."""
    monkeypatch.setattr(solve_module, "SEARCH_PAIRS", 0)
    monkeypatch.setattr(lns_module, "EXCHANGE_WORK", 0.2)
    inst = _gap(10, 80, seed=6)
    res = solve(inst, SolveParams(time_limit=5, workers=2, seed=0, lp=False))
    assert res.status in ("optimal", "feasible") and res.lns_steps > 0
    assert res.params["mip"] is None
    report = check(inst, json.loads(json.dumps(res.to_dict())))
    assert report.ok and report.evaluation.objective == res.objective


def test_exchanges_and_steps_take_turns(monkeypatch):
    """Exchanges first (no CP-SAT step within EXCHANGE_WORK, here with no end to the
    descents before that), or steps first; the steps improve on the exchanges' allocation
    or prove it optimal."""
    monkeypatch.setattr(exchange_module, "IDLE_ROUNDS", 10**9)
    _inst, a, am, start, units = _gap_model(10, 100, 6)
    none = np.zeros(am.n_pairs, bool)
    scores = am.pair_costs()
    first = improve(am, start, units, lns_module.EXCHANGE_WORK, float("inf"), 0, scores, none)
    assert first.steps == 0 and first.units < units
    am.set_hint(start)
    steps = improve(am, start, units, lns_module.STEPS_WORK, float("inf"), 0, scores, none,
                    steps_first=True)  # fmt: skip
    assert steps.steps > 0 and steps.units < units
    am.set_hint(first.assign)
    after = improve(am, first.assign, first.units, lns_module.STEPS_WORK, float("inf"), 0,
                    scores, none, steps_first=True)  # fmt: skip
    assert after.steps > 0 and (after.units < first.units or after.proven)
    assert after.units <= first.units


def test_two_searches_go_on_after_a_round_of_exchanges_alone(monkeypatch):
    """With no end to the descents, the first round of `improve_two` is exchanges only (no
    CP-SAT step): its gain is kept and the next round, steps first, still runs."""
    monkeypatch.setattr(exchange_module, "IDLE_ROUNDS", 10**9)
    _inst, a, am, start, units = _gap_model(12, 120, 5)
    models = (am, am.copy())
    none = np.zeros(am.n_pairs, bool)
    work = 4 * lns_module.ROUND_WORK  # two rounds of two searches
    out = improve_two(models, start, units, work, float("inf"), 3, am.pair_costs(), none)
    assert out.units < units and out.steps > 0 and out.work >= work - 1e-9
