"""Benchmark: OR-Library GAP instances (benchmarks/gap) against their best known values.

Quick mode (default, `make test` and CI): one small chu1997 instance of each type at 10 s;
each must be solved with every job assigned and within QUICK_GAP_PCT of the best known
value. Full mode (BENCH_FULL=1, `make bench`): all 33 instances at 60 s, against the targets
of "Solver performance at scale": every chu1997 a/b/c instance proven optimal and each
within 0.5 % of the best known value (the mean <= 0.1 % is checked in RESULTS.md).
Failures in full mode are expected until the engine meets the targets.
"""

import pytest
from harness import (
    FULL,
    allocation_failures,
    benchmark_run,
    check,
    failed,
    gap_keys,
    gap_spec,
    time_limit,
)

QUICK = ["chu1997/a05100", "chu1997/b05100", "chu1997/c05100", "chu1997/d05100"]
QUICK_TIME_LIMIT = 10.0
QUICK_GAP_PCT = 1.0  # the engine: 0 % on a/b/c05100 and about 0.2 % on d05100 at 10 s
FULL_TIME_LIMIT = 60.0
FULL_GAP_PCT = 0.5  # the target: max gap to best known

KEYS = gap_keys() if FULL else QUICK


@pytest.mark.parametrize("key", KEYS)
def test_gap(benchmark, key):
    metrics = benchmark_run(
        benchmark, gap_spec(key), time_limit(FULL_TIME_LIMIT if FULL else QUICK_TIME_LIMIT)
    )
    failures = allocation_failures(metrics, "jobs")
    gap = metrics["gap_best_pct"]
    limit = FULL_GAP_PCT if FULL else QUICK_GAP_PCT
    check(
        failures,
        gap is not None and gap <= limit,
        f"gap to best known {gap} % > {limit} %",
    )
    dataset, stem = key.split("/")
    if FULL and dataset == "chu1997" and stem[0] in "abc":
        check(failures, metrics["status"] == "optimal", "a/b/c instance not proven optimal")
    assert not failures, failed(metrics, failures)
