"""The greedy start (solver.heuristic.greedy) against the independent checker.

- On random instances with every feature of the format (tiny and larger ones, and
  generated ones with families, budgets, locks, offers, hourly billing and optional
  providers) the allocation is feasible, keeps every lock and is no worse than placing the
  locks alone; the same input gives the same allocation.
- A generated instance always has an allocation with every case placed; so has every
  generalised assignment problem below (a full assignment is planted): the greedy places
  every case there.
- `start` is respected: any start gives a feasible allocation, and starting from the
  greedy's own allocation gives one at least as good.
- `Tracker.options`, which judges many pairs at once, agrees with the one-pair
  `add_delta` and `fits` on random partial allocations.
"""

from __future__ import annotations

import random

import numpy as np
import pytest
from test_eligibility import large, placement_of, tiny

from solver import validate_instance
from solver.arrays import NO, Arrays, derive
from solver.checker import evaluate
from solver.conflicts import lock_conflicts
from solver.gap import Gap, gap_instance
from solver.generate import generate
from solver.heuristic import Tracker, greedy
from solver.heuristic import evaluate as units


def objective(a: Arrays, assign: np.ndarray) -> int:
    return sum(units(a, assign)[1].values())


def assert_feasible(a: Arrays, assign: np.ndarray, where: str) -> None:
    """Feasible per the checker, every lock kept, no worse than the locks alone."""
    inst = a.instance
    ev = evaluate(inst, placement_of(a, assign))
    assert ev.feasible, f"{ev.violations}; {where}"
    locked = a.case_lock != NO
    assert (assign[locked] == a.case_lock[locked]).all(), where
    locks_only = evaluate(inst, placement_of(a, np.where(locked, a.case_lock, NO)))
    assert ev.objective <= locks_only.objective, where
    assert a.money(objective(a, assign)) == ev.objective, where


def random_documents() -> list[tuple[str, dict]]:
    return [(f"tiny {s}", tiny(s)) for s in range(150)] + [
        (f"large {s}", large(s)) for s in range(60)
    ]


def test_feasible_on_random_instances():
    checked = 0
    for label, doc in random_documents():
        a = derive(validate_instance(doc))
        if lock_conflicts(a):
            continue
        assert_feasible(a, greedy(a), label)
        checked += 1
    assert checked >= 170


@pytest.mark.parametrize(("cases", "providers", "seed"), [(50, 10, 0), (300, 20, 1), (120, 40, 7)])
def test_generated_instances_every_case_placed(cases, providers, seed):
    a = derive(generate(cases, providers, seed))
    assign = greedy(a)
    assert_feasible(a, assign, f"generate({cases}, {providers}, {seed})")
    assert (assign != NO).all()
    assert (greedy(a) == assign).all()  # deterministic


def planted_gap(jobs: int, agents: int, seed: int, kind: str) -> Gap:
    """A random GAP of Chu and Beasley's type c or d with capacities 80% of the average
    use, raised where needed so that a random planted assignment fits."""
    rng = random.Random(seed)
    if kind == "c":
        use = [[rng.randint(5, 25) for _ in range(jobs)] for _ in range(agents)]
        cost = [[rng.randint(10, 50) for _ in range(jobs)] for _ in range(agents)]
    else:
        use = [[rng.randint(1, 100) for _ in range(jobs)] for _ in range(agents)]
        cost = [[111 - w + rng.randint(-10, 10) for w in row] for row in use]
    planted = [rng.randrange(agents) for _ in range(jobs)]
    capacity = [
        max(
            int(0.8 * sum(use[i]) / agents),
            sum(use[i][j] for j in range(jobs) if planted[j] == i),
        )
        for i in range(agents)
    ]
    return Gap(
        name=f"{kind}{agents}x{jobs}-{seed}",
        cost=tuple(map(tuple, cost)),
        use=tuple(map(tuple, use)),
        capacity=tuple(capacity),
    )


@pytest.mark.parametrize("kind", ["c", "d"])
@pytest.mark.parametrize(("jobs", "agents"), [(100, 5), (100, 10), (200, 20)])
def test_gap_every_job_placed(jobs, agents, kind):
    for seed in range(3):
        gap = planted_gap(jobs, agents, seed, kind)
        a = derive(gap_instance(gap))
        assign = greedy(a)
        assert_feasible(a, assign, gap.name)
        assert (assign != NO).all(), gap.name


def test_start_is_respected():
    for label, doc in random_documents()[::3]:
        a = derive(validate_instance(doc))
        if lock_conflicts(a):
            continue
        rng = random.Random(label)
        # any provider per case, eligible or not, fitting or not
        junk = np.array([rng.choice([NO, *range(a.n_providers)]) for _ in range(a.n_cases)])
        assert_feasible(a, greedy(a, junk), f"{label}, junk start")
        first = greedy(a)
        again = greedy(a, first)
        assert_feasible(a, again, f"{label}, own start")
        assert objective(a, again) <= objective(a, first), label


def test_options_agree_with_one_pair_checks():
    compared = 0
    for label, doc in random_documents()[::2]:
        a = derive(validate_instance(doc))
        rng = random.Random(label)
        st = Tracker(a)
        for j in rng.sample(range(a.n_cases), a.n_cases):
            fitting = [k for k in range(st.first[j], st.first[j + 1]) if st.fits(k)]
            if fitting and rng.random() < 0.6:
                st.apply(rng.choice(fitting), +1)
        unplaced = np.flatnonzero(st.assign == NO)
        ks = np.flatnonzero(np.isin(a.pair_case, unplaced))
        delta, _, fit = st.options(ks)
        assert delta.tolist() == [st.add_delta(k) for k in ks.tolist()], label
        assert fit.tolist() == [st.fits(k) for k in ks.tolist()], label
        for j in unplaced.tolist():
            lo, hi = int(st.first[j]), int(st.first[j + 1])
            assert (st.options(slice(lo, hi))[0] == delta[np.isin(ks, range(lo, hi))]).all()
        compared += len(ks)
    assert compared > 1000
