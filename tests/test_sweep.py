"""Sweeps (solver/sweep.py, `allocate sweep`): --vary parsing, the grid, each row against an
independent solve, a local Dask cluster against local processes, and resuming.

The grid is 2 x 2 on the Ballerup instance: the relation weight x whether the corps is
optional; its four optima differ, and each proves in well under a second with one worker.
"""

from __future__ import annotations

import json
from pathlib import Path

import dask
import pytest
from distributed import LocalCluster
from test_cli import run_cli

from solver import InstanceError, SolveParams, load_instance, solve
from solver.figures import figures
from solver.scenario import PriceChange, Scenario, SetChange, apply
from solver.sweep import grid, parse_vary, sweep

ROOT = Path(__file__).resolve().parent.parent
BALLERUP = ROOT / "instances" / "ballerup-2022.json"
VARY = ("weights.relation_per_level=25000,50000", "providers[id=korps].optional=true,false")
KEYS = [
    "weights.relation_per_level=25000|providers[id=korps].optional=true",
    "weights.relation_per_level=25000|providers[id=korps].optional=false",
    "weights.relation_per_level=50000|providers[id=korps].optional=true",
    "weights.relation_per_level=50000|providers[id=korps].optional=false",
]
PARAMS = SolveParams(time_limit=20, workers=1, seed=0)


def untimed(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if k != "seconds"} for row in rows]


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def base():
    return load_instance(BALLERUP)


@pytest.fixture(scope="module")
def axes():
    return [parse_vary(text) for text in VARY]


@pytest.fixture(scope="module")
def local(base, axes, tmp_path_factory):
    """The grid run in two local processes: the rows and their file."""
    out = tmp_path_factory.mktemp("local") / "rows.jsonl"
    return sweep(base, axes, PARAMS, out, jobs=2), out


@pytest.fixture(scope="module")
def cluster():
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as dask:
        yield dask.scheduler_address


def _set(target: str, where: dict, field: str, value) -> SetChange:
    return SetChange(op="set", target=target, where=where, fields={field: value})


@pytest.mark.parametrize(
    ("text", "name", "values", "first"),
    [
        (
            "providers[kind=club].included_hours=9.25,18.5",
            "providers[kind=club].included_hours",
            (9.25, 18.5),
            _set("providers", {"kind": "club"}, "included_hours", 9.25),
        ),
        (
            "providers[id=korps].optional=true,false",
            "providers[id=korps].optional",
            (True, False),
            _set("providers", {"id": "korps"}, "optional", True),
        ),
        (
            "budgets[name=external purchase].max_annual_cost=10900000,10000000",
            "budgets[name=external purchase].max_annual_cost",
            (10900000, 10000000),
            _set("budgets", {"name": "external purchase"}, "max_annual_cost", 10900000),
        ),
        (
            'cases[id="17"].hours_per_week=2.5',
            'cases[id="17"].hours_per_week',
            (2.5,),
            _set("cases", {"id": "17"}, "hours_per_week", 2.5),
        ),
        (
            "weights.relation_per_level=25000,50000",
            "weights.relation_per_level",
            (25000, 50000),
            _set("weights", {}, "relation_per_level", 25000),
        ),
        (
            "instance.weeks_per_year = 46, 48",
            "instance.weeks_per_year",
            (46, 48),
            _set("instance", {}, "weeks_per_year", 46),
        ),
        (
            "price_index[kind=external]=1.0,1.03",
            "price_index[kind=external]",
            (1.0, 1.03),
            PriceChange(op="price_index", factor=1.0, where={"kind": "external"}),
        ),
        ("price_index=1.03", "price_index", (1.03,), PriceChange(op="price_index", factor=1.03)),
    ],
)
def test_parse_vary_makes_one_scenario_change_per_value(text, name, values, first):
    axis = parse_vary(text)
    assert (axis.name, axis.values) == (name, values)
    assert axis.change(values[0]) == first


