"""Benchmark: the bundled instances, each solved in a fresh process (quick and full mode).

Quality only: each must be proven optimal. Their solve times are in RESULTS.md (the
target "proven optimal in under a second" is checked there, not here).
"""

import pytest
from harness import benchmark_run, bundled_spec, check, failed, time_limit

NAMES = ["tiny.json", "ballerup-2022.json", "ishoj-2018.json"]


@pytest.mark.parametrize("name", NAMES)
def test_solve_bundled(benchmark, name):
    spec = bundled_spec(name)
    metrics = benchmark_run(benchmark, spec, time_limit(30))
    failures: list[str] = []
    check(failures, metrics["error"] is None, f"error: {metrics['error']}")
    check(failures, metrics["status"] == "optimal", f"status {metrics['status']}, not optimal")
    check(failures, metrics["gap_pct"] == 0, f"gap {metrics['gap_pct']} %, not 0")
    assert not failures, failed(metrics, failures)
