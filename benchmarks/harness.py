"""Run one benchmark solve in a fresh child process and return its metrics.

Each instance is loaded (or generated, or converted from a GAP file) and solved in a new
process started with multiprocessing's `spawn` context, so that the child's peak resident
memory (`resource.getrusage(RUSAGE_SELF).ru_maxrss`) is that instance's peak: nothing of
an earlier solve or of pytest is counted.

`run(spec, time_limit, workers, seed)` returns a flat dict of plain values (the same keys
for every kind, None where a figure does not apply); a child that fails or dies gives a dict
with `status` "error" and the reason in `error`, never an exception, so a benchmark table
is complete even when a solve is not.

Modes (environment variables; `make bench` sets BENCH_FULL=1):

- BENCH_FULL=1: the full suite (every GAP instance, generated 1k/5k/20k/100k); otherwise
  the quick subset `make test` and CI run.
- BENCH_TIME_LIMIT=S: overrides every time limit (smoke runs of the full mode).
- BENCH_WORKERS=N (default 2), BENCH_SEED=N (default 0): CP-SAT workers and seed.
- BENCH_PEERS=cpsat,highs,scip: on each GAP instance, after ours, the peers of
  `allocate bench-gap --peers` at the same limits (their figures as `<peer>_...` keys).
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import time
import traceback
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ROOT / "instances"
GAP_DIR = ROOT / "benchmarks" / "gap"

FULL = os.environ.get("BENCH_FULL", "") not in ("", "0")
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
SEED = int(os.environ.get("BENCH_SEED", "0"))
# Peers run on each GAP instance after ours, in the same child, at the same limits
# (`bench-gap --peers`): BENCH_PEERS=cpsat,highs,scip (any of them); none by default.
PEERS = [p for p in os.environ.get("BENCH_PEERS", "").split(",") if p]
GENERATOR_SEED = 1  # the instances of the README's "Generated instances" table

# Generated instances: name -> (cases, providers, full-mode time limit in seconds). The
# 100k instance gets 200 s of search so that generating, building, the greedy start and
# reading the answer also fit in its 5-minute budget.
GENERATED = {
    "gen-1k": (1_000, 50, 60.0),
    "gen-5k": (5_000, 100, 60.0),
    "gen-20k": (20_000, 300, 60.0),
    "gen-100k": (100_000, 1_000, 200.0),
}

KEYS = (
    "name",
    "set",
    "kind",
    "cases",
    "active_cases",
    "providers",
    "pairs",
    "status",
    "objective",
    "bound",
    "gap_pct",  # 100 (objective - bound) / objective
    "best_known",
    "optimum_known",
    "gap_best_pct",  # 100 (value - best known) / best known (GAP)
    "unassigned",
    "load_seconds",  # reading, generating or converting the instance (imports not counted)
    "build_seconds",
    "heuristic_seconds",
    "lp_seconds",
    "solve_seconds",
    "solve_call_seconds",  # the whole solve() call
    "first_solution_seconds",  # from the start of solve()
    "best_solution_seconds",
    "wall_seconds",  # the child's whole run: imports, loading, solve and checks
    "peak_mib",
    "time_limit",
    "workers",
    "seed",
    "error",
)


def time_limit(default: float) -> float:
    """The time limit for an instance: BENCH_TIME_LIMIT when set, else `default`."""
    override = os.environ.get("BENCH_TIME_LIMIT")
    return float(override) if override else float(default)


# -- what to run --


def gap_spec(key: str) -> dict[str, Any]:
    """A GAP instance by its best-known.csv key, e.g. `chu1997/c05100`."""
    dataset, stem = key.split("/")
    return {"kind": "gap", "name": key, "set": dataset, "path": str(GAP_DIR / dataset / stem)}


def gap_keys() -> list[str]:
    """Every GAP instance in benchmarks/gap (as bench-gap finds them), as `dataset/stem`."""
    from solver.gap import gap_key
    from solver.gapbench import gap_files

    return [gap_key(p) for p in gap_files([GAP_DIR])]


def generated_spec(name: str) -> dict[str, Any]:
    cases, providers, _ = GENERATED[name]
    return {
        "kind": "generated",
        "name": name,
        "set": "generated",
        "cases": cases,
        "providers": providers,
        "instance_seed": GENERATOR_SEED,
    }


def bundled_spec(file: str) -> dict[str, Any]:
    return {"kind": "bundled", "name": file, "set": "bundled", "path": str(INSTANCES / file)}


# -- the parent's side --


def run(
    spec: dict[str, Any],
    time_limit: float,
    workers: int = WORKERS,
    seed: int = SEED,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Solve `spec` in a fresh spawned process; its metrics (see `KEYS`)."""
    timeout = timeout if timeout is not None else 4 * time_limit + 600
    context = multiprocessing.get_context("spawn")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(
        target=_child, args=(sender, spec, time_limit, workers, seed), name=spec["name"]
    )
    started = time.perf_counter()
    child.start()
    sender.close()
    metrics: dict[str, Any] | None = None
    try:
        if receiver.poll(timeout):
            metrics = receiver.recv()
    except EOFError:  # the child died before sending
        metrics = None
    finally:
        receiver.close()
    child.join(30 if metrics is not None else 1)
    timed_out = metrics is None and child.is_alive()
    if child.is_alive():
        child.terminate()
        child.join(10)
    if metrics is None:
        reason = (
            f"no answer within {timeout:.0f} s (stopped)"
            if timed_out
            else f"child process ended with exit code {child.exitcode}"
        )
        metrics = _blank(spec, time_limit, workers, seed)
        metrics |= {"status": "error", "error": reason}
        metrics["wall_seconds"] = round(time.perf_counter() - started, 3)
    return metrics


