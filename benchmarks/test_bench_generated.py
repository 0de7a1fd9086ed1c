"""Benchmark: generated instances (`solver.generate`, instance seed 1) of 1k to 100k cases.

Quick mode (default, `make test` and CI): 1 000 cases x 50 providers at 20 s; feasible, no
case unassigned (every generated instance can place all), a bound, and within
QUICK_GAP_PCT of it. Full mode (BENCH_FULL=1, `make bench`): 1k, 5k and 20k at 60 s and
100 000 x 1 000 at 200 s (5 minutes end to end with generating and building). Quality
checks only, as the issue's targets: 20k within 1 % of the bound, 100k feasible with a
bound; build time, time to first solution, wall time and memory are reported in RESULTS.md
and checked there, never here.
"""

import pytest
from harness import (
    FULL,
    GENERATED,
    allocation_failures,
    benchmark_run,
    check,
    failed,
    generated_spec,
    time_limit,
)

QUICK = ["gen-1k"]
QUICK_TIME_LIMIT = 20.0
# The engine reaches 1.17 % on gen-1k at 20 s (measured at 676460e); tighten as it improves.
QUICK_GAP_PCT = 5.0
FULL_GAP_PCT = {"gen-20k": 1.0}  # the target; the others are reported only

NAMES = list(GENERATED) if FULL else QUICK


@pytest.mark.parametrize("name", NAMES)
def test_generated(benchmark, name):
    limit = GENERATED[name][2] if FULL else QUICK_TIME_LIMIT
    metrics = benchmark_run(benchmark, generated_spec(name), time_limit(limit))
    failures = allocation_failures(metrics, "cases")
    check(failures, metrics["bound"] is not None, "no bound")
    gap = metrics["gap_pct"]
    threshold = FULL_GAP_PCT.get(name) if FULL else QUICK_GAP_PCT
    if threshold is not None:
        check(
            failures,
            gap is not None and gap <= threshold,
            f"gap to bound {gap} % > {threshold} %",
        )
    assert not failures, failed(metrics, failures)