def test_values_are_json_scalars_else_strings():
    axis = parse_vary("providers[id=korps].name=null,korps team,true, 3 ,-1.5e2,NaN,[1]")
    assert axis.values == (None, "korps team", True, 3, -150.0, "NaN", "[1]")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("weights.continuity", "expected FIELD=V1,V2,..."),
        ("continuity=1,2", "expected FIELD=V1,V2,..."),
        ("weights.relaton_per_level=1", "(did you mean 'relation_per_level'?)"),
        ("instance.weeks=46", "weeks is not a field of instance"),
        ("providers[kind=club].included_hour=1", "(did you mean 'included_hours'?)"),
        ("providers[kid=club].optional=true", "(did you mean 'kind'?)"),
        ("provider[id=korps].optional=true", "(did you mean 'providers'?)"),
        ("providers.optional=true", "expected FIELD=V1,V2,..."),
        ("weights.continuity=", "none empty"),
        ("weights.continuity=1,,2", "none empty"),
        ("weights.continuity=1,2,1", "value 1 is given twice"),
        ("price_index[kind=external]=1,0", "a price index must be a number > 0, not 0"),
        ("price_index=high", "a price index must be a number > 0, not high"),
        ("price_index=Infinity", "a price index must be a number > 0, not Infinity"),
    ],
)
def test_parse_vary_refuses_with_one_line_naming_the_option(text, problem):
    with pytest.raises(InstanceError) as caught:
        parse_vary(text)
    assert caught.value.lines == [caught.value.lines[0]]
    line = caught.value.lines[0]
    assert line.startswith(f"--vary {text}: ") and problem in line


def test_a_cpr_like_value_is_refused_without_repeating_it():
    with pytest.raises(InstanceError) as caught:
        parse_vary("cases[id=010190-1234].hours_per_week=2")
    assert "CPR" in str(caught.value) and "010190" not in str(caught.value)
    parse_vary("budgets[name=external purchase].max_annual_cost=1012001234")  # a number


def test_grid_is_the_product_in_a_fixed_order(axes):
    points = grid(axes)
    assert [p.key for p in points] == KEYS
    assert points[1].values == {
        "weights.relation_per_level": 25000,
        "providers[id=korps].optional": False,
    }
    assert points[1].scenario == Scenario(
        name=KEYS[1], changes=[a.change(v) for a, v in zip(axes, (25000, False), strict=True)]
    )
    with pytest.raises(InstanceError, match="--vary weights.relation_per_level is given twice"):
        grid([axes[0], axes[1], axes[0]])


def test_each_row_equals_an_independent_solve(base, local):
    rows, out = local
    assert [r["key"] for r in rows] == KEYS
    assert sorted(untimed(lines(out)), key=lambda r: KEYS.index(r["key"])) == untimed(
        rows
    )  # as they finished
    for row, (weight, optional) in zip(
        rows, [(25000, True), (25000, False), (50000, True), (50000, False)], strict=True
    ):
        scenario = Scenario(
            name="expected",
            changes=[
                SetChange(op="set", target="weights", fields={"relation_per_level": weight}),
                SetChange(
                    op="set",
                    target="providers",
                    where={"id": "korps"},
                    fields={"optional": optional},
                ),
            ],
        )
        instance = apply(base, scenario)
        expected = figures(instance, solve(instance, PARAMS))
        assert expected["status"] == "optimal"
        assert row["weights.relation_per_level"] == weight
        assert row["providers[id=korps].optional"] is optional
        for name, value in expected.items():
            if isinstance(value, dict):
                assert {k: row[f"{name}.{k}"] for k in value} == value, name
            else:
                assert row[name] == value, name
        assert row["seed"] == 0 and row["workers"] == 1 and row["time_limit"] == 20
    assert len({r["objective"] for r in rows}) == 4  # every axis changes the optimum


def test_a_local_dask_cluster_gives_the_local_rows(base, axes, local, cluster, tmp_path):
    rows, _ = local
    out = tmp_path / "dask.jsonl"
    on_dask = sweep(base, axes, PARAMS, out, cluster=cluster)
    assert untimed(on_dask) == untimed(rows)
    assert sorted(r["key"] for r in lines(out)) == sorted(KEYS)


