"""Solve an instance: derive arrays, build the model, hint it, run CP-SAT, read the result."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from solver.arrays import NO, Arrays, derive
from solver.columns import dive
from solver.conflicts import lock_conflicts
from solver.heuristic import evaluate, greedy
from solver.instance import Instance
from solver.lagrange import knapsack_bound
from solver.lns import improve, improve_each, improve_two
from solver.lp import Relaxation, relax
from solver.mip import Mip
from solver.model import AllocationModel, build_model
from solver.reasons import unassigned_reasons
from solver.result import PENALTIES, ProviderLoad, Result

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Progress:
    """A point of the search: seconds since the search started, best objective, bound."""

    seconds: float
    objective: Fraction | None
    bound: Fraction | None

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return float(max(Fraction(0), self.objective - self.bound) / max(1, abs(self.objective)))


@dataclass(frozen=True)
class SolveParams:
    """How to run the search.

    time_limit: wall-clock seconds for the search (the LP and CP-SAT; building and the
        greedy start not included).
    workers: CP-SAT search workers; default the machine's cores.
    seed: random seed. Results are the same for the same seed and worker count.
    hint: start CP-SAT from the greedy allocation.
    lp: solve the LP relaxation first: its proven bound is reported when better than
        CP-SAT's, and pairs it proves useless are fixed (see `solver.lp`).
    lns: improve the start by large neighbourhood search before CP-SAT (`solver.lns`).
    columns: before the search, dive from the column-generation LP of the assignment core
        to a start (`solver.columns`). None (default): where its LP is small for the time
        limit (`columns_fit`); True: always; False: never (docs/model.md, "Column dive").
    mip: with a second worker, HiGHS beside the search instead of CP-SAT (`solver.mip`).
        None (default): from MIP_CASES cases up to SEARCH_PAIRS pairs (`beside`); True: always;
        False: never.
    log: print CP-SAT's search log.
    progress: called with a `Progress` at each new solution or bound (e.g. a progress line).
    """

    time_limit: float = 60.0
    workers: int = max(1, os.cpu_count() or 1)
    seed: int = 0
    hint: bool = True
    lp: bool = True
    lns: bool = True
    columns: bool | None = None
    mip: bool | None = None
    log: bool = False
    progress: Callable[[Progress], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (self.time_limit > 0 and math.isfinite(self.time_limit)):
            raise ValueError("time_limit must be a positive number of seconds")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")


# Share of the time limit the LP relaxation may use before CP-SAT starts.
LP_SHARE = 0.25
# Share of the time limit for the knapsack bound after the LP (`solver.lagrange`), in its
# deterministic work.
KNAPSACK_SHARE = 0.05
# Share of the time left after the LP that goes to the neighbourhood search; CP-SAT on the
# whole model gets the rest (and proves optimality where it can).
LNS_SHARE = 0.5
# With one worker, CP-SAT first gets this share of the time (deterministic seconds).
PROBE_SHARE = 0.05
# The column dive (SolveParams.columns): LP solves per second of the time limit, and the
# share of the time left after which the LP so far is rounded (wall clock).
COLUMN_SOLVES, COLUMN_SHARE = 15, 0.5
# By default the dive runs where its columns are short (at most COLUMN_CASES cases per
# provider on average) and pairs x cases is at most COLUMN_WORK per second of the time limit:
# there it takes up to a third of the time (chu1997/d20200, 4 000 pairs x 200 cases: 19 s
# on one core); GLOP's re-solves grow with both.
COLUMN_CASES, COLUMN_WORK = 10, 15_000
# From this many cases, HiGHS takes CP-SAT's place beside the search (`solver.mip`): CP-SAT
# proves none of them optimal in a minute, and HiGHS finds better allocations (docs/model.md).
MIP_CASES = 400
# HiGHS gets this share of the time left; then the search goes on from the better of its
# allocation and HiGHS's (HiGHS's value rarely moves in its last third: d40400 24 504 at
# 30, 40 and 60 s, and the search then finds 24 451).
MIP_SHARE = 0.6
# Models of more pairs get a second search on the second worker (`improve_two`): neither
# CP-SAT nor HiGHS improves on the search there in the time, and the search gains from
# twice the steps (yagiura e801600, 128 000 pairs: 177 834 after 120 s of one search, 178 079
# after 60 s).
SEARCH_PAIRS = 100_000
# Larger models get no CP-SAT run, with one worker either (only a second copy in memory).
PROVER_PAIRS = 150_000


def solve(
    instance: Instance,
    params: SolveParams | None = None,
    start: Mapping[str, str] | None = None,
) -> Result:
    """Solve `instance`. `start` (case id -> provider id) seeds the greedy start: placements
    that are eligible and fit are kept (e.g. a previous optimum before a small change)."""
    params = params or SolveParams()
    closing = sum(1 for c in instance.cases if not c.active)
    started = time.perf_counter()
    arrays = derive(instance)
    conflicts = lock_conflicts(arrays)
    if conflicts:
        return Result(
            instance=instance.name,
            status="infeasible",
            conflicts=conflicts,
            closing_cases=closing,
            build_seconds=time.perf_counter() - started,
            params=_params(params),
        )
    derived = time.perf_counter()
    seed = None
    if start is not None:
        index = {p: i for i, p in enumerate(arrays.provider_ids)}
        seed = np.array([index.get(start.get(c, ""), NO) for c in arrays.case_ids], int)
    start = greedy(arrays, seed) if params.hint else None
    heuristic_seconds = time.perf_counter() - derived
    am = build_model(arrays)
    built = time.perf_counter()
    build_seconds = built - started - heuristic_seconds
    log.info("model built in %.3f s", build_seconds)
    watch = _Watch(am, params.progress, started)
    start_units = None
    if start is not None:
        start_units = sum(evaluate(arrays, start)[1].values())
        watch.record(start_units, None, heuristic_seconds)

    if start is not None and _start_places_all(am, start, start_units):
        am.place_all()
    deadline = built + params.time_limit
    relaxation, fixed = None, np.zeros(am.n_pairs, bool)
    if params.lp and arrays.n_cases:
        relaxation = relax(am, params.time_limit * LP_SHARE, start_units)
    lp_bound = None if relaxation is None else relaxation.bound
    if relaxation is not None:
        watch.record(None, relaxation.bound)
        if start is not None:
            # LP-guided start: the greedy again, keeping each case's largest LP pair.
            guided = greedy(arrays, _rounded(am, relaxation.values))
            guided_units = sum(evaluate(arrays, guided)[1].values())
            if guided_units < start_units:
                start, start_units = guided, guided_units
                watch.record(start_units, None)
            fixed = _fix(am, relaxation, start, start_units, fixed)
            if not _proven(start_units, lp_bound) and KNAPSACK_SHARE:
                work = KNAPSACK_SHARE * params.time_limit
                until = time.perf_counter() + 2 * work  # in case the work runs slow
                better = knapsack_bound(am, relaxation, start_units, work, until)
                lp_bound = _best(lp_bound, better)
                if lp_bound > relaxation.bound:
                    watch.record(None, lp_bound)
    if start is not None:
        am.set_hint(start)
    prover = _Prover(am, params, watch, deadline)
    lns = None
    large = am.n_pairs > PROVER_PAIRS
    searched = False  # the search ran to the end: no CP-SAT after it
    if params.lns and start is not None and params.workers == 1 and not large and PROBE_SHARE:
        # One worker: CP-SAT first, for a moment of deterministic time, which proves small
        # models at once. Otherwise the search starts from its allocation when better.
        prover.run(1, work=PROBE_SHARE * max(0.0, deadline - time.perf_counter()))
        if prover.code not in (cp_model.OPTIMAL, cp_model.INFEASIBLE):
            lp_bound = _best(lp_bound, prover.bound())
            if prover.solution is not None and am.value(prover.solution) < start_units:
                start = am.assignment_of(prover.solution)
                start_units = sum(evaluate(arrays, start)[1].values())
                am.set_hint(start)
                if relaxation is not None:
                    fixed = _fix(am, relaxation, start, start_units, fixed)
            prover = _Prover(am, params, watch, deadline)
    searching = not prover.started and not _proven(start_units, lp_bound)
    if params.lns and start is not None and searching:
        # CP-SAT works on the bound beside the search (on its own copy of the model), or
        # HiGHS, or a second search (`beside`); with one worker CP-SAT comes after it, but
        # large models get the search only.
        second = beside(am, params)
        if second == "highs":  # HiGHS in CP-SAT's place, for its share of the time
            until = time.perf_counter() + MIP_SHARE * max(0.0, deadline - time.perf_counter())
            prover = Mip(am, start, params.seed, until, watch.found)
        if second in ("highs", "cpsat"):
            prover.start(params.workers - 1)
        if columns_fit(am, params):
            start, start_units, fixed = _column_start(
                am, relaxation, start, start_units, fixed, watch, params.time_limit, deadline
            )
        now = time.perf_counter()
        left = max(0.0, deadline - now)
        alone = second == "search" or (large and second is None)
        share = 1.0 if prover.started or alone else LNS_SHARE
        # Before CP-SAT in the foreground, the search gets its share in deterministic time
        # and in wall-clock time (its steps can take several times longer than their
        # deterministic time, and CP-SAT may prove in a moment what the search cannot).
        search, models, work = improve, am, share * left
        if second == "search":  # two searches, one per core: twice the deterministic time
            search, models, work = improve_two, (am, am.copy()), 2 * work
        scores = am.pair_costs() if relaxation is None else relaxation.reduced_costs

        def stop(units: int) -> bool:
            return _proven(units, _best(lp_bound, prover.bound()))

        # Beside HiGHS the search's first phase ends with HiGHS's time (its share of the
        # deterministic time too, so that the second phase always has some).
        lns = search(
            models, start, start_units, MIP_SHARE * work if second == "highs" else work,
            prover.deadline if second == "highs" else now + share * left,
            params.seed, scores, fixed, stop=stop, report=watch.found,
        )  # fmt: skip
        if lns.units < start_units:  # the search left its allocation as the model's hint
            start, start_units = lns.assign, lns.units
            if relaxation is not None:
                fixed = _fix(am, relaxation, start, start_units, fixed)
        if second == "highs" and not (lns.proven or stop(start_units)):
            # HiGHS's time is up: the search goes on from the better allocation, and from
            # the other too (`join` waits for HiGHS's answer to be read: HiGHS stops
            # READ_SECONDS before its deadline to leave time for it).
            prover.join()
            starts = [(start, start_units)]  # the search's, and HiGHS's where it differs
            if prover.units is not None:
                theirs = am.assignment_of(prover.solution)
                if (theirs != start).any():
                    starts.append((theirs, prover.units))
            starts.sort(key=lambda s: s[1])  # the better first (the search's on a tie)
            if starts[0][1] < start_units:
                start, start_units = starts[0]
                am.set_hint(start)
                if relaxation is not None:
                    fixed = _fix(am, relaxation, start, start_units, fixed)
            args = (max(0.0, work - lns.work), deadline, params.seed + 1, scores, fixed)
            if len(starts) == 1:
                more = improve(am, start, start_units, *args, stop=stop, report=watch.found)
            else:
                # Both go on, one per core (HiGHS's is free now): from HiGHS's allocation
                # the search often reaches a better basin than from its own, even when its
                # own is better now (docs/model.md, "HiGHS beside the search").
                other = am.copy()
                other.set_hint(starts[1][0])
                more = improve_each(
                    (am, other), *zip(*starts, strict=True), *args, stop=stop, report=watch.found
                )
            more.steps, more.improved = more.steps + lns.steps, more.improved + lns.improved
            more.seconds += lns.seconds
            lns = more
            start, start_units = lns.assign, lns.units
        if lns.proven or _proven(start_units, _best(lp_bound, prover.bound())):
            prover.stop()
        searched = lns.proven or alone
    proto = am.model.proto
    size = {
        "pairs": am.n_pairs,
        "variables": len(proto.variables),
        "constraints": len(proto.constraints),
        "fixed_pairs": int(fixed.sum()),
    }
    result = Result(
        instance=instance.name,
        status="unknown",
        closing_cases=closing,
        build_seconds=build_seconds,
        heuristic_seconds=heuristic_seconds,
        lp_seconds=0.0 if relaxation is None else relaxation.seconds,
        lns_seconds=0.0 if lns is None else lns.seconds,
        lns_steps=0 if lns is None else lns.steps,
        lns_improved=0 if lns is None else lns.improved,
        model_size=size,
        params=_params(params),
        trace=watch.trace,
    )
    if start is not None and (_proven(start_units, lp_bound) or searched):
        # Proven optimal by the LP bound or the search, or a large model searched to the end.
        prover.join()
        bound = _best(lp_bound, prover.bound())
        result.status = "optimal" if lns is not None and lns.proven else "feasible"
        fill_result(result, am, start, None, bound)
        result.solve_seconds = time.perf_counter() - built
        _times(result, watch)
        return result

    if not prover.started:
        prover.run(params.workers)
    prover.join()
    result.solve_seconds = time.perf_counter() - built
    code, solution = prover.code, prover.solution
    if code == cp_model.INFEASIBLE:  # cannot happen when lock_conflicts is complete
        result.status = "infeasible"
        result.conflicts = ["the locks, capacities and budgets cannot all hold together"]
        return result
    bound = _best(lp_bound, prover.bound())
    if solution is not None and (start is None or am.value(solution) < start_units):
        # CP-SAT's allocation is better than the search's (or there is no other).
        units = am.value(solution)
        result.status = "optimal" if code == cp_model.OPTIMAL else "feasible"
        fill_result(result, am, am.assignment_of(solution), units, bound)
    elif start is not None:
        result.status = "feasible"
        fill_result(result, am, start, None, bound)
    _times(result, watch)
    return result


class _Prover:
    """CP-SAT on the whole model, from the hint: in a thread of its own beside the
    neighbourhood search (on a copy of the model), or in the foreground after it.

    With one worker it runs CP-SAT's LP-based tree search (`optimize_with_lb_tree_search`,
    full linearisation with cuts), which raises the bound best; with more, CP-SAT's
    deterministic interleaved portfolio.
    """

    def __init__(self, am: AllocationModel, params: SolveParams, watch: _Watch, deadline):
        self.am, self.params, self.watch, self.deadline = am, params, watch, deadline
        self.solver = cp_model.CpSolver()
        self.thread: threading.Thread | None = None
        self.started = False
        self.code = cp_model.UNKNOWN
        self.solution: np.ndarray | None = None
        self.lower: int | None = None  # best bound seen, money units

    def start(self, workers: int) -> None:
        model = cp_model.CpModel()
        model.proto.copy_from(self.am.model.proto)
        self.thread = threading.Thread(target=self._solve, args=(model, workers), daemon=True)
        self.started = True
        self.thread.start()

    def run(self, workers: int, work: float | None = None) -> None:
        """In the foreground, until the deadline or `work` deterministic seconds."""
        self.started = True
        self._solve(self.am.model, workers, work)

    def bound(self) -> int | None:
        return self.lower

    def stop(self) -> None:
        self.solver.stop_search()

    def join(self) -> None:
        if self.thread is not None:
            self.thread.join()

    def _on_bound(self, value: float) -> None:
        self.lower = _best(self.lower, _units(value, self.am.constant))
        self.watch.on_bound(value)

    def _solve(self, model: cp_model.CpModel, workers: int, work: float | None = None) -> None:
        p = self.solver.parameters
        p.max_time_in_seconds = max(0.05, self.deadline - time.perf_counter())
        if work is not None:
            p.max_deterministic_time = work
        p.num_workers = workers
        p.random_seed = self.params.seed
        p.log_search_progress = self.params.log
        if workers == 1:
            p.optimize_with_lb_tree_search = True
            p.linearization_level = 2
        else:
            p.interleave_search = True  # deterministic parallel search
        self.solver.best_bound_callback = self._on_bound
        self.code = self.solver.solve(model, self.watch)
        if self.code in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            self.solution = np.array(self.solver.response_proto.solution, np.int64)
            self.lower = _best(
                self.lower, _units(self.solver.best_objective_bound, self.am.constant)
            )


def columns_fit(am: AllocationModel, params: SolveParams) -> bool:
    """Whether the column dive runs: `params.columns` when set, else where its LP is small
    for the time limit (see COLUMN_CASES and COLUMN_WORK)."""
    if params.columns is not None:
        return params.columns
    cases, providers = am.arrays.n_cases, am.arrays.n_providers
    short = cases <= COLUMN_CASES * providers
    return short and am.n_pairs * cases <= COLUMN_WORK * params.time_limit


def beside(am: AllocationModel, params: SolveParams) -> str | None:
    """What a second worker does beside the search: "search" (a second search,
    `solver.lns.improve_two`: models of over SEARCH_PAIRS pairs), "highs" (`solver.mip`:
    from MIP_CASES cases, or always with `params.mip`; never with `mip=False`), "cpsat"
    (CP-SAT on the whole model, `_Prover`, up to PROVER_PAIRS pairs), else None."""
    if params.workers < 2:
        return None
    if params.mip:
        return "highs"
    if am.n_pairs > SEARCH_PAIRS:
        return "search"
    if params.mip is None and am.arrays.n_cases >= MIP_CASES:
        return "highs"
    return "cpsat" if am.n_pairs <= PROVER_PAIRS else None


def _column_start(
    am: AllocationModel,
    relaxation: Relaxation | None,
    start: np.ndarray,
    start_units: int,
    fixed: np.ndarray,
    watch: _Watch,
    time_limit: float,
    deadline: float,
) -> tuple[np.ndarray, int, np.ndarray]:
    """The start, its value and the fixed pairs: the column dive's allocation (completed by
    the greedy) when it beats `start`, else `start` as it was. Its budget of LP solves
    follows the time limit (not the time left), so that it is the same on every run."""
    budget = math.ceil(COLUMN_SOLVES * time_limit)
    left = max(0.0, deadline - time.perf_counter())
    assign = dive(am, am.pair_costs(), fixed, start, budget, deadline - (1 - COLUMN_SHARE) * left)
    if assign is None:
        return start, start_units, fixed
    assign = greedy(am.arrays, assign)
    units = sum(evaluate(am.arrays, assign)[1].values())
    log.info("column dive: %d money units (start %d)", units, start_units)
    if units >= start_units:
        return start, start_units, fixed
    am.set_hint(assign)
    watch.found(units)
    if relaxation is not None:
        fixed = _fix(am, relaxation, assign, units, fixed)
    return assign, units, fixed


def _best(*bounds: int | None) -> int | None:
    """The largest of the known bounds."""
    known = [b for b in bounds if b is not None]
    return max(known) if known else None


def _start_places_all(am: AllocationModel, start: np.ndarray, start_units: int) -> bool:
    """Whether no allocation as good as `start` leaves a case with pairs unassigned.

    True when `start` places every such case and the unassigned weight exceeds everything
    else `start` costs: every other term is >= 0, so leaving one more case out costs more.
    """
    a = am.arrays
    has_pairs = np.zeros(a.n_cases, bool)
    has_pairs[a.pair_case] = True
    out = int((has_pairs & (start == NO)).sum())
    miss = a.weight["unassigned"]
    rest = start_units - miss * int((start == NO).sum())
    return out == 0 and miss > rest


def _rounded(am: AllocationModel, x: np.ndarray) -> np.ndarray:
    """Per case, the provider of its largest LP value when that is above 1/2, else NO."""
    a = am.arrays
    out = np.full(a.n_cases, NO, int)
    big = np.flatnonzero(x > 0.5)  # at most one such pair per case
    out[a.pair_case[big]] = a.pair_provider[big]
    return out


def _fix(
    am: AllocationModel, relaxation: Relaxation, start: np.ndarray, units: int, fixed: np.ndarray
) -> np.ndarray:
    """Fix to 0 in the CP-SAT model the pairs that no allocation worth `units` or less uses
    (`start` is one, so its pairs stay); the pairs fixed so far and now."""
    a = am.arrays
    used = start[a.pair_case] == a.pair_provider
    new = np.flatnonzero(relaxation.fixable(units) & ~used & ~fixed)
    zero = np.zeros(len(new), np.int64)
    am.set_domains(new, zero, zero)
    fixed = fixed.copy()
    fixed[new] = True
    return fixed


def _proven(units: int | None, bound: int | None) -> bool:
    return units is not None and bound is not None and units <= bound


def _units(bound: float, constant: int) -> int | None:
    """CP-SAT's objective bound in whole money units (objective values are whole)."""
    return math.ceil(bound - 1e-6) + constant if math.isfinite(bound) else None