def _child(sender, spec, time_limit, workers, seed) -> None:
    try:
        metrics = measure(spec, time_limit, workers, seed)
    except BaseException as exc:  # noqa: BLE001 - reported in the metrics
        metrics = _blank(spec, time_limit, workers, seed)
        lines = traceback.format_exception_only(type(exc), exc)
        metrics |= {"status": "error", "error": "".join(lines).strip()[:500]}
        metrics["peak_mib"] = _peak_mib()
    try:
        sender.send(metrics)
        sender.close()
    except OSError:  # the parent stopped waiting
        pass


# -- the child's side --


def measure(spec: dict[str, Any], time_limit: float, workers: int, seed: int) -> dict[str, Any]:
    """Load or generate the instance, solve it, and return the metrics (in this process)."""
    started = time.perf_counter()
    from solver.solve import SolveParams, solve

    imported = time.perf_counter()
    metrics = _blank(spec, time_limit, workers, seed)
    gap = best = None
    kind = spec["kind"]
    if kind == "gap":
        from solver.gap import gap_instance, lookup, read_best_known, read_gap

        gap = read_gap(spec["path"])
        best_known = GAP_DIR / "best-known.csv"
        best = lookup(read_best_known(best_known), spec["path"]) if best_known.exists() else None
        instance = gap_instance(gap)
    elif kind == "generated":
        from solver.generate import generate

        instance = generate(spec["cases"], spec["providers"], spec["instance_seed"])
    else:
        from solver.io import load_instance

        instance = load_instance(spec["path"])
    loaded = time.perf_counter()

    params = SolveParams(time_limit=time_limit, workers=workers, seed=seed)
    result = solve(instance, params)
    solved = time.perf_counter()

    metrics |= {
        "cases": len(instance.cases),
        "active_cases": sum(1 for c in instance.cases if c.active),
        "providers": len(instance.providers),
        "pairs": (result.model_size or {}).get("pairs"),
        "status": result.status,
        "objective": None if result.objective is None else float(result.objective),
        "bound": None if result.bound is None else float(result.bound),
        "gap_pct": None if result.gap is None else 100 * result.gap,
        "unassigned": len(result.unassigned) if result.objective is not None else None,
        "load_seconds": loaded - imported,
        "build_seconds": result.build_seconds,
        "heuristic_seconds": result.heuristic_seconds,
        "lp_seconds": getattr(result, "lp_seconds", None),
        "solve_seconds": result.solve_seconds,
        "solve_call_seconds": solved - loaded,
        "first_solution_seconds": getattr(result, "first_solution_seconds", None),
        "best_solution_seconds": getattr(result, "best_solution_seconds", None),
    }
    if gap is not None:
        metrics |= _gap_figures(gap, best, result)
    metrics["wall_seconds"] = time.perf_counter() - started
    metrics["peak_mib"] = _peak_mib()
    if gap is not None and PEERS:  # after ours, so that our peak and times are ours alone
        from solver.gapbench import peer_figures

        ours = metrics["gap_best_pct"]
        metrics |= peer_figures(gap, metrics["best_known"], ours, PEERS, params)
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def _gap_figures(gap, best, result) -> dict[str, Any]:
    """The GAP's own figures: the value recomputed from the allocation with the GAP's
    matrices (None when a job is unassigned; status `invalid` when it breaks a capacity or
    disagrees with the objective), the bound rounded up (costs are whole), the gaps."""
    import math

    from solver.gapbench import assignment_cost, gap_best_pct, gap_bound_pct

    out: dict[str, Any] = {
        "best_known": None if best is None else best.value,
        "optimum_known": None if best is None else best.optimum,
    }
    if result.objective is None:
        return out
    agent_of_job: list[int | None] = [None] * gap.jobs
    for a in result.assignments:
        agent_of_job[int(a["case"][1:]) - 1] = int(a["provider"][1:]) - 1
    value = None if result.unassigned else assignment_cost(gap, agent_of_job)
    if not result.unassigned and (value is None or value != result.objective):
        out["status"] = "invalid"
    bound = None if result.bound is None else math.ceil(float(result.bound) - 1e-6)
    out |= {
        "objective": value,
        "bound": bound,
        "gap_pct": gap_bound_pct(value, bound),
        "gap_best_pct": gap_best_pct(value, out["best_known"]),
    }
    return out