@pytest.mark.parametrize("where", ["local", "dask"])
def test_an_interrupted_sweep_resumes_where_it_stopped(base, axes, local, cluster, tmp_path, where):
    rows, full = local
    out = tmp_path / "rows.jsonl"
    kept = full.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text(kept[1] + kept[3][: len(kept[3]) // 2], encoding="utf-8")  # cut mid-line
    calls = []
    options = {"cluster": cluster} if where == "dask" else {"jobs": 2}
    resumed = sweep(base, axes, PARAMS, out, progress=lambda *c: calls.append(c), **options)
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)  # only the missing points ran
    written = lines(out)
    assert written[0] == json.loads(kept[1])
    assert sorted(r["key"] for r in written[1:]) == sorted(set(KEYS) - {written[0]["key"]})
    assert untimed(resumed) == untimed(rows)
    # a finished sweep runs nothing
    calls.clear()
    again = sweep(base, axes, PARAMS, out, progress=lambda *c: calls.append(c), **options)
    assert calls == [] and untimed(again) == untimed(rows)


def test_an_interruption_mid_run_loses_only_the_running_points(
    base, axes, local, cluster, tmp_path
):
    rows, _ = local
    out = tmp_path / "rows.jsonl"

    def interrupt(done: int, total: int) -> None:
        if done == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        sweep(base, axes, PARAMS, out, jobs=1, progress=interrupt)
    assert len(lines(out)) == 1
    calls = []
    # resumed on the Dask cluster: the rows do not depend on where they were solved
    resumed = sweep(base, axes, PARAMS, out, cluster=cluster, progress=lambda *c: calls.append(c))
    assert calls[-1] == (3, 3)
    assert untimed(resumed) == untimed(rows)


def test_rows_from_other_settings_or_another_file_are_refused(base, axes, local, tmp_path):
    _, full = local
    out = tmp_path / "rows.jsonl"
    out.write_bytes(full.read_bytes())
    other = SolveParams(time_limit=20, workers=1, seed=1)
    with pytest.raises(InstanceError, match=r"was solved with seed 0, not 1; use another --out"):
        sweep(base, axes, other, out)
    out.write_text('{"key": "x"}\nnot json\n', encoding="utf-8")
    with pytest.raises(InstanceError, match="line 2 is not a sweep row"):
        sweep(base, axes, PARAMS, out)


def test_a_point_the_scenario_format_refuses_stops_the_sweep_before_any_run(base, tmp_path):
    out = tmp_path / "rows.jsonl"
    axes = [parse_vary("weights.continuity=1,2"), parse_vary("providers[id=korpz].optional=true")]
    with pytest.raises(InstanceError) as caught:
        sweep(base, axes, PARAMS, out)
    assert caught.value.lines == [
        "--vary providers[id=korpz].optional: scenario providers[id=korpz].optional=true: "
        "change #1 (set providers): where matches no provider"
    ]
    assert not out.exists()


def test_cli_sweep_prints_the_table_and_writes_rows_and_csv(local, tmp_path):
    rows, _ = local
    out, table = tmp_path / "rows.jsonl", tmp_path / "rows.csv"
    args = [f"--vary={v}" for v in VARY]
    done = run_cli("sweep", BALLERUP, *args, "--out", out, "--csv", table, "--time-limit", "20")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no progress bar when stderr is not a terminal
    head, *body = done.stdout.splitlines()[:5]
    assert head.split() == [
        "weights.relation_per_level",
        "providers[id=korps].optional",
        "objective",
        "cost",
        "unassigned",
        "moves",
        "status",
    ]
    for line, row in zip(body, rows, strict=True):
        objective = f"{row['objective']:,.0f}".replace(",", " ")
        assert line.split()[:2] == [json.dumps(row[name]) for name in head.split()[:2]]
        assert objective in line and line.endswith("optimal")
    assert sorted(untimed(lines(out)), key=lambda r: KEYS.index(r["key"])) == untimed(rows)
    csv_lines = table.read_text(encoding="utf-8").splitlines()
    assert len(csv_lines) == 5 and csv_lines[0].startswith("key,weights.relation_per_level,")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--vary", "weights.relaton_per_level=1"], "error: --vary weights.relaton_per_level=1: "),
        (["--vary", "providers[id=korpz].optional=true"], "where matches no provider"),
        (["--vary", "weights.continuity=1", "--jobs", "2", "--cluster", "tcp://x:1"], "not both"),
    ],
)
def test_cli_sweep_refuses_bad_input_and_writes_nothing(tmp_path, args, message):
    out = tmp_path / "rows.jsonl"
    done = run_cli("sweep", BALLERUP, *args, "--out", out)
    assert done.returncode == 2
    assert len(done.stderr.splitlines()) == 1 and message in done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_an_unreachable_cluster_is_one_error_and_writes_nothing(base, axes, tmp_path):
    out = tmp_path / "rows.jsonl"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(ConnectionError, match=r"^cannot connect to the Dask scheduler at "):
            sweep(base, axes, PARAMS, out, cluster="tcp://127.0.0.1:1")
    assert not out.exists()


def test_an_out_file_that_is_not_utf8_is_refused_naming_the_line(base, axes, tmp_path):
    out = tmp_path / "rows.jsonl"
    out.write_bytes(b'{"key": "x"}\n\xff\xfe\n')
    with pytest.raises(InstanceError, match="line 2 is not a sweep row"):
        sweep(base, axes, PARAMS, out)
    assert out.read_bytes() == b'{"key": "x"}\n\xff\xfe\n'
