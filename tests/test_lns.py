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

from solver import SolveParams, solve, validate_instance
from solver.arrays import derive
from solver.checker import check
from solver.heuristic import evaluate, greedy
from solver.lns import improve
from solver.model import build_model

solve_module = importlib.import_module("solver.solve")  # `solver.solve` is also the function

# Without the column dive: on these small models its start is often optimal already, and
# the search would then stop at once (the dive has its own brute-force test).
ONE = SolveParams(time_limit=20, workers=1, seed=0, columns=False)
TWO = SolveParams(time_limit=20, workers=2, seed=0, columns=False)
# mode: (params, module constants to set, whether the search must run on some instances)
MODES = {
    "one worker": (ONE, {}, False),  # CP-SAT first proves these small models at once
    "one worker, search first": (ONE, {"PROBE_SHARE": 0}, True),
    "search alone": (TWO, {"PROVER_PAIRS": 0}, True),
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
    for name, value in constants.items():
        monkeypatch.setattr(solve_module, name, value)
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
