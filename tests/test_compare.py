"""Scenarios side by side (solver/compare.py, `allocate compare`).

The comparison must say exactly what separate solves say: each column's figures equal
`figures()` of `solve()` on `apply(base, scenario)`, the savings are the differences of the
separate objectives and costs, and the moves are the cases whose provider differs between
the two separate allocations. The bundled Ballerup scenarios solve to proven optimality in
well under a second each.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from openpyxl import load_workbook

from solver import InstanceError, SolveParams, load_instance, solve
from solver.compare import (
    BASE,
    Comparison,
    compare,
    render_text,
    rows,
    why,
    write_comparison,
)
from solver.figures import figures
from solver.result import money
from solver.scenario import apply, load_scenario, parse_scenario

ROOT = Path(__file__).resolve().parent.parent
BALLERUP = ROOT / "instances" / "ballerup-2022.json"
SCENARIOS = sorted((ROOT / "instances" / "scenarios").glob("ballerup-*.json"))
PARAMS = SolveParams(time_limit=30, workers=2, seed=0)
SAVINGS = ("saving", "cost_saving")


@pytest.fixture(scope="module")
def base():
    return load_instance(BALLERUP)


@pytest.fixture(scope="module")
def runs(base):
    """(name, applied instance) per bundled scenario."""
    out = []
    for path in SCENARIOS:
        scenario = load_scenario(path)
        out.append((scenario.name, apply(base, scenario)))
    return out


@pytest.fixture(scope="module")
def comparison(base, runs) -> Comparison:
    return compare(base, runs, PARAMS)


@pytest.fixture(scope="module")
def separate(base, runs):
    """Each run solved on its own: name -> (instance, result)."""
    return {name: (inst, solve(inst, PARAMS)) for name, inst in [(BASE, base), *runs]}


def placement(result) -> dict[str, str]:
    return {a["case"]: a["provider"] for a in result.assignments}


def column(comparison: Comparison, name: str):
    return next(c for c in comparison.columns if c.name == name)


def test_columns_are_the_base_then_each_scenario_proven_optimal(comparison, runs) -> None:
    assert len(SCENARIOS) == 6
    assert [c.name for c in comparison.columns] == [BASE, *(name for name, _ in runs)]
    assert {c.figures["status"] for c in comparison.columns} == {"optimal"}
    assert comparison.base.figures["objective"] == 16717802.5


def test_figures_equal_separate_solves(comparison, separate) -> None:
    for c in comparison.columns:
        inst, result = separate[c.name]
        own = {k: v for k, v in c.figures.items() if k not in SAVINGS}
        assert own == figures(inst, result), c.name
        assert c.figures["objective"] == money(result.objective)
        assert c.figures["bound"] == c.figures["objective"]  # proven optimal


def test_savings_are_the_differences_against_the_base(comparison, separate) -> None:
    _, first = separate[BASE]
    for c in comparison.columns:
        _, result = separate[c.name]
        assert c.figures["saving"] == money(first.objective - result.objective)
        assert c.figures["cost_saving"] == money(first.total_cost - result.total_cost)
    assert comparison.base.figures["saving"] == 0.0
    keep = column(comparison, "keep the corps").figures
    assert keep["saving"] == -5325482.5  # the corps' 9 mio paid in any case
    assert keep["cost_saving"] == -5020482.5
    closed = column(comparison, "close the corps").figures
    assert closed["saving"] == 665000.0  # continuity penalties of corps cases go
    assert closed["cost_saving"] == 0.0
    # exact: the difference of the exact objectives, not of rounded figures
    prices = separate["external prices +3%"][1]
    assert Fraction(str(column(comparison, "external prices +3%").figures["saving"])) == (
        first.objective - prices.objective
    )


def test_moves_are_the_cases_whose_provider_differs(comparison, separate) -> None:
    base_inst, first = separate[BASE]
    before = placement(first)
    counts = {}
    for c in comparison.scenarios:
        inst, result = separate[c.name]
        after = placement(result)
        ids = {x.id for x in base_inst.cases} | {x.id for x in inst.cases}
        expected = {i: (before.get(i), after.get(i)) for i in ids if before.get(i) != after.get(i)}
        assert {m["case"]: (m["base"], m["scenario"]) for m in c.moves} == expected, c.name
        assert len({m["case"] for m in c.moves}) == len(c.moves)
        counts[c.name] = len(c.moves)
    assert counts["keep the corps"] == 26
    assert counts["external prices +3%"] == 26
    assert counts["close the corps"] == 0  # the base allocation does not use the corps


def test_why_for_an_optional_provider_made_fixed_and_a_price_rise(comparison) -> None:
    keep = {m["case"]: m for m in column(comparison, "keep the corps").moves}
    assert keep["B001"] == {
        "case": "B001",
        "base": "klub-syd",
        "scenario": "korps",
        "why": "Kontaktpersonkorpset is now paid in any case (not optional)",
    }
    prices = {m["case"]: m for m in column(comparison, "external prices +3%").moves}
    assert prices["B015"]["base"] == "ekstern-c"
    assert prices["B015"]["why"] == "Ekstern C's prices rise 3%"
    # a club case moved to the corps, which the dearer externals opened (its 9 mio are paid)
    assert prices["B001"]["why"] == (
        "Kontaktpersonkorpset takes cases in the scenario, so its fixed cost is paid anyway"
    )


def scenario(name: str, *changes: dict):
    return parse_scenario({"format": "allocation-scenario/1", "name": name, "changes": changes})


def test_why_for_a_removed_provider_and_a_closed_case(base, separate) -> None:
    first = placement(separate[BASE][1])
    at_syd = sorted(c for c, p in first.items() if p == "klub-syd")
    assert first["B001"] == "klub-syd" and len(at_syd) > 1
    no_syd = scenario(
        "no klub-syd", {"op": "remove", "target": "providers", "where": {"id": "klub-syd"}}
    )
    closed = scenario("B001 closes", {"op": "close", "where": {"id": "B001"}})
    result = compare(base, [(s.name, apply(base, s)) for s in (no_syd, closed)], PARAMS)
    removed = [m for m in result.scenarios[0].moves if m["base"] == "klub-syd"]
    assert sorted(m["case"] for m in removed) == at_syd
    assert {m["why"] for m in removed} == {"Klub Syd is removed in the scenario"}
    assert {"case": "B001", "base": "klub-syd", "scenario": None} | {
        "why": "case closes in the scenario"
    } in result.scenarios[1].moves


def test_why_rules_on_instances(base) -> None:
    """The rules of the module docstring, straight from the two instances (no solve)."""

    def applied(*changes: dict):
        return apply(base, scenario("s", *changes))

    more = applied(
        {
            "op": "set",
            "target": "providers",
            "where": {"id": "klub-nord"},
            "fields": {"capacity_hours": 60},
        }
    )
    assert why(base, more, "B001", "klub-syd", "klub-nord") == "more capacity at Klub Nord"
    less = applied(
        {
            "op": "set",
            "target": "providers",
            "where": {"id": "klub-syd"},
            "fields": {"max_cases": 3},
        }
    )
    assert why(base, less, "B001", "klub-syd", "klub-nord") == "less capacity at Klub Syd"
    hours = applied(
        {"op": "set", "target": "cases", "where": {"id": "B001"}, "fields": {"hours_per_week": 9}}
    )
    assert why(base, hours, "B001", "klub-syd", None) == (
        "the case's own data changed (hours_per_week)"
    )
    # nothing changed about the case or its providers; an optional provider with a fixed
    # cost opens or closes in the scenario's allocation
    opened = {"klub-syd", "klub-nord"}, {"klub-syd", "klub-nord", "korps"}
    assert why(base, base, "B001", "klub-syd", "korps", opened) == (
        "Kontaktpersonkorpset takes cases in the scenario, so its fixed cost is paid anyway"
    )
    closed = opened[1], opened[0]
    assert why(base, base, "B002", "korps", "klub-nord", closed) == (
        "Kontaktpersonkorpset takes no case in the scenario (its fixed cost is saved)"
    )
    assert why(base, base, "B002", "klub-syd", "klub-nord", opened) == (
        "cheapest overall after the other changes"  # Klub Nord's is paid in any case
    )
    weights = applied({"op": "set", "target": "weights", "fields": {"continuity": 0}})
    assert why(base, weights, "B001", "klub-syd", "korps") == "weights changed (continuity)"
    gone = applied({"op": "remove", "target": "cases", "where": {"id": "B001"}})
    assert why(base, gone, "B001", "klub-syd", None) == "case is removed in the scenario"
    new = applied(
        {
            "op": "add",
            "target": "cases",
            "records": [{"id": "N001", "age": 14, "hours_per_week": 3}],
        }
    )
    assert why(base, new, "N001", None, "klub-syd") == "new case in the scenario"
    budget = applied(
        {
            "op": "set",
            "target": "budgets",
            "where": {"name": "external purchase"},
            "fields": {"max_annual_cost": 10000000},
        }
    )
    assert why(base, budget, "B015", "ekstern-c", "korps") == "budget external purchase changed"
    assert why(base, base, "B001", "klub-syd", None) == (
        "frees room for other cases after the other changes"
    )
    # a removed provider's references in the case are not the case's own change
    no_nord = applied({"op": "remove", "target": "providers", "where": {"id": "klub-nord"}})
    assert why(base, no_nord, "B006", "klub-nord", "korps") == (
        "Klub Nord is removed in the scenario"
    )
    assert base.case("B069").relations == {"klub-nord": 2, "korps": 1}
    assert why(base, no_nord, "B069", "klub-syd", "korps") == (
        "cheapest overall after the other changes"
    )


def test_a_scenario_without_allocation_has_no_savings_or_moves(base, tmp_path: Path) -> None:
    every = scenario(
        "all at Maaloev",
        {"op": "lock", "where": {"status": "active"}, "provider": "klub-maaloev"},
    )
    result = compare(base, [(every.name, apply(base, every))], PARAMS)
    column = result.scenarios[0]
    assert column.figures["status"] == "infeasible"
    assert column.figures["saving"] is None and column.figures["cost_saving"] is None
    assert column.moves is None
    assert result.base.figures["saving"] == 0.0
    assert "all at Maaloev: no allocation on one side, so no moves to list" in render_text(result)
    write_comparison(result, tmp_path / "c.csv")
    with open(tmp_path / "c.csv", encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert ["objective", "16717802.5", ""] in lines
    assert lines[-1] == ["scenario", "case", "base", "scenario_provider", "why"]
    write_comparison(result, tmp_path / "c.json")
    doc = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert doc["columns"][1]["moves"] is None and doc["columns"][1]["figures"]["saving"] is None


def test_duplicate_names_are_refused_before_solving(base, runs) -> None:
    with pytest.raises(InstanceError, match="'keep the corps' is used twice"):
        compare(base, [runs[0], ("keep the corps", runs[1][1]), runs[-1]], PARAMS)


def test_each_output_format(comparison, tmp_path: Path) -> None:
    names = [c.name for c in comparison.columns]
    moves = sum(len(c.moves) for c in comparison.scenarios)
    assert moves > 0  # each written move is checked against the comparison below
    table = rows(comparison)
    objective = next(values for key, _, _, values in table if key == "objective")
    assert objective == [c.figures["objective"] for c in comparison.columns]

    write_comparison(comparison, tmp_path / "c.csv")
    with open(tmp_path / "c.csv", encoding="utf-8-sig", newline="") as handle:
        lines = list(csv.reader(handle))
    assert lines[0] == ["figure", *names]
    figures_part = {r[0]: r[1:] for r in lines[1 : len(table) + 1]}
    assert [float(v) for v in figures_part["objective"]] == objective
    assert figures_part["status"] == ["optimal"] * len(names)
    assert lines[len(table) + 1] == []
    assert lines[len(table) + 2] == ["scenario", "case", "base", "scenario_provider", "why"]
    move_lines = lines[len(table) + 3 :]
    assert len(move_lines) == moves
    expected = [
        [c.name, m["case"], m["base"] or "", m["scenario"] or "", m["why"]]
        for c in comparison.scenarios
        for m in c.moves
    ]
    assert move_lines == expected
    keep = [r for r in move_lines if r[0] == "keep the corps"]
    assert len(keep) == 26 and ["keep the corps", "B001", "klub-syd", "korps"] == keep[0][:4]

    write_comparison(comparison, tmp_path / "c.xlsx")
    book = load_workbook(tmp_path / "c.xlsx")
    assert book.sheetnames == ["figures", "moves"]
    sheet = {r[0]: list(r[1:]) for r in book["figures"].iter_rows(values_only=True)}
    assert sheet["figure"] == names
    assert sheet["objective"] == objective
    assert sheet["saving"] == [c.figures["saving"] for c in comparison.columns]
    assert sheet["saving"][names.index("keep the corps")] == -5325482.5
    assert book["figures"]["B3"].number_format == "#,##0.00"
    xlsx_moves = list(book["moves"].iter_rows(values_only=True))
    assert xlsx_moves[0] == ("scenario", "case", "base", "scenario_provider", "why")
    assert len(xlsx_moves) == moves + 1

    write_comparison(comparison, tmp_path / "c.html")
    html = (tmp_path / "c.html").read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and "<script" not in html
    with_moves = sum(1 for c in comparison.scenarios if c.moves)
    assert html.count('<table class="data">') == 1 + with_moves  # figures, then the moves
    for name in names:
        assert f'<th class="num">{name}</th>' in html
    assert "16,717,802.50\u00a0DKK" in html and "Ekstern C&#x27;s prices rise 3%" in html

    write_comparison(comparison, tmp_path / "c.json")
    doc = json.loads((tmp_path / "c.json").read_text(encoding="utf-8"))
    assert doc["format"] == "comparison/1"
    assert [c["name"] for c in doc["columns"]] == names
    assert doc["columns"][0]["figures"] == comparison.base.figures
    assert doc["columns"][1]["moves"] == comparison.scenarios[0].moves
    assert doc["params"] == {"time_limit": 30, "workers": 2, "seed": 0}

    with pytest.raises(InstanceError, match=r"must end in \.csv, \.xlsx, \.html or \.json"):
        write_comparison(comparison, tmp_path / "c.txt")
    assert not (tmp_path / "c.txt").exists()


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def test_cli_prints_the_table_and_writes_the_file(tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    keep, close = (
        ROOT / "instances" / "scenarios" / f"ballerup-{n}-corps.json" for n in ("keep", "close")
    )
    done = run_cli(
        "compare", BALLERUP, keep, close, "--time-limit", 30, "--workers", 2, "--out", out
    )
    assert done.returncode == 0, done.stderr
    header = done.stdout.splitlines()[0].split()
    assert header == ["base", "keep", "the", "corps", "close", "the", "corps"]
    objective = next(line for line in done.stdout.splitlines() if line.startswith("objective"))
    assert objective.split()[-9:] == "16 717 802.50 22 043 285.00 16 052 802.50".split()
    assert "keep the corps: 26 case(s) move" in done.stdout
    assert "close the corps: 0 case(s) move" in done.stdout
    assert "B001  klub-syd" in done.stdout
    assert f"wrote {out}" in done.stdout
    assert json.loads(out.read_text(encoding="utf-8"))["columns"][1]["name"] == "keep the corps"


def test_cli_bad_input_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "compare.csv"
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "allocation-scenario/1", "name": "x", "changes": [{"op": "cut"}]}')
    done = run_cli("compare", BALLERUP, SCENARIOS[0], bad, "--out", out)
    assert done.returncode == 2
    assert done.stderr.startswith("error: ") and len(done.stderr.strip().splitlines()) == 1
    assert "op must be one of" in done.stderr and "Traceback" not in done.stderr
    assert "solving" not in done.stderr  # refused before anything was solved
    assert not out.exists() and list(tmp_path.iterdir()) == [bad]

    typo = tmp_path / "typo.json"
    typo.write_text(
        '{"name": "t", "changes": [{"op": "remove", "target": "providers",'
        ' "where": {"id": "klub-sud"}}]}'
    )
    done = run_cli("compare", BALLERUP, typo, "--out", out)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "error: scenario t: change #1 (remove providers): where matches no provider"
    )
    assert not out.exists()

    done = run_cli("compare", BALLERUP, SCENARIOS[0], "--out", tmp_path / "compare.txt")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1
    assert "must end in .csv, .xlsx, .html or .json" in done.stderr
    assert "solving" not in done.stderr and not (tmp_path / "compare.txt").exists()
