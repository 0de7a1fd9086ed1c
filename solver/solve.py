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
    """How to run CP-SAT.

    time_limit: wall-clock seconds for the search (model building not included).
    workers: CP-SAT search workers; default the machine's cores.
    seed: random seed. Results are the same for the same seed and worker count.
    hint: start CP-SAT from the greedy allocation.
    log: print CP-SAT's search log.
    progress: called with a `Progress` at each new solution or bound (e.g. a progress line).
    """

    time_limit: float = 60.0
    workers: int = max(1, os.cpu_count() or 1)
    seed: int = 0
    hint: bool = True
    log: bool = False
    progress: Callable[[Progress], None] | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if not (self.time_limit > 0 and math.isfinite(self.time_limit)):
            raise ValueError("time_limit must be a positive number of seconds")
        if self.workers < 1:
            raise ValueError("workers must be at least 1")


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
    if start is not None:
        am.set_hint(start)
    built = time.perf_counter()
    proto = am.model.proto
    size = {
        "pairs": len(arrays.pair_case),
        "variables": len(proto.variables),
        "constraints": len(proto.constraints),
    }
    log.info("model built in %.3f s: %s", built - started, size)

    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = params.time_limit
    solver.parameters.num_workers = params.workers
    solver.parameters.random_seed = params.seed
    solver.parameters.log_search_progress = params.log
    # Deterministic parallel search: same seed and workers, same allocation.
    solver.parameters.interleave_search = True
    watch = _Watch(am, params.progress)
    solver.best_bound_callback = watch.on_bound
    code = solver.solve(am.model, watch)
    solve_seconds = time.perf_counter() - built

    status = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
    }.get(code, "unknown")
    result = Result(
        instance=instance.name,
        status=status,
        closing_cases=closing,
        build_seconds=built - started - heuristic_seconds,
        heuristic_seconds=heuristic_seconds,
        solve_seconds=solve_seconds,
        model_size=size,
        params=_params(params),
        trace=watch.trace,
    )
    if status == "infeasible":  # cannot happen when lock_conflicts is complete
        result.conflicts = ["the locks, capacities and budgets cannot all hold together"]
        return result
    if status == "unknown":
        if start is None:
            return result
        # CP-SAT found nothing in time: report the greedy start, feasible by construction.
        result.status = "feasible"
        _read(result, am, start, None, None)
    else:
        solution = np.array(solver.response_proto.solution, np.int64)
        model_units = am.value(solution)
        _read(result, am, am.assignment_of(solution), model_units, solver.best_objective_bound)
    return result


def _params(params: SolveParams) -> dict:
    return {k: v for k, v in asdict(params).items() if k != "progress"}


class _Watch(cp_model.CpSolverSolutionCallback):
    """Records each new solution and bound (money in DKK) and passes them on."""

    def __init__(self, am: AllocationModel, report: Callable[[Progress], None] | None):
        super().__init__()
        self.constant = am.constant
        self.scale = am.arrays.money_scale
        self.report = report
        self.start = time.perf_counter()
        self.objective: Fraction | None = None
        self.bound: Fraction | None = None
        self.trace: list[dict[str, float | None]] = []

    def _dkk(self, value: float) -> Fraction:
        return Fraction(round(value) + self.constant, self.scale)

    def _emit(self) -> None:
        point = Progress(time.perf_counter() - self.start, self.objective, self.bound)
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
        self.bound = self._dkk(bound)
        self._emit()


def _read(
    result: Result,
    am: AllocationModel,
    assign: np.ndarray,
    model_units: int | None,
    bound: float | None,
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
    constants = am.constant
    if model_units is not None:
        assert objective_units <= model_units, "model objective below the allocation's value"
    if result.status == "optimal":
        assert objective_units == model_units, "optimum differs from the allocation's value"

    result.objective = a.money(objective_units)
    result.total_cost = a.money(values["cost"])
    result.penalties = {name: a.money(values[name]) for name in PENALTIES}
    if result.status == "optimal":
        result.bound = result.objective
    elif bound is not None and math.isfinite(bound):
        result.bound = min(result.objective, a.money(math.ceil(bound - 1e-6) + constants))

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
