"""Large neighbourhood search (LNS): re-solve small parts of the model with CP-SAT.

Each step frees some pair variables and fixes every other pair variable at its current
value; CP-SAT (one worker, the current allocation as hint) solves what is left. The model
is the full one, so a step's objective is the spec's; its answer is kept only when it is
strictly better, and the step's objective is bounded to values below the current one, so
a step that is infeasible proves its neighbourhood holds nothing better. Fixing narrows the
pair variables' domains in the model itself (only where a domain changes); both are undone
at the end.

A step frees the cases of a few providers to move among them: one provider drawn at random
among those with cases, then others drawn in proportion to how many of its cases have one
of their best few pairs there (by the LP reduced costs when there are some, else by the
pair's objective coefficient), so that cases can be exchanged between providers that
compete for them. With PAIRS_FROM providers or more to choose from, a freed case instead
stays or moves to one of its best few pairs, wherever that provider is (its capacity left
as the fixed cases leave it): smaller steps, which therefore grow to more providers, and
better on GAP with many agents (docs/model.md, "Search"); once every provider is chosen,
the freed cases move anywhere among them. The number of providers grows after a step
solved to the end (optimal or infeasible) and shrinks after one cut short. A step that
frees every pair is the whole model: solved to the end, it proves the answer optimal (on
small instances the search ends there).

The search takes turns: exchanges (`solver.exchange`: chains and cycles of case moves,
found on the improvement graph, in a strategic oscillation) for EXCHANGE_WORK, then CP-SAT
steps for STEPS_WORK, and so on. The two find different moves: the exchanges move one case
at each of many providers at once, the steps many cases among a few providers.

`improve_two` runs two searches at once, one per core, on random halves of the providers,
and merges their moves (models of over 100 000 pairs, where the second core has nothing
better to do). `improve_each` runs one search from each of two allocations, one per core
(after HiGHS's phase: its allocation and the search's own).

Every step is limited in CP-SAT's deterministic time and the search in the sum of it, so
the steps and their answers are the same for the same seed unless the wall-clock deadline
or `stop` (a bound found meanwhile) ends the search first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from ortools.sat.python import cp_model

from solver.arrays import NO
from solver.exchange import Exchanges
from solver.heuristic import evaluate, greedy
from solver.model import AllocationModel

STEP_WORK = 0.2  # CP-SAT deterministic time per step
# Providers per step: the first size; its growth after a step solved to optimality (fast
# growth when that took under QUICK of the step's work) and its shrinking after one cut short.
FIRST_SIZE, GROW, FAST_GROW, QUICK, SHRINK = 2.0, 1.15, 2.0, 0.1, 0.8
BEST_PAIRS = 4  # a case's pairs that count when relating providers, and where it may move
PAIRS_FROM = 40  # providers to choose from, from which freed cases move to their best pairs
ROUND_WORK = 2.0  # two searches at once: deterministic seconds per search per round
# CP-SAT's linear relaxation in a step: 2 (every constraint, with cuts) proves or improves
# twice as many steps as the default 1, in half the time (unseen GAP d40400, one core from
# the LP's start: 24 500 after 60 s against 24 624 with 1; docs/model.md, "Search").
STEP_LINEARIZATION = 2
# Exchanges (`solver.exchange`) and CP-SAT steps take turns, this much deterministic time
# each: exchanges first (0: steps only). Twice as much for the exchanges as for the steps:
# unseen GAP d20400 24 521 to 24 509, d60900 54 770 to 54 758 (e40400, d40400 the same).
EXCHANGE_WORK, STEPS_WORK = 6.0, 3.0


@dataclass
class Outcome:
    assign: np.ndarray
    units: int  # the allocation's objective, money units
    steps: int = 0
    improved: int = 0
    work: float = 0.0  # deterministic seconds spent
    seconds: float = 0.0
    proven: bool = False  # a step solved the whole model: `assign` is optimal


def improve(
    am: AllocationModel,
    assign: np.ndarray,
    units: int,
    work: float,
    deadline: float,
    seed: int,
    scores: np.ndarray,
    fixed: np.ndarray,
    stop: Callable[[int], bool] = lambda units: False,
    report: Callable[[int], None] | None = None,
    allowed: np.ndarray | None = None,
    steps_first: bool = False,
) -> Outcome:
    """Improve `assign` (worth `units`) by exchanges and LNS steps, taking turns (the
    steps first with `steps_first`), until `work` deterministic seconds are spent, the wall
    clock reaches `deadline`, or `stop(value)` is true (e.g. a proven bound).

    The model's hint must be `assign`'s (`AllocationModel.set_hint`); on return it is the
    returned allocation's. `scores` ranks each case's pairs (lower is better); pairs marked
    in `fixed` stay 0; `report` is called with each better value; cases move only among the
    providers marked in `allowed` (default all).
    """
    a = am.arrays
    started = time.perf_counter()
    out = Outcome(assign.copy(), units)
    if a.n_providers < 2 or a.n_cases == 0:
        return out
    rng = np.random.default_rng(seed)
    pc, pp = a.pair_case, a.pair_provider
    lo, hi = (bound[: am.n_pairs] for bound in am.bounds())
    hi = np.where(fixed, 0, hi)
    best = _ranks(pc, scores) < BEST_PAIRS  # each case's best pairs
    allowed = np.ones(a.n_providers, bool) if allowed is None else allowed
    domains = _Domains(am, lo, hi)
    size, spent = FIRST_SIZE, 0.0
    n_allowed = int(allowed.sum())
    to_pairs = n_allowed >= PAIRS_FROM
    reachable = best & allowed[pp]  # where a freed case may go in a step to the best pairs
    exchanges = Exchanges(am, hi > 0) if EXCHANGE_WORK else None
    steps_until = STEPS_WORK if steps_first else 0.0  # steps until `spent` reaches this

    def keep(assign: np.ndarray) -> None:
        out.assign = assign
        out.units = sum(evaluate(a, assign)[1].values())
        out.improved += 1
        am.set_hint(assign)
        if report is not None:
            report(out.units)

    while spent < work and time.perf_counter() < deadline:
        if stop(out.units):
            break
        if exchanges is not None and spent >= steps_until:
            found = exchanges.search(
                out.assign, out.units, min(EXCHANGE_WORK, work - spent), deadline, rng,
                allowed, stop,
            )  # fmt: skip
            spent += found.work
            steps_until = spent + STEPS_WORK
            if found.units < out.units:
                keep(found.assign)
            continue
        current = (out.assign[pc] == pp).astype(np.int64)
        chosen = _providers(rng, out.assign, best, pc, pp, allowed, round(size))
        free = (out.assign == NO) | chosen[np.maximum(out.assign, 0)]
        if to_pairs and chosen.sum() < n_allowed:
            # The freed cases stay or go to one of their best pairs, wherever it is.
            movable = free[pc] & (reachable | (current == 1))
        else:
            movable = free[pc] & chosen[pp]
        domains.set(np.where(movable, lo, current), np.where(movable, hi, current))
        _require_below(am, out.units)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        solver.parameters.linearization_level = STEP_LINEARIZATION
        solver.parameters.random_seed = seed + out.steps
        solver.parameters.max_deterministic_time = min(STEP_WORK, work - spent)
        solver.parameters.max_time_in_seconds = max(0.01, deadline - time.perf_counter())
        code = solver.solve(am.model)
        spent += solver.deterministic_time
        out.steps += 1
        solved = code in (cp_model.OPTIMAL, cp_model.INFEASIBLE)  # infeasible: none better
        if solved:
            quick = solver.deterministic_time < STEP_WORK * QUICK
            size = min(size * (FAST_GROW if quick else GROW), n_allowed)
        else:
            size = max(size * SHRINK, FIRST_SIZE)
        if code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            solution = np.array(solver.response_proto.solution, np.int64)
            if am.value(solution) < out.units:
                keep(am.assignment_of(solution))
        if solved and (movable | (hi == 0)).all():
            # Every pair was free: the step solved the whole model.
            out.proven = True
            break
    domains.set(lo, hi)
    am.model.proto.objective.domain.clear()
    out.work, out.seconds = spent, time.perf_counter() - started
    return out


def improve_two(
    models: tuple[AllocationModel, AllocationModel],
    assign: np.ndarray,
    units: int,
    work: float,
    deadline: float,
    seed: int,
    scores: np.ndarray,
    fixed: np.ndarray,
    stop: Callable[[int], bool] = lambda units: False,
    report: Callable[[int], None] | None = None,
) -> Outcome:
    """`improve` with two searches at once, one per core, on two copies of the model (the
    same but for the CP-SAT objects; their hints `assign`'s), in rounds: each round splits
    the providers into two halves at random, each search improves the allocation on its
    half for ROUND_WORK deterministic seconds (`work` counts both; exchanges first in even
    rounds, steps first in odd ones, so the rounds take turns), and their moves are
    merged when they touch different cases and the merge keeps every rule (the greedy
    keeps all of it) and beats both; else the better search's allocation goes on. The
    rounds are deterministic, so the result is the same for a seed unless the wall clock
    or `stop` ends them. On return both models' hints are the returned allocation's."""
    a = models[0].arrays
    started = time.perf_counter()
    out = Outcome(assign.copy(), units)
    rng = np.random.default_rng(seed)
    rounds = 0
    with ThreadPoolExecutor(max_workers=2) as pool:
        while out.work < work and time.perf_counter() < deadline and not stop(out.units):
            half = rng.permutation(a.n_providers) < a.n_providers // 2
            share = min(ROUND_WORK, (work - out.work) / 2)
            searches = [
                pool.submit(improve, models[t], out.assign, out.units, share, deadline,
                            seed + 7919 * rounds + t, scores, fixed, stop, allowed=allowed,
                            steps_first=rounds % 2 == 1)
                for t, allowed in enumerate((half, ~half))
            ]  # fmt: skip
            found = [s.result() for s in searches]  # in order: deterministic
            best = min(found, key=lambda o: o.units)  # the first search's on a tie
            moved = [o.assign != out.assign for o in found]
            if moved[0].any() and moved[1].any() and not (moved[0] & moved[1]).any():
                merged = out.assign.copy()
                for o, m in zip(found, moved, strict=True):
                    merged[m] = o.assign[m]
                merged = greedy(a, merged)
                merged_units = sum(evaluate(a, merged)[1].values())
                if merged_units < best.units:
                    best = Outcome(merged, merged_units)
            out.steps += sum(o.steps for o in found)
            out.work += sum(o.work for o in found)
            rounds += 1
            if not any(o.work for o in found):  # nothing to search (too few providers)
                break
            if best.units < out.units:
                out.assign, out.units = best.assign, best.units
                out.improved += 1
                if report is not None:
                    report(out.units)
            for am in models:  # both start the next round from the allocation kept
                am.set_hint(out.assign)
    out.seconds = time.perf_counter() - started
    return out


def improve_each(
    models: tuple[AllocationModel, AllocationModel],
    starts: tuple[np.ndarray, np.ndarray],
    units: tuple[int, int],
    work: float,
    deadline: float,
    seed: int,
    scores: np.ndarray,
    fixed: np.ndarray,
    stop: Callable[[int], bool] = lambda units: False,
    report: Callable[[int], None] | None = None,
) -> Outcome:
    """`improve` from each of two allocations at once, one per core, each on its own copy of
    the model (hinted with its allocation), with `work` deterministic seconds each; the
    better outcome (the first on a tie), with the first model's hint set to it."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        searches = [
            pool.submit(improve, models[t], starts[t], units[t], work, deadline, seed + t,
                        scores, fixed, stop, report)
            for t in range(2)
        ]  # fmt: skip
        found = [s.result() for s in searches]
    out = min(found, key=lambda o: o.units)
    models[0].set_hint(out.assign)
    out.steps, out.improved = sum(o.steps for o in found), sum(o.improved for o in found)
    out.work = sum(o.work for o in found)
    out.proven = any(o.proven and o.units == out.units for o in found)  # a tie: both optimal
    return out