def _times(result: Result, watch: _Watch) -> None:
    """Seconds to the first allocation and to the reported one (its value first seen)."""
    found = [p for p in watch.trace if p["objective"] is not None]
    if not found or result.objective is None:
        return
    result.first_solution_seconds = found[0]["seconds"]
    best = float(result.objective)
    result.best_solution_seconds = next(
        (p["seconds"] for p in found if p["objective"] <= best + 1e-6), found[-1]["seconds"]
    )


def _params(params: SolveParams) -> dict:
    return {k: v for k, v in asdict(params).items() if k != "progress"}


class _Watch(cp_model.CpSolverSolutionCallback):
    """Records each new solution and bound (money in DKK, seconds since `solve` started)
    and passes them on."""

    def __init__(
        self, am: AllocationModel, report: Callable[[Progress], None] | None, start: float
    ):
        super().__init__()
        self.constant = am.constant
        self.scale = am.arrays.money_scale
        self.report = report
        self.start = start
        self.objective: Fraction | None = None
        self.bound: Fraction | None = None
        self.trace: list[dict[str, float | None]] = []
        self.lock = threading.Lock()

    def record(self, objective: int | None, bound: int | None, seconds: float | None = None):
        """A point found outside CP-SAT (money units, constant included)."""
        self._update(
            None if objective is None else Fraction(objective, self.scale),
            None if bound is None else Fraction(bound, self.scale),
            seconds,
        )

    def found(self, units: int) -> None:
        """A new allocation worth `units` (the search's or HiGHS's)."""
        self.record(units, None)

    def _update(self, objective: Fraction | None, bound: Fraction | None, seconds=None):
        """Keep the best objective and bound (the search and CP-SAT or HiGHS run side by
        side, in threads)."""
        with self.lock:
            better = objective is not None and (
                self.objective is None or objective < self.objective
            )
            higher = bound is not None and (self.bound is None or bound > self.bound)
            if better:
                self.objective = objective
            if higher:
                self.bound = bound
            if better or higher:
                self._emit(seconds)

    def _dkk(self, value: float) -> Fraction:
        return Fraction(round(value) + self.constant, self.scale)

    def _emit(self, seconds: float | None = None) -> None:
        if seconds is None:
            seconds = time.perf_counter() - self.start
        point = Progress(seconds, self.objective, self.bound)
        self.trace.append(
            {
                "seconds": round(point.seconds, 4),
                "objective": None if point.objective is None else float(point.objective),
                "bound": None if point.bound is None else float(point.bound),
            }
        )
        if self.report is not None:
            self.report(point)

    def on_solution_callback(self) -> None:
        self._update(self._dkk(self.objective_value), None)

    def on_bound(self, bound: float) -> None:
        self._update(None, self._dkk(bound))


