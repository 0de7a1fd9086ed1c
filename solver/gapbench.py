"""Benchmark on OR-Library GAP instances: the tool's own solve() against best known values
and, optionally, against peers given the same time limit and worker count.

Peers, each run after our solve, one at a time, so that timings are fair:

- `cpsat`: a plain CP-SAT model built straight from the matrices (a boolean per pair,
  exactly one agent per job, capacity per agent, minimise cost), default parameters apart
  from time limit, workers and seed, no hint;
- `scip`: SCIP through `ortools.linear_solver.pywraplp`, time limit and threads set;
- `highs`: HiGHS through `ortools.math_opt` (both bundled with OR-Tools). Not pywraplp:
  in OR-Tools 9.15 pywraplp reports HiGHS stopped by the time limit as status 99 and drops
  its incumbent (google/or-tools#5016). math_opt cannot set HiGHS's thread count.

Every reported value is recomputed from the solver's assignment with the GAP's own
matrices, and an assignment that breaks a capacity is reported as `invalid`.

Figures per solver: value, bound (costs are integers, so bounds are rounded up), and
    gap_best_pct  = 100 * (value - best known) / best known
    gap_bound_pct = 100 * (value - bound) / max(1, value)
and per peer `ratio` = our gap_best_pct / the peer's gap_best_pct: below 1 we are closer
to the best known value; "both 0" when both reach it; "inf" when only the peer does.
"""

from __future__ import annotations

import csv
import datetime
import io
import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ortools.sat.python import cp_model

from solver.gap import BestKnown, Gap, gap_instance, gap_key
from solver.solve import SolveParams, solve

PEERS = ("cpsat", "scip", "highs")
SKIPPED_SUFFIXES = {".csv", ".md", ".json"}


@dataclass
class Run:
    """One solver's outcome on one GAP; seconds count from the start of building its model."""

    status: str  # optimal, feasible, infeasible, unknown, invalid, or "error: ..."
    value: int | None = None
    bound: int | None = None
    seconds: float | None = None
    first_seconds: float | None = None
    best_seconds: float | None = None
    unassigned: int = 0  # jobs left without an agent (our solve only)


# -- inputs --


def gap_files(sources: Sequence[str | Path]) -> list[Path]:
    """The GAP files named: files as given, folders searched in depth (hidden files and
    .csv, .md and .json files left out), in name order per folder."""
    files: list[Path] = []
    for source in map(Path, sources):
        if source.is_dir():
            files += sorted(
                p
                for p in source.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(source).parts)
                and p.suffix.lower() not in SKIPPED_SUFFIXES
            )
        else:
            files.append(source)
    return files


def find_best_known(sources: Sequence[str | Path]) -> Path | None:
    """best-known.csv in the first source's folder (a file's own folder) or its parent."""
    for source in map(Path, sources):
        folder = source if source.is_dir() else source.parent
        for candidate in (folder / "best-known.csv", folder.parent / "best-known.csv"):
            if candidate.is_file():
                return candidate
    return None


# -- checking an assignment --


def assignment_cost(gap: Gap, agent_of_job: Sequence[int | None]) -> int | None:
    """The GAP cost of the assignment (job -> agent index), None if a job has no agent or
    an agent's capacity is exceeded."""
    if any(i is None for i in agent_of_job):
        return None
    used = [0] * gap.agents
    for j, i in enumerate(agent_of_job):
        used[i] += gap.use[i][j]
    if any(u > b for u, b in zip(used, gap.capacity, strict=True)):
        return None
    return sum(gap.cost[i][j] for j, i in enumerate(agent_of_job))


def _finish(
    gap: Gap, status: str, agent_of_job: Sequence[int | None] | None, bound: float | None
) -> tuple[str, int | None, int | None]:
    """Status, recomputed value and rounded-up bound of a solver's answer."""
    value = None
    if agent_of_job is not None:
        value = assignment_cost(gap, agent_of_job)
        if value is None:
            status = "invalid"
    if bound is not None and math.isfinite(bound):
        bound = math.ceil(bound - 1e-6)
    else:
        bound = None
    return status, value, bound


# -- solvers --