def _ranks(pair_case: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Each pair's place among its case's pairs by score (0 = best; pairs sorted by case)."""
    order = np.lexsort((scores, pair_case))
    starts = np.searchsorted(pair_case[order], pair_case[order], side="left")
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order)) - starts
    return rank


def _providers(rng, assign, best, pc, pp, allowed: np.ndarray, k: int) -> np.ndarray:
    """A mask of `k` providers among those `allowed`: one with cases at random (any when
    none has), the rest related to it."""
    n_providers = len(allowed)
    placed = assign[assign != NO]
    pool = np.intersect1d(placed, np.flatnonzero(allowed))
    pool = pool if len(pool) else np.flatnonzero(allowed)
    first = int(rng.choice(pool))
    chosen = np.zeros(n_providers, bool)
    chosen[first] = True
    if k > 1:
        ours = (assign == first)[pc] & best
        weight = np.bincount(pp[ours], minlength=n_providers).astype(float) + 0.1
        weight[first] = 0.0
        weight[~allowed] = 0.0
        k = min(k - 1, int((weight > 0).sum()))
        if k > 0:
            chosen[rng.choice(n_providers, k, replace=False, p=weight / weight.sum())] = True
    return chosen


class _Domains:
    """The pair variables' domains in the model, rewritten only where they change."""

    def __init__(self, am: AllocationModel, lo: np.ndarray, hi: np.ndarray):
        self.am = am
        self.lo, self.hi = lo.copy(), hi.copy()

    def set(self, lo: np.ndarray, hi: np.ndarray) -> None:
        changed = np.flatnonzero((lo != self.lo) | (hi != self.hi))
        self.am.set_domains(changed, lo[changed], hi[changed])
        self.lo, self.hi = lo.copy(), hi.copy()


def _require_below(am: AllocationModel, units: int) -> None:
    """Only allocations worth less than `units` are feasible (the objective's domain)."""
    objective = am.model.proto.objective
    objective.domain.clear()
    objective.domain.extend([-(2**62), units - 1 - am.constant - int(objective.offset)])
