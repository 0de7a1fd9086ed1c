"""Smoke benchmark: solving the bundled instances (fixed seed and workers).

Run with `make bench` (timings) or as part of `make test` (one round each, quality only).
Speed is reported by pytest-benchmark; the assertions are on solution quality.
"""

from pathlib import Path

import pytest

from solver import SolveParams, load_instance, solve

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
NAMES = ["tiny.json", "ballerup-2022.json", "ishoj-2018.json"]


@pytest.mark.parametrize("name", NAMES)
def test_solve_bundled(benchmark, name):
    path = INSTANCES / name
    if not path.exists():
        pytest.fail(f"bundled instance {name} is missing")
    instance = load_instance(path)
    params = SolveParams(time_limit=30, workers=2, seed=0)
    result = benchmark.pedantic(solve, args=(instance, params), rounds=3, iterations=1)
    benchmark.extra_info.update(
        status=result.status,
        objective=float(result.objective),
        build_seconds=result.build_seconds,
        solve_seconds=result.solve_seconds,
    )
    assert result.status == "optimal"
    assert result.gap == 0