def run_ours(gap: Gap, params: SolveParams) -> tuple[Run, dict[str, float]]:
    """The tool's front door: convert to an Instance, then solve(); plus its timings."""
    started = time.perf_counter()
    instance = gap_instance(gap)
    converted = time.perf_counter()
    result = solve(instance, params)
    total = time.perf_counter() - converted
    agent_of_job: list[int | None] = [None] * gap.jobs
    for a in result.assignments:
        agent_of_job[int(a["case"][1:]) - 1] = int(a["provider"][1:]) - 1
    status = result.status
    if result.unassigned:
        status = f"{status}, {len(result.unassigned)} unassigned"
    answer = agent_of_job if result.objective is not None and not result.unassigned else None
    bound = None if result.bound is None else float(result.bound)
    status, value, bound = _finish(gap, status, answer, bound)
    if value is not None and result.objective != value:
        status = "invalid"  # the objective disagrees with the GAP cost of the allocation
    run = Run(
        status=status,
        value=value,
        bound=bound,
        seconds=total,
        first_seconds=getattr(result, "first_solution_seconds", None),
        best_seconds=getattr(result, "best_solution_seconds", None),
        unassigned=len(result.unassigned),
    )
    timings = {
        "convert_seconds": converted - started,
        "build_seconds": result.build_seconds,
        "heuristic_seconds": result.heuristic_seconds,
        "solve_seconds": result.solve_seconds,
    }
    return run, timings


class _Clock(cp_model.CpSolverSolutionCallback):
    """Seconds from `started` to the first and to the latest solution."""

    def __init__(self, started: float):
        super().__init__()
        self.started = started
        self.first: float | None = None
        self.best: float | None = None

    def on_solution_callback(self) -> None:
        self.best = time.perf_counter() - self.started
        if self.first is None:
            self.first = self.best


def run_plain_cpsat(gap: Gap, time_limit: float, workers: int, seed: int) -> Run:
    """CP-SAT on the textbook GAP model, default parameters, no hint."""
    started = time.perf_counter()
    agents, jobs = range(gap.agents), range(gap.jobs)
    model = cp_model.CpModel()
    x = [[model.new_bool_var(f"x{i}_{j}") for j in jobs] for i in agents]
    for j in jobs:
        model.add_exactly_one(x[i][j] for i in agents)
    for i in agents:
        model.add(cp_model.LinearExpr.weighted_sum(x[i], gap.use[i]) <= gap.capacity[i])
    model.minimize(
        cp_model.LinearExpr.weighted_sum(
            [v for row in x for v in row], [c for row in gap.cost for c in row]
        )
    )
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    clock = _Clock(started)
    code = solver.solve(model, clock)
    status = {
        cp_model.OPTIMAL: "optimal",
        cp_model.FEASIBLE: "feasible",
        cp_model.INFEASIBLE: "infeasible",
    }.get(code, "unknown")
    answer = None
    if status in ("optimal", "feasible"):
        answer = [next(i for i in agents if solver.boolean_value(x[i][j])) for j in jobs]
    bound = solver.best_objective_bound if status in ("optimal", "feasible") else None
    status, value, bound = _finish(gap, status, answer, bound)
    return Run(status, value, bound, time.perf_counter() - started, clock.first, clock.best)


def run_scip(gap: Gap, time_limit: float, workers: int, seed: int) -> Run:
    """SCIP through pywraplp with the time limit and thread count set (seed not used)."""
    from ortools.linear_solver import pywraplp

    started = time.perf_counter()
    agents, jobs = range(gap.agents), range(gap.jobs)
    mip = pywraplp.Solver.CreateSolver("SCIP")
    if mip is None:
        return Run("error: SCIP is not available in this OR-Tools")
    x = [[mip.BoolVar(f"x{i}_{j}") for j in jobs] for i in agents]
    objective = mip.Objective()
    for j in jobs:
        row = mip.RowConstraint(1, 1, f"job{j}")
        for i in agents:
            row.SetCoefficient(x[i][j], 1)
    for i in agents:
        row = mip.RowConstraint(-mip.infinity(), gap.capacity[i], f"agent{i}")
        for j in jobs:
            row.SetCoefficient(x[i][j], gap.use[i][j])
            objective.SetCoefficient(x[i][j], gap.cost[i][j])
    objective.SetMinimization()
    mip.SetTimeLimit(max(1, round(time_limit * 1000)))
    mip.SetNumThreads(workers)
    code = mip.Solve()
    status = {
        pywraplp.Solver.OPTIMAL: "optimal",
        pywraplp.Solver.FEASIBLE: "feasible",
        pywraplp.Solver.INFEASIBLE: "infeasible",
    }.get(code, "unknown")
    answer = None
    if status in ("optimal", "feasible"):
        answer = [_chosen(i for i in agents if x[i][j].solution_value() > 0.5) for j in jobs]
    bound = objective.BestBound() if status in ("optimal", "feasible") else None
    status, value, bound = _finish(gap, status, answer, bound)
    return Run(status, value, bound, time.perf_counter() - started)