def fill_result(
    result: Result,
    am: AllocationModel,
    assign: np.ndarray,
    model_units: int | None,
    bound: int | None,
) -> None:
    """Fill the result from an assignment, every figure re-evaluated exactly.

    `model_units` is CP-SAT's objective for it (None for the greedy start): the model's
    auxiliaries are bounded from below only, so it is never below the true value, and
    equal to it at a proven optimum.
    """
    a: Arrays = am.arrays
    inst = a.instance
    provider_cost, values = evaluate(a, assign)
    objective_units = sum(values.values())
    if model_units is not None:
        assert objective_units <= model_units, "model objective below the allocation's value"
    if result.status == "optimal" and model_units is not None:
        assert objective_units == model_units, "optimum differs from the allocation's value"

    result.objective = a.money(objective_units)
    result.total_cost = a.money(values["cost"])
    result.penalties = {name: a.money(values[name]) for name in PENALTIES}
    if bound is not None and bound >= objective_units:
        result.status = "optimal"  # proven by the bound (CP-SAT's or the LP's)
    if result.status == "optimal":
        result.bound = result.objective
    elif bound is not None:
        result.bound = a.money(bound)

    chosen = assign[a.pair_case] == a.pair_provider
    for k in np.flatnonzero(chosen).tolist():
        j, i = int(a.pair_case[k]), int(a.pair_provider[k])
        level = int(a.pair_level[k])
        result.assignments.append(
            {
                "case": a.case_ids[j],
                "provider": a.provider_ids[i],
                "hours": float(a.hours(int(a.pair_load[k]))),
                "offer": bool(a.pair_offer[k]),
                "relation_level": level,
                "locked": bool(a.case_lock[j] != NO),
            }
        )
    reasons = unassigned_reasons(a, assign, proven=result.status == "optimal")
    result.unassigned = [
        {"case": a.case_ids[j], "reason": reasons[a.case_ids[j]]}
        for j in np.flatnonzero(assign == NO).tolist()
    ]
    load = np.bincount(a.pair_provider[chosen], a.pair_load[chosen], a.n_providers)
    count = np.bincount(a.pair_provider[chosen], minlength=a.n_providers)
    for i, p in enumerate(inst.providers):
        result.providers.append(
            ProviderLoad(
                id=p.id,
                name=p.display_name,
                kind=p.kind,
                cases=int(count[i]),
                hours=a.hours(int(load[i])),
                capacity_hours=Fraction(p.capacity_hours),
                max_cases=p.max_cases,
                annual_cost=a.money(int(provider_cost[i])),
            )
        )
