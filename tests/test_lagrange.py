"""The knapsack bound (`solver.lagrange`): never above the optimum (brute force over the
independent checker, on random instances with every feature), above the LP bound where
the LP takes fractions of cases on a GAP instance, and its knapsacks exact."""

from __future__ import annotations

import itertools
import math
import random
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
from bruteforce import RandomChooser, brute_force, random_instance_dict, to_json
from test_gap import unseen_gap

import solver.lagrange as lagrange
from solver import SolveParams, solve, validate_instance
from solver.arrays import derive
from solver.gap import gap_instance, parse_gap
from solver.lagrange import _dantzig, _exact, knapsack_bound
from solver.lp import relax
from solver.model import build_model

FAR = float("inf")


@pytest.mark.parametrize("place_all", [False, True])
@pytest.mark.parametrize("cells", [lagrange.KNAPSACK_CELLS, 0])  # 0: Dantzig's bound only
def test_the_bound_never_exceeds_the_optimum(place_all, cells, monkeypatch):
    monkeypatch.setattr(lagrange, "KNAPSACK_CELLS", cells)
    rng = random.Random(20261207)
    checked = above = 0
    for _ in range(120):
        doc = random_instance_dict(RandomChooser(rng))
        inst = validate_instance(doc)
        best, placement = brute_force(inst)
        if best is None:
            continue
        a = derive(inst)
        am = build_model(a)
        if place_all:
            if not {a.case_ids[j] for j in a.pair_case} <= placement.keys():
                continue
            am.place_all()
        upper = int(best * a.money_scale)
        relaxation = relax(am, 10, upper)
        assert relaxation is not None
        # Every step's L(u) is checked: no stop where it starts below the LP.
        bound = knapsack_bound(am, replace(relaxation, lagrangian=-math.inf), upper, FAR, FAR)
        if bound is None:  # an auxiliary term below 0
            continue
        assert Fraction(bound, a.money_scale) <= best, f"{bound}, optimum {best}; {to_json(doc)}"
        above += bound > relaxation.bound
        checked += 1
    assert checked >= 40
    if cells:
        assert above >= 1  # the bound is above the LP's on some of them


def _type_d(agents: int, jobs: int, seed: int):
    """A small GAP instance of Chu and Beasley's type d (costs against hours, 80 % full),
    made by the unseen set's generator."""
    text = unseen_gap().instance("d", agents, jobs, random.Random(seed))
    return gap_instance(parse_gap(text, f"d{agents}x{jobs}"))


def test_on_a_tight_gap_instance_the_bound_is_above_the_lp_and_below_the_optimum():
    inst = _type_d(3, 15, 0)
    a = derive(inst)
    am = build_model(a)
    optimum = solve(inst, SolveParams(time_limit=60, workers=1, seed=0, lp=False))
    assert optimum.status == "optimal"
    upper = int(optimum.objective * a.money_scale)
    relaxation = relax(am, 10, upper)
    bound = knapsack_bound(am, relaxation, upper, FAR, FAR)
    assert relaxation.bound < bound <= upper


def test_the_knapsacks_are_exact_and_dantzig_bounds_them():
    rng = np.random.default_rng(5)
    for _ in range(200):
        n = int(rng.integers(1, 8))
        profit = rng.uniform(0.1, 20, n)
        hours = rng.integers(0, 12, n)
        capacity = int(rng.integers(0, 25))
        best = max(
            sum(profit[list(s)])
            for k in range(n + 1)
            for s in itertools.combinations(range(n), k)
            if hours[list(s)].sum() <= capacity
        )
        value, chosen = _exact(profit, hours, capacity)
        assert value == pytest.approx(best)
        assert hours[chosen].sum() <= capacity and profit[chosen].sum() == pytest.approx(value)
        upper, whole = _dantzig(profit, hours, capacity)
        assert upper >= best - 1e-9 and hours[whole].sum() <= capacity