def run_highs(gap: Gap, time_limit: float, workers: int, seed: int) -> Run:
    """HiGHS through math_opt with the time limit set (threads and seed not settable)."""
    from ortools.math_opt.python import mathopt

    started = time.perf_counter()
    agents, jobs = range(gap.agents), range(gap.jobs)
    model = mathopt.Model(name=gap.name)
    x = [[model.add_binary_variable(name=f"x{i}_{j}") for j in jobs] for i in agents]
    for j in jobs:
        model.add_linear_constraint(mathopt.fast_sum(x[i][j] for i in agents) == 1)
    for i in agents:
        use = mathopt.fast_sum(gap.use[i][j] * x[i][j] for j in jobs)
        model.add_linear_constraint(use <= gap.capacity[i])
    model.minimize(mathopt.fast_sum(gap.cost[i][j] * x[i][j] for i in agents for j in jobs))
    params = mathopt.SolveParameters(time_limit=datetime.timedelta(seconds=time_limit))
    result = mathopt.solve(model, mathopt.SolverType.HIGHS, params=params)
    reason = mathopt.TerminationReason
    status = {
        reason.OPTIMAL: "optimal",
        reason.FEASIBLE: "feasible",
        reason.INFEASIBLE: "infeasible",
    }.get(result.termination.reason, "unknown")
    answer = None
    if result.has_primal_feasible_solution():
        values = result.variable_values()
        answer = [_chosen(i for i in agents if values[x[i][j]] > 0.5) for j in jobs]
    bound = result.best_objective_bound() if answer is not None else None
    status, value, bound = _finish(gap, status, answer, bound)
    return Run(status, value, bound, time.perf_counter() - started)


def _chosen(agents: Any) -> int | None:
    """The one agent a job is given to, None if none or several."""
    found = list(agents)
    return found[0] if len(found) == 1 else None


PEER_RUNNERS: dict[str, Callable[[Gap, float, int, int], Run]] = {
    "cpsat": run_plain_cpsat,
    "scip": run_scip,
    "highs": run_highs,
}


# -- the benchmark --


def gap_best_pct(value: int | None, best: int | None) -> float | None:
    """100 * (value - best known) / best known."""
    if value is None or best is None or best == 0:
        return None
    return 100 * (value - best) / best


def gap_bound_pct(value: int | None, bound: int | None) -> float | None:
    """100 * (value - bound) / max(1, value), as `Result.gap`."""
    if value is None or bound is None:
        return None
    return 100 * max(0, value - bound) / max(1, abs(value))


def gap_ratio(ours: float | None, peer: float | None) -> float | str | None:
    """Our gap to best known over the peer's: "both 0", "inf" when only the peer is at 0."""
    if ours is None or peer is None:
        return None
    if peer <= 0:
        return "both 0" if ours <= 0 else "inf"
    return ours / peer


def bench_one(
    path: Path,
    gap: Gap,
    best: BestKnown | None,
    params: SolveParams,
    peers: Sequence[str] = (),
) -> dict[str, Any]:
    """Solve one GAP with solve() and then with each peer, one after the other: one row."""
    ours, timings = run_ours(gap, params)
    best_value = None if best is None else best.value
    ours_gap = _round(gap_best_pct(ours.value, best_value))
    row: dict[str, Any] = {
        "name": gap_key(path),
        "jobs": gap.jobs,
        "agents": gap.agents,
        "status": ours.status,
        "value": ours.value,
        "unassigned": ours.unassigned,
        "best_known": best_value,
        "gap_best_pct": ours_gap,
        "bound": ours.bound,
        "gap_bound_pct": _round(gap_bound_pct(ours.value, ours.bound)),
        "first_seconds": _round(ours.first_seconds),
        "best_seconds": _round(ours.best_seconds),
        **{k: _round(v) for k, v in timings.items()},
        "total_seconds": _round(ours.seconds),
    }
    row |= peer_figures(gap, best_value, ours_gap, peers, params)
    return row


