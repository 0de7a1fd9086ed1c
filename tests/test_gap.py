"""OR-Library GAP files: parsing, refusals, conversion to an instance, and `bench-gap`.

The converted instance solved by solve() must have the GAP optimum, checked against an
enumeration of every assignment on tiny random GAPs; `bench-gap` is run once (with the
peers) on a small public instance whose optimum is known.
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
import json
import random
from pathlib import Path
from typing import Any

import pytest
from test_cli import assert_error_lines, run_cli

from solver import InstanceError, SolveParams, load_instance, solve
from solver.gap import gap_instance, lookup, parse_gap, read_best_known, read_gap
from solver.gapbench import assignment_cost, gap_ratio

ROOT = Path(__file__).resolve().parent.parent
GAP_DIR = ROOT / "benchmarks" / "gap"
SMALL = GAP_DIR / "chu1997" / "a05100"  # 5 agents, 100 jobs, optimum 1698

# 2 agents, 3 jobs; numbers broken over lines anywhere, as the format allows.
TINY_TEXT = """2
3   5 6
7
 8 9 10
2 3 4 4 3 2

5 6
"""


def test_parse_tiny_gap() -> None:
    gap = parse_gap(TINY_TEXT, "tiny")
    assert (gap.agents, gap.jobs) == (2, 3)
    assert gap.cost == ((5, 6, 7), (8, 9, 10))
    assert gap.use == ((2, 3, 4), (4, 3, 2))
    assert gap.capacity == (5, 6)


def test_converted_instance() -> None:
    inst = gap_instance(parse_gap(TINY_TEXT, "tiny"))
    assert inst.name == "tiny"
    assert [(p.id, p.kind, p.capacity_hours) for p in inst.providers] == [
        ("a1", "external", 5),
        ("a2", "external", 6),
    ]
    assert [(c.id, c.hours_per_week) for c in inst.cases] == [("j1", 2), ("j2", 3), ("j3", 2)]
    offers = {(o.provider, o.case): (o.annual_cost, o.hours_per_week) for o in inst.offers}
    assert offers[("a2", "j1")] == (8, 4) and len(offers) == 6
    w = inst.weights
    assert (w.relation_per_level, w.continuity, w.family_split) == (0, 0, 0)
    assert w.unassigned >= 10_000_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "expected 'm n' (agents, jobs) at the start, found too few numbers"),
        ("2 3 1 2 3", "too few numbers: 2 agents x 3 jobs need 2 + 2*2*3 + 2 = 16, found 5"),
        (TINY_TEXT + " 7", "too many numbers: 2 agents x 3 jobs need 2 + 2*2*3 + 2 = 16, found 17"),
        (TINY_TEXT.replace("9", "-9"), "line 4: cost c[2][2] is -9, must be >= 0"),
        (TINY_TEXT.replace("8", "8.5"), "line 4: cost c[2][1] is '8.5', not a whole number"),
        (TINY_TEXT.replace("2 3 4", "2 0 4"), "line 5: capacity use w[1][2] is 0, must be > 0"),
        (
            TINY_TEXT.replace("\n5 6\n", "\n5 x\n"),
            "line 7: capacity b[2] is 'x', not a whole number",
        ),
        ("0 3", "line 1: m (agents) is 0, must be > 0"),
    ],
)
def test_bad_gap_text_is_refused(text: str, expected: str) -> None:
    with pytest.raises(InstanceError) as info:
        parse_gap(text, "bad", source="bad.txt")
    assert info.value.lines == [f"bad.txt: {expected}"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2 3\n5 6 7\n8 9", "too few numbers"),
        (TINY_TEXT.replace("9", "-9"), "must be >= 0"),
        ("GAP instance\n" + TINY_TEXT, "not a whole number"),
    ],
    ids=["truncated", "negative", "garbage"],
)
def test_cli_refuses_bad_gap(tmp_path: Path, text: str, expected: str) -> None:
    source = tmp_path / "broken"
    source.write_text(text, encoding="utf-8")
    out = tmp_path / "out.json"
    proc = run_cli("import-gap", source, "--out", out)
    assert proc.returncode == 2, proc.stderr
    assert_error_lines(proc)
    assert len(proc.stderr.splitlines()) == 1
    assert str(source) in proc.stderr and expected in proc.stderr
    assert not out.exists()


def test_bench_gap_refuses_bad_file_before_solving(tmp_path: Path) -> None:
    (tmp_path / "good").write_text(TINY_TEXT, encoding="utf-8")
    (tmp_path / "bad").write_text("2 3 1", encoding="utf-8")
    proc = run_cli("bench-gap", tmp_path, "--time-limit", "1", "--out", tmp_path / "r")
    assert proc.returncode == 2, proc.stderr
    assert_error_lines(proc)
    assert "bad" in proc.stderr and not (tmp_path / "r.csv").exists()


def test_import_gap_writes_the_instance(tmp_path: Path) -> None:
    out = tmp_path / "a05100.json"
    proc = run_cli("import-gap", SMALL, "--out", out)
    assert proc.returncode == 0, proc.stderr
    assert "5 providers, 100 cases, 500 offers" in proc.stdout
    assert load_instance(out) == gap_instance(read_gap(SMALL))


def brute_force(cost: list[list[int]], use: list[list[int]], cap: list[int]) -> int | None:
    """The GAP optimum by enumerating every assignment; None if none is feasible."""
    m, n = len(cap), len(cost[0])
    best = None
    for agents in itertools.product(range(m), repeat=n):
        load = [0] * m
        for j, i in enumerate(agents):
            load[i] += use[i][j]
        if all(load[i] <= cap[i] for i in range(m)):
            value = sum(cost[i][j] for j, i in enumerate(agents))
            best = value if best is None else min(best, value)
    return best


@pytest.mark.parametrize("seed", range(6))
def test_solve_equals_brute_force_gap_optimum(seed: int) -> None:
    rng = random.Random(seed)
    m, n = 3, 6
    cost = [[rng.randint(1, 50) for _ in range(n)] for _ in range(m)]
    use = [[rng.randint(1, 20) for _ in range(n)] for _ in range(m)]
    cap = [rng.randint(10, 35) for _ in range(m)]
    text = f"{m} {n}\n" + "\n".join(" ".join(map(str, row)) for row in cost + use + [cap])
    gap = parse_gap(text, f"random-{seed}")
    optimum = brute_force(cost, use, cap)
    result = solve(gap_instance(gap), SolveParams(time_limit=10, workers=1, seed=0))
    assert result.status == "optimal"
    if optimum is None:  # infeasible GAP: the instance leaves jobs unassigned
        assert result.unassigned
        return
    assert not result.unassigned
    assert result.objective == optimum == result.total_cost
    agent_of_job = [0] * n
    for a in result.assignments:
        agent_of_job[int(a["case"][1:]) - 1] = int(a["provider"][1:]) - 1
    assert assignment_cost(gap, agent_of_job) == optimum


def test_best_known_lookup() -> None:
    table = read_best_known(GAP_DIR / "best-known.csv")
    row = lookup(table, GAP_DIR / "chu1997" / "d20200")
    assert (row.bound, row.optimum, row.value) == (12235, None, 12244)
    assert lookup(table, Path("elsewhere/c10400")).value == 5597  # by stem
    assert lookup(table, Path("nowhere/zzz")) is None


def test_gap_ratio() -> None:
    assert gap_ratio(0.5, 0.25) == 2.0
    assert gap_ratio(0.0, 0.0) == "both 0"
    assert gap_ratio(0.1, 0.0) == "inf"
    assert gap_ratio(0.0, 0.3) == 0.0
    assert gap_ratio(None, 0.3) is None


# -- bench-gap, run once with the peers --

PEERS = ("cpsat", "scip", "highs")


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, dict, list[dict[str, str]]]:
    prefix = tmp_path_factory.mktemp("bench") / "gap"
    proc = run_cli(
        "bench-gap",
        SMALL,
        "--time-limit",
        "10",
        "--workers",
        "2",
        "--peers",
        "--out",
        prefix,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    document = json.loads(prefix.with_suffix(".json").read_text(encoding="utf-8"))
    with prefix.with_suffix(".csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return proc, document, rows


def test_bench_gap_figures(bench: tuple[Any, dict, list[dict[str, str]]]) -> None:
    _, document, _ = bench
    assert document["params"] == {"time_limit": 10.0, "workers": 2, "seed": 0}
    assert document["best_known"].endswith("best-known.csv")  # found next to chu1997/
    [row] = document["instances"]
    assert (row["name"], row["jobs"], row["agents"]) == ("chu1997/a05100", 100, 5)
    best = row["best_known"]
    assert best == 1698
    assert row["unassigned"] == 0 and row["value"] >= best
    assert row["gap_best_pct"] == round(100 * (row["value"] - best) / best, 4)
    assert row["bound"] <= best
    assert row["gap_bound_pct"] == round(100 * (row["value"] - row["bound"]) / row["value"], 4)
    assert row["total_seconds"] >= row["solve_seconds"]
    for peer in PEERS:
        value, gap = row[f"{peer}_value"], row[f"{peer}_gap_best_pct"]
        assert row[f"{peer}_status"] in ("optimal", "feasible"), peer
        assert value >= best and gap == round(100 * (value - best) / best, 4)
        assert row[f"{peer}_bound"] <= best
        expected = gap_ratio(row["gap_best_pct"], gap)
        assert row[f"{peer}_ratio"] == (
            round(expected, 4) if isinstance(expected, float) else expected
        )
    assert set(document["summary"]) == {"ours", *PEERS}
    assert document["summary"]["ours"]["mean_gap_best_pct"] == row["gap_best_pct"]


def test_bench_gap_csv_matches_json_and_prints_summary(
    bench: tuple[Any, dict, list[dict[str, str]]],
) -> None:
    proc, document, rows = bench
    [row] = document["instances"]
    assert list(rows[0]) == list(row)
    assert rows[0] == {k: "" if v is None else str(v) for k, v in row.items()}
    lines = proc.stdout.splitlines()
    assert any(line.startswith("chu1997/a05100") for line in lines)
    assert any(line.startswith("ours: gap to best known mean") for line in lines)
    assert sum(line.startswith(tuple(f"{p}: gap" for p in PEERS)) for line in lines) == 3


def unseen_gap():
    """`benchmarks/unseen_gap.py` as a module (the benchmarks are no package)."""
    spec = importlib.util.spec_from_file_location(
        "unseen_gap", ROOT / "benchmarks" / "unseen_gap.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_unseen_instances_are_gap_files_of_yagiuras_sizes(tmp_path):
    """`benchmarks/unseen_gap.py` writes readable type d and e instances, the same for a seed."""
    unseen = unseen_gap()
    files = unseen.write_all(tmp_path / "a", 3)
    assert [f.name for f in files[:3]] == ["d10400", "d20400", "d40400"] and len(files) == 18
    for f in files:
        gap = read_gap(f)
        agents, jobs = len(gap.capacity), len(gap.cost[0])
        assert f.name.endswith(f"{agents}{jobs}")
        assert all(max(row) <= cap for row, cap in zip(gap.use, gap.capacity, strict=True))
        assert min(min(row) for row in gap.use) >= 1
    again = unseen.write_all(tmp_path / "b", 3)
    assert all(x.read_text() == y.read_text() for x, y in zip(files, again, strict=True))