def _blank(spec: dict[str, Any], time_limit: float, workers: int, seed: int) -> dict[str, Any]:
    metrics: dict[str, Any] = dict.fromkeys(KEYS)
    metrics |= {
        "name": spec["name"],
        "set": spec["set"],
        "kind": spec["kind"],
        "cases": spec.get("cases"),
        "providers": spec.get("providers"),
        "time_limit": time_limit,
        "workers": workers,
        "seed": seed,
    }
    return metrics


def _peak_mib() -> float:
    """This process's peak resident memory in MiB (ru_maxrss is in KiB on Linux)."""
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


# -- for the tests --


def benchmark_run(benchmark, spec: dict[str, Any], limit: float) -> dict[str, Any]:
    """Run `spec` once under pytest-benchmark, with its metrics in `extra_info`."""
    metrics = benchmark.pedantic(run, args=(spec, limit), rounds=1, iterations=1)
    benchmark.extra_info.update(metrics)
    benchmark.extra_info["mode"] = "full" if FULL else "quick"
    return metrics


def check(failures: list[str], condition: bool, message: str) -> None:
    """Collect a failed check (all checks of a test are reported together)."""
    if not condition:
        failures.append(message)


def allocation_failures(metrics: dict[str, Any], what: str) -> list[str]:
    """The checks every non-bundled benchmark makes: it ran, found an allocation and left
    no `what` (jobs, cases) unassigned."""
    failures: list[str] = []
    check(failures, metrics["error"] is None, f"error: {metrics['error']}")
    check(failures, metrics["status"] in ("optimal", "feasible"), f"status {metrics['status']}")
    check(failures, metrics["unassigned"] == 0, f"{metrics['unassigned']} {what} unassigned")
    return failures


def failed(metrics: dict[str, Any], failures: list[str]) -> str:
    """The assertion message: what failed, and the figures."""
    shown = {
        k: metrics[k]
        for k in (
            "status",
            "objective",
            "bound",
            "gap_pct",
            "best_known",
            "gap_best_pct",
            "unassigned",
            "first_solution_seconds",
            "wall_seconds",
            "peak_mib",
            "error",
        )
        if metrics.get(k) is not None
    }
    return f"{metrics['name']}: " + "; ".join(failures) + f" ({shown})"