def peer_figures(
    gap: Gap,
    best_value: int | None,
    ours_gap: float | None,
    peers: Sequence[str],
    params: SolveParams,
) -> dict[str, Any]:
    """Run each peer at our time limit, workers and seed: its figures, keys `<peer>_...`."""
    row: dict[str, Any] = {}
    for name in peers:
        try:
            run = PEER_RUNNERS[name](gap, params.time_limit, params.workers, params.seed)
        except Exception as exc:  # noqa: BLE001 - a failing peer must not end the benchmark
            run = Run(f"error: {exc.__class__.__name__}: {exc}")
        peer_gap = _round(gap_best_pct(run.value, best_value))
        ratio = gap_ratio(ours_gap, peer_gap)
        row |= {
            f"{name}_status": run.status,
            f"{name}_value": run.value,
            f"{name}_bound": run.bound,
            f"{name}_gap_best_pct": peer_gap,
            f"{name}_gap_bound_pct": _round(gap_bound_pct(run.value, run.bound)),
            f"{name}_first_seconds": _round(run.first_seconds),
            f"{name}_best_seconds": _round(run.best_seconds),
            f"{name}_seconds": _round(run.seconds),
            f"{name}_ratio": _round(ratio) if isinstance(ratio, float) else ratio,
        }
    return row


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def summary(rows: Sequence[dict[str, Any]], peers: Sequence[str] = ()) -> dict[str, Any]:
    """Per solver: mean and max gap to best known over the instances it has one for."""
    out: dict[str, Any] = {}
    for name, prefix in [("ours", "")] + [(p, f"{p}_") for p in peers]:
        gaps = [r[f"{prefix}gap_best_pct"] for r in rows if r[f"{prefix}gap_best_pct"] is not None]
        out[name] = {
            "instances": len(rows),
            "with_gap": len(gaps),
            "mean_gap_best_pct": _round(statistics.fmean(gaps)) if gaps else None,
            "max_gap_best_pct": _round(max(gaps)) if gaps else None,
        }
    return out


# -- output --


def _cell(value: Any, key: str = "") -> str:
    """A table cell: '-' for None, seconds to 2 decimals, other fractions to 3."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{2 if key.endswith('seconds') else 3}f}"
    return str(value)


def _table(header: list[str], lines: list[list[str]]) -> list[str]:
    widths = [max(len(r[k]) for r in [header, *lines]) for k in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" if k == 0 else f"{{:>{w}}}" for k, w in enumerate(widths))
    return [fmt.format(*r).rstrip() for r in [header, *lines]]


# Table columns: header, row key (peer columns: key after "<peer>_").
OUR_COLUMNS = (
    ("instance", "name"),
    ("jobs", "jobs"),
    ("agents", "agents"),
    ("status", "status"),
    ("value", "value"),
    ("best", "best_known"),
    ("gap%", "gap_best_pct"),
    ("bound", "bound"),
    ("bgap%", "gap_bound_pct"),
    ("first s", "first_seconds"),
    ("best s", "best_seconds"),
    ("build s", "build_seconds"),
    ("total s", "total_seconds"),
)
PEER_COLUMNS = (
    ("status", "status"),
    ("value", "value"),
    ("gap%", "gap_best_pct"),
    ("bound", "bound"),
    ("bgap%", "gap_bound_pct"),
    ("seconds", "seconds"),
    ("ours/peer gap", "ratio"),
)


def render(rows: Sequence[dict[str, Any]], peers: Sequence[str] = ()) -> str:
    """The tables (ours, then the peers) and the summary lines."""
    out = _table(
        [h for h, _ in OUR_COLUMNS],
        [[_cell(r[key], key) for _, key in OUR_COLUMNS] for r in rows],
    )
    if peers:
        out += [""] + _table(
            ["instance", "peer"] + [h for h, _ in PEER_COLUMNS],
            [
                [r["name"], p] + [_cell(r[f"{p}_{key}"], key) for _, key in PEER_COLUMNS]
                for r in rows
                for p in peers
            ],
        )
    out.append("")
    for name, s in summary(rows, peers).items():
        out.append(
            f"{name}: gap to best known mean {_cell(s['mean_gap_best_pct'])} %, "
            f"max {_cell(s['max_gap_best_pct'])} % ({s['with_gap']}/{s['instances']} instances)"
        )
    return "\n".join(out)


def rows_csv(rows: Sequence[dict[str, Any]]) -> str:
    """The rows as CSV, one column per key (empty cells for None)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else [], lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()
