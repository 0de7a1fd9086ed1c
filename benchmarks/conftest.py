"""Benchmarks: each solve runs in a fresh process (`harness.py`); the metrics go into
pytest-benchmark's `extra_info`, from which `results.py` writes RESULTS.md (`make bench`)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import harness  # noqa: E402


def pytest_report_header(config):
    mode = "full (BENCH_FULL=1)" if harness.FULL else "quick (set BENCH_FULL=1 for the full suite)"
    return f"benchmarks: {mode}, {harness.WORKERS} workers, seed {harness.SEED}"
