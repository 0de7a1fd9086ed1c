"""Solve an instance: derive arrays, build the model, hint it, run CP-SAT, read the result."""

from __future__ import annotations

import logging
import math
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from solver.arrays import NO, Arrays, derive
from solver.conflicts import lock_conflicts
from solver.heuristic import evaluate, greedy
from solver.instance import Instance
from solver.lp import relax
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
    log: print CP-SAT's search log.
    progress: called with a `Progress` at each new solution or bound (e.g. a progress line).
    """

    time_limit: float = 60.0
    workers: int = max(1, os.cpu_count() or 1)
    seed: int = 0
    hint: bool = True
    lp: bool = True
    log: bool = False
    progress: Callable[[Progress], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (self.time_limit > 0 and math.isfinite(self.time_limit)):
            raise ValueError("time_limit must be a positive number of seconds")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")


# Share of the time limit the LP relaxation may use before CP-SAT starts.
LP_SHARE = 0.25


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
    relaxation, fixed = None, 0
    if params.lp and arrays.n_cases:
        relaxation = relax(am, params.time_limit * LP_SHARE, start_units)
    if relaxation is not None:
        watch.record(None, relaxation.bound)
        if start is not None:
            # LP-guided start: the greedy again, keeping each case's largest LP pair.
            guided = greedy(arrays, _rounded(am, relaxation.values))
            guided_units = sum(evaluate(arrays, guided)[1].values())
            if guided_units < start_units:
                start, start_units = guided, guided_units
                watch.record(start_units, None)
            used = start[arrays.pair_case] == arrays.pair_provider
            fixed = _fix(am, relaxation.fixable(start_units) & ~used)
    proto = am.model.proto
    size = {
        "pairs": am.n_pairs,
        "variables": len(proto.variables),
        "constraints": len(proto.constraints),
        "fixed_pairs": fixed,
    }
    result = Result(
        instance=instance.name,
        status="unknown",
        closing_cases=closing,
        build_seconds=build_seconds,
        heuristic_seconds=heuristic_seconds,
        lp_seconds=0.0 if relaxation is None else relaxation.seconds,
        model_size=size,
        params=_params(params),
        trace=watch.trace,
    )
    if start_units is not None and relaxation is not None and start_units <= relaxation.bound:
        # The LP bound proves the greedy start optimal: no search needed.
        result.status = "optimal"
        _read(result, am, start, None, None)
        result.solve_seconds = time.perf_counter() - built
        _times(result, watch)
        return result

    if start is not None:
        am.set_hint(start)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(
        0.05, params.time_limit - (time.perf_counter() - built)
    )
    solver.parameters.num_workers = params.workers
    solver.parameters.random_seed = params.seed
    solver.parameters.log_search_progress = params.log
    # Deterministic parallel search: same seed and workers, same allocation.
    solver.parameters.interleave_search = True
    solver.best_bound_callback = watch.on_bound
    code = solver.solve(am.model, watch)
    result.solve_seconds = time.perf_counter() - built

    status = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
    }.get(code, "unknown")
    result.status = status
    if status == "infeasible":  # cannot happen when lock_conflicts is complete
        result.conflicts = ["the locks, capacities and budgets cannot all hold together"]
        return result
    lp_bound = None if relaxation is None else relaxation.bound
    if status == "unknown":
        if start is None:
            return result
        # CP-SAT found nothing in time: report the greedy start, feasible by construction.
        result.status = "feasible"
        _read(result, am, start, None, lp_bound)
    else:
        solution = np.array(solver.response_proto.solution, np.int64)
        model_units = am.value(solution)
        bound = _units(solver.best_objective_bound, am.constant)
        if lp_bound is not None:
            bound = lp_bound if bound is None else max(bound, lp_bound)
        _read(result, am, am.assignment_of(solution), model_units, bound)
    _times(result, watch)
    return result


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


def _fix(am: AllocationModel, zero: np.ndarray) -> int:
    """Fix the pairs marked in `zero` to 0 in the CP-SAT model; how many."""
    variables = am.model.proto.variables
    for k in np.flatnonzero(zero).tolist():
        domain = variables[k].domain
        domain.clear()
        domain.extend([0, 0])
    return int(zero.sum())


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

    def record(self, objective: int | None, bound: int | None, seconds: float | None = None):
        """A point found outside CP-SAT (money units, constant included)."""
        if objective is not None:
            self.objective = Fraction(objective, self.scale)
        if bound is not None:
            self.bound = Fraction(bound, self.scale)
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
        self.objective = self._dkk(self.objective_value)
        self._emit()

    def on_bound(self, bound: float) -> None:
        bound = self._dkk(bound)
        if self.bound is None or bound > self.bound:
            self.bound = bound
            self._emit()


def _read(
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
