"""Instances as CSV folders and XLSX workbooks, results as workbooks (solver/tables.py).

The contract under test (docs/instance-format.md, "Tables"; README.md, "Spreadsheets"):
- JSON -> CSV -> XLSX -> JSON gives an equal `Instance`, for the bundled and random ones;
- every cell form the README documents is read: `;` lists, `provider:level` relations,
  true/false, 1/0, ja/nej, yes/no, decimal point or comma, comma or semicolon CSV;
- every problem is named by sheet, row (header = row 1) and column, CPR-like values never
  repeated;
- `convert` and `solve --out FILE.xlsx` on the command line: exit codes, nothing partial.
"""

from __future__ import annotations

import copy
import csv
import json
import random
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from bruteforce import RandomChooser, random_instance_dict
from openpyxl import Workbook, load_workbook

from solver import Instance, InstanceError, SolveParams, load_instance, solve, validate_instance
from solver.instance import Budget, Case, Offer, Provider, Weights
from solver.tables import (
    COLUMNS,
    GUIDE,
    RESULT_SHEETS,
    SETTINGS,
    SHEETS,
    instance_json,
    instance_tables,
    load_any,
    save_any,
    template_workbook,
    workbook_cells,
    write_result_xlsx,
)

ROOT = Path(__file__).resolve().parent.parent
INSTANCES = ROOT / "instances"
TINY = INSTANCES / "tiny.json"
TEMPLATE = INSTANCES / "template.xlsx"
TINY_OBJECTIVE = 798800
SOLVE_ARGS = ("--time-limit", "10", "--workers", "2", "--seed", "0")

Tables = dict[str, list[list[Any]]]


def run_cli(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


def round_trip(instance: Instance, folder: Path) -> list[Instance]:
    """JSON -> CSV -> XLSX -> JSON: the instance read back at each step."""
    save_any(instance, folder / "a.json")
    from_json = load_any(folder / "a.json")
    save_any(from_json, folder / "csv")
    from_csv = load_any(folder / "csv")
    save_any(from_csv, folder / "b.xlsx")
    from_xlsx = load_any(folder / "b.xlsx")
    save_any(from_xlsx, folder / "c.json")
    return [from_json, from_csv, from_xlsx, load_any(folder / "c.json")]


# --------------------------------------------------------------------------------------------
# The layout follows the data model
# --------------------------------------------------------------------------------------------


def test_columns_are_the_fields_of_the_format() -> None:
    for sheet, model in [("providers", Provider), ("cases", Case), ("offers", Offer)]:
        assert list(COLUMNS[sheet]) == list(model.model_fields)
    assert list(COLUMNS["budgets"]) == list(Budget.model_fields)
    weights = [f for f in Weights.model_fields if f != "kind_penalty"]
    top = [f for f in Instance.model_fields if f not in (*COLUMNS, "weights")]
    assert set(SETTINGS) == {*top, *weights} | {k for k in SETTINGS if k.startswith("kind_")}
    assert len([k for k in SETTINGS if k.startswith("kind_penalty.")]) == 6
    for sheet in COLUMNS:  # the README sheet explains every column
        assert set(GUIDE[sheet]) == set(COLUMNS[sheet])
    assert set(GUIDE["settings"]) == {*top, *weights, "kind_penalty.external"}


# --------------------------------------------------------------------------------------------
# Round trips
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(p.name for p in INSTANCES.glob("*.json")))
def test_bundled_instances_round_trip(tmp_path: Path, name: str) -> None:
    original = load_instance(INSTANCES / name)
    for n, again in enumerate(round_trip(original, tmp_path)):
        assert again == original, f"step {n} changed the instance"


@pytest.mark.parametrize("seed", range(60))
def test_random_instances_round_trip(tmp_path: Path, seed: int) -> None:
    original = validate_instance(random_instance_dict(RandomChooser(random.Random(seed))))
    for n, again in enumerate(round_trip(original, tmp_path)):
        assert again == original, f"seed {seed}: step {n} changed the instance"


def test_awkward_values_round_trip(tmp_path: Path) -> None:
    """Exact decimals beyond a double, formula-like and Danish text, explicit defaults."""
    doc = json.loads(TINY.read_text(encoding="utf-8"))
    doc["name"] = "=SUM(A1) Åbenrå ø"
    doc["weeks_per_year"] = Decimal("45.55")
    doc["providers"][0]["fixed_cost"] = Decimal("12345678901234.56")
    doc["providers"][1]["name"] = '@Familiehuset, "Nord"; æ'
    doc["providers"][2]["max_cases"] = 0
    doc["cases"][0]["payer"] = "+45"
    doc["cases"][1]["district"] = "1-3"
    doc["cases"][2]["family"] = "007"
    doc["weights"] = {"kind_penalty": {k: Decimal("0.01") for k in ("club", "external")}}
    original = validate_instance(doc)
    for n, again in enumerate(round_trip(original, tmp_path)):
        assert again == original, f"step {n} changed the instance"


def test_json_holds_only_what_differs_from_the_defaults(tmp_path: Path) -> None:
    text = instance_json(load_instance(TINY))
    document = json.loads(text)
    assert document["format"] == "allocation-instance/1"
    assert "weeks_per_year" not in document  # 46 is the default
    assert "accepts_new" not in document["providers"][0]
    assert document["weights"] == {"kind_penalty": {"external": 5000}}
    assert load_instance(TINY) == validate_instance(json.loads(text, parse_float=Decimal))


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        pytest.param("district", "", "case U02: district is empty text", id="empty-text"),
        pytest.param("district", " Syd", "case U02: district has spaces", id="leading-space"),
        pytest.param("needs", ["a;b"], "case U02: needs[1] holds ';'", id="semicolon-in-list"),
    ],
)
def test_text_a_table_cannot_hold_is_refused(
    tmp_path: Path, field: str, value: Any, expected: str
) -> None:
    doc = json.loads(TINY.read_text(encoding="utf-8"))
    doc["cases"][1][field] = value
    instance = validate_instance(doc)
    for target in (tmp_path / "folder", tmp_path / "book.xlsx"):
        with pytest.raises(InstanceError) as caught:
            save_any(instance, target)
        assert any(line.startswith(expected) for line in caught.value.lines), caught.value.lines
        assert not target.exists()
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Reading every documented cell form
# --------------------------------------------------------------------------------------------

EXPECTED_FORMS = {
    "name": "Forms",
    "weeks_per_year": Decimal("45.5"),
    "providers": [
        {
            "id": "klub-syd",
            "kind": "club",
            "capacity_hours": Decimal("12.5"),
            "optional": True,
            "accepts_new": False,
            "competences": ["autism", "psychiatry"],
            "districts": ["Syd", "Nord Vest"],
            "max_cases": 3,
        },
        {
            "id": "korps",
            "name": "Korps",
            "kind": "internal_corps",
            "capacity_hours": 30,
            "optional": False,
            "accepts_new": True,
            "fixed_cost": Decimal("1000.25"),
        },
        {"id": "ekstern", "kind": "external", "capacity_hours": 4, "optional": True},
        {"id": "jobcenter", "kind": "labour_market", "capacity_hours": 4, "optional": False},
    ],
    "cases": [
        {
            "id": "U01",
            "age": 14,
            "hours_per_week": Decimal("2.25"),
            "relations": {"klub-syd": 3, "korps": 1},
            "needs": ["autism"],
            "forbidden_providers": ["ekstern", "jobcenter"],
        },
        {"id": "U02", "age": 12, "hours_per_week": 2, "status": "closing", "family": "F 1"},
    ],
    "offers": [{"case": "U01", "provider": "ekstern", "annual_cost": Decimal("95000.5")}],
    "budgets": [
        {"name": "external", "kinds": ["external", "labour_market"], "max_annual_cost": 200000}
    ],
    "weights": {"continuity": Decimal("0.5"), "kind_penalty": {"external": 5000}},
}

# (header, rows) per sheet, cells as text: every list, relation, boolean and number form.
FORM_TABLES: dict[str, list[list[str]]] = {
    "providers": [
        ["id", "name", "kind", "capacity_hours", "optional", "accepts_new", "competences"]
        + ["districts", "max_cases", "fixed_cost"],
        ["klub-syd", "", "club", "12,5", "TRUE", "false", "autism; psychiatry;", "Syd;Nord Vest"]
        + ["3", ""],
        ["korps", "Korps", "internal_corps", "30", "0", "1", "", "", " ", "1000.25"],
        ["ekstern", "", "external", "4", "ja", "Yes", "", "", "", ""],
        ["jobcenter", "", "labour_market", "4.0", "Nej", "sand", "", "", "", ""],
        ["", "", "", "", "", "", "", "", "", ""],  # an empty row is skipped
    ],
    "cases": [
        ["id", "age", "hours_per_week", "relations", "needs", "forbidden_providers", "status"]
        + ["family"],
        ["U01", "14", "2,25", "klub-syd:3; korps : 1", "autism", "ekstern;jobcenter", "", ""],
        ["U02", "12,0", "2", "", "", "", "closing", " F 1 "],
    ],
    "offers": [["case", "provider", "annual_cost"], ["U01", "ekstern", "95000,50"]],
    "budgets": [
        ["name", "kinds", "providers", "max_annual_cost"],
        ["external", "external;labour_market", "", "200000"],
    ],
    "settings": [
        ["key", "value"],
        ["name", "Forms"],
        ["weeks_per_year", "45,5"],
        ["continuity", "0.50"],
        ["kind_penalty.external", "5000"],
        ["family_split", ""],  # empty: the default
    ],
}


def write_csv_tables(folder: Path, tables: Tables, delimiter: str = ",", bom: bool = True) -> Path:
    folder.mkdir(exist_ok=True)
    for sheet, rows in tables.items():
        with open(
            folder / f"{sheet}.csv", "w", newline="", encoding="utf-8-sig" if bom else "utf-8"
        ) as f:
            csv.writer(f, delimiter=delimiter).writerows(
                [["" if c is None else str(c) for c in row] for row in rows]
            )
    return folder


def write_xlsx_tables(path: Path, tables: Tables, extra: dict[str, list[list[Any]]] | None = None):
    workbook = Workbook()
    workbook.remove(workbook.active)
    for sheet, rows in {**tables, **(extra or {})}.items():
        ws = workbook.create_sheet(sheet)
        for row in rows:
            ws.append([None if c == "" else c for c in row])
    workbook.save(path)
    return path


def test_csv_forms(tmp_path: Path) -> None:
    expected = validate_instance(copy.deepcopy(EXPECTED_FORMS))
    comma = write_csv_tables(tmp_path / "comma", FORM_TABLES)
    (comma / "README.csv").write_text("notes,010190-1234\n", encoding="utf-8")  # not read
    (comma / "~$cases.csv").write_text("Excel's lock file\n", encoding="utf-8")
    (comma / "notes.txt").write_text("not a table\n", encoding="utf-8")
    assert load_any(comma) == expected
    # Danish Excel's "CSV (semikolonsepareret)": ';' between cells, lists quoted; no BOM
    semicolon = write_csv_tables(tmp_path / "semicolon", FORM_TABLES, delimiter=";", bom=False)
    assert "klub-syd;;club;12,5" in (semicolon / "providers.csv").read_text(encoding="utf-8")
    assert load_any(semicolon) == expected


def test_xlsx_forms_text_cells(tmp_path: Path) -> None:
    expected = validate_instance(copy.deepcopy(EXPECTED_FORMS))
    assert load_any(write_xlsx_tables(tmp_path / "forms.xlsx", FORM_TABLES)) == expected


def test_xlsx_forms_typed_cells(tmp_path: Path) -> None:
    """Numbers, whole numbers and booleans as Excel stores them."""
    tables = copy.deepcopy(FORM_TABLES)
    providers, cases = tables["providers"], tables["cases"]
    providers[1][3:6] = [12.5, True, False]
    providers[1][8] = 3.0
    providers[2][3:6] = [30, 0, 1]
    providers[2][9] = 1000.25
    providers[4][3] = 4.0
    cases[1][1:3] = [14, 2.25]
    cases[2][1] = 12.0
    tables["settings"][2][1] = 45.5
    tables["settings"][3][1] = 0.5
    tables["offers"][1][2] = 95000.5
    expected = validate_instance(copy.deepcopy(EXPECTED_FORMS))
    assert load_any(write_xlsx_tables(tmp_path / "typed.xlsx", tables)) == expected


def test_xlsx_readme_sheet_is_ignored_and_sheets_may_be_missing(tmp_path: Path) -> None:
    tables = {"providers": FORM_TABLES["providers"], "cases": [["id", "age", "hours_per_week"]]}
    tables = {**tables, "settings": [["key", "value"], ["name", "x"]]}
    readme = {"README": [["anything", "=1+1", "010190-1234"]]}
    inst = load_any(write_xlsx_tables(tmp_path / "a.xlsx", tables, extra=readme))
    assert inst.cases == () and inst.offers == () and inst.budgets == ()
    assert inst.weights == Weights()


def test_a_computed_float_is_read_as_excel_shows_it(tmp_path: Path) -> None:
    tables = copy.deepcopy(FORM_TABLES)
    tables["cases"][1][2] = 0.1 + 0.2  # 0.30000000000000004, shown as 0.3
    inst = load_any(write_xlsx_tables(tmp_path / "a.xlsx", tables))
    assert inst.cases[0].hours_per_week == Decimal("0.3")


# --------------------------------------------------------------------------------------------
# Problems named by sheet, row and column
# --------------------------------------------------------------------------------------------


def tiny_tables() -> Tables:
    """tiny.json as rows of text cells, header first."""
    out: Tables = {}
    for sheet, (header, rows) in instance_tables(load_instance(TINY)).items():
        text = [
            ["" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in r]
            for r in rows
        ]
        out[sheet] = [list(header), *text]
    return out


def cell(sheet: str, row: int, column: str, value: Any) -> Callable[[Tables], None]:
    """Set one cell; `row` as the spreadsheet shows it (the header is row 1)."""

    def mutate(tables: Tables) -> None:
        rows = tables[sheet]
        if column not in rows[0]:
            rows[0].append(column)
            for r in rows[1:]:
                r.append("")
        while len(rows) < row:
            rows.append([""] * len(rows[0]))
        rows[row - 1][rows[0].index(column)] = value

    return mutate


def both(*mutations: Callable[[Tables], None]) -> Callable[[Tables], None]:
    def mutate(tables: Tables) -> None:
        for m in mutations:
            m(tables)

    return mutate


def drop_sheet(sheet: str) -> Callable[[Tables], None]:
    return lambda tables: tables.pop(sheet)


def drop_column(sheet: str, column: str) -> Callable[[Tables], None]:
    def mutate(tables: Tables) -> None:
        index = tables[sheet][0].index(column)
        for row in tables[sheet]:
            del row[index]

    return mutate


def drop_row(sheet: str, row: int) -> Callable[[Tables], None]:
    return lambda tables: tables[sheet].pop(row - 1)


def add_sheet(sheet: str) -> Callable[[Tables], None]:
    return lambda tables: tables.__setitem__(sheet, [["case"], ["U01"]])


def extra_cell(sheet: str, row: int) -> Callable[[Tables], None]:
    return lambda tables: tables[sheet][row - 1].extend(["", "stray"])


# (id, mutation, where the line points: (sheet, "row N (label)" or None), substrings, absent)
# tiny: providers rows 2-5 klub-syd, familiehuset, korps, ekstern-a; cases rows 2-6 U01-U05;
# offers row 2 U04 at ekstern-a; budgets row 2 external purchase; settings rows 2-9
# format, name, weeks_per_year, relation_per_level, continuity, family_split, unassigned,
# kind_penalty.external.
BAD: list[
    tuple[str, Callable[[Tables], None], tuple[str, str | None], tuple[str, ...], tuple[str, ...]]
] = [
    (
        "unknown-column",
        cell("cases", 2, "must_providr", "korps"),
        ("cases", "row 1"),
        ("'must_providr' is not a field", "did you mean 'must_provider'"),
        (),
    ),
    (
        "bad-number",
        cell("cases", 3, "hours_per_week", "two"),
        ("cases", "row 3 (U02)"),
        ("hours_per_week must be a number", "12,5", "'two'"),
        (),
    ),
    (
        "thousands-separator",
        cell("providers", 3, "fixed_cost", "550.000,00"),
        ("providers", "row 3 (familiehuset)"),
        ("fixed_cost must be a number",),
        (),
    ),
    (
        "fraction-for-integer",
        cell("cases", 3, "age", "12,5"),
        ("cases", "row 3 (U02)"),
        ("age must be a whole number",),
        (),
    ),
    (
        "bad-boolean",
        cell("providers", 4, "optional", "maybe"),
        ("providers", "row 4 (korps)"),
        ("optional must be true or false", "ja/nej"),
        (),
    ),
    (
        "bad-relations-syntax",
        cell("cases", 2, "relations", "klub-syd=3"),
        ("cases", "row 2 (U01)"),
        ("relations must be provider:level", "klub-syd:3"),
        (),
    ),
    (
        "bad-relation-level-text",
        cell("cases", 2, "relations", "klub-syd:high"),
        ("cases", "row 2 (U01)"),
        ("relations level of 'klub-syd'", "1 to 3"),
        (),
    ),
    (
        "relation-level-4",
        cell("cases", 2, "relations", "klub-syd:4"),
        ("cases", "row 2 (U01)"),
        ("relations.klub-syd must be a relation level from 1 to 3",),
        (),
    ),
    (
        "relation-named-twice",
        cell("cases", 2, "relations", "klub-syd:3;klub-syd:1"),
        ("cases", "row 2 (U01)"),
        ("relations names 'klub-syd' twice",),
        (),
    ),
    (
        "missing-sheet-providers",
        drop_sheet("providers"),
        ("providers", None),
        ("is missing", "required"),
        (),
    ),
    ("missing-sheet-cases", drop_sheet("cases"), ("cases", None), ("is missing",), ()),
    ("unknown-sheet", add_sheet("offer"), ("offer", None), ("did you mean 'offers",), ()),
    (
        "duplicate-provider-id",
        cell("providers", 4, "id", "klub-syd"),
        ("providers", "row 4 (klub-syd)"),
        ("id is used by another provider",),
        (),
    ),
    (
        "duplicate-case-id",
        cell("cases", 3, "id", "U01"),
        ("cases", "row 3 (U01)"),
        ("id is used by another case",),
        (),
    ),
    (
        "offer-unknown-provider",
        cell("offers", 2, "provider", "nowhere"),
        ("offers", "row 2 (U04 at nowhere)"),
        ("provider names unknown provider 'nowhere'",),
        (),
    ),
    (
        "offer-unknown-case",
        cell("offers", 2, "case", "U99"),
        ("offers", "row 2 (U99 at ekstern-a)"),
        ("case names unknown case 'U99'",),
        (),
    ),
    (
        "must_provider-unknown",
        cell("cases", 2, "must_provider", "nowhere"),
        ("cases", "row 2 (U01)"),
        ("must_provider names unknown provider 'nowhere'",),
        (),
    ),
    (
        "budget-unknown-provider",
        cell("budgets", 2, "providers", "korps;nowhere"),
        ("budgets", "row 2 (external purchase)"),
        ("providers names unknown provider 'nowhere'",),
        (),
    ),
    (
        "cpr-case-id",
        cell("cases", 2, "id", "010190-1234"),
        ("cases", "row 2:"),
        ("id holds a value that looks like a CPR number",),
        ("010190", "1234"),
    ),
    (
        "cpr-in-number-column",
        cell("cases", 3, "hours_per_week", "0101901234"),
        ("cases", "row 3 (U02)"),
        ("hours_per_week", "CPR"),
        ("0101901234", "101901234"),
    ),
    (
        "cpr-in-list",
        cell("cases", 4, "needs", "autism;311299-0000"),
        ("cases", "row 4 (U03)"),
        ("needs", "CPR"),
        ("311299",),
    ),
    (
        "cpr-column-name",
        cell("cases", 2, "150387-4321", "x"),
        ("cases", "row 1"),
        ("CPR",),
        ("150387", "4321"),
    ),
    (
        "cpr-settings-name",
        cell("settings", 3, "value", "Plan 020202-5678"),
        ("settings", "row 3"),
        ("name", "CPR"),
        ("020202", "5678"),
    ),
    (
        "negative-capacity",
        cell("providers", 2, "capacity_hours", "-1"),
        ("providers", "row 2 (klub-syd)"),
        ("capacity_hours must be >= 0",),
        (),
    ),
    (
        "zero-hours",
        cell("cases", 6, "hours_per_week", "0"),
        ("cases", "row 6 (U05)"),
        ("hours_per_week must be > 0",),
        (),
    ),
    (
        "three-decimals",
        cell("cases", 2, "hours_per_week", "2,345"),
        ("cases", "row 2 (U01)"),
        ("hours_per_week has more than 2 decimals",),
        (),
    ),
    (
        "unknown-kind",
        cell("providers", 2, "kind", "clubhouse"),
        ("providers", "row 2 (klub-syd)"),
        ("kind is not a provider kind",),
        (),
    ),
    (
        "unknown-budget-kind",
        cell("budgets", 2, "kinds", "external;consultants"),
        ("budgets", "row 2 (external purchase)"),
        ("kinds[2] is not a provider kind",),
        (),
    ),
    (
        "bad-status",
        cell("cases", 2, "status", "done"),
        ("cases", "row 2 (U01)"),
        ("status must be one of",),
        (),
    ),
    (
        "missing-required-cell",
        cell("cases", 3, "age", ""),
        ("cases", "row 3 (U02)"),
        ("age is required",),
        (),
    ),
    (
        "missing-required-column",
        drop_column("cases", "age"),
        ("cases", "row 1"),
        ("column 'age' is missing",),
        ("age is required",),
    ),
    (
        "duplicate-column",
        cell("cases", 2, "age ", "14"),
        ("cases", "row 1"),
        ("column 'age' appears twice",),
        (),
    ),
    (
        "value-without-column-name",
        extra_cell("cases", 4),
        ("cases", "row 4"),
        ("column", "has values but no column name"),
        (),
    ),
    (
        "no-providers",
        lambda t: t.__setitem__("providers", t["providers"][:1]),
        ("providers", None),
        ("there are no providers",),
        (),
    ),
    (
        "settings-unknown-key",
        cell("settings", 6, "key", "continuty"),
        ("settings", "row 6"),
        ("'continuty' is not a setting", "did you mean 'continuity'"),
        (),
    ),
    (
        "settings-unknown-kind",
        cell("settings", 9, "key", "kind_penalty.consultants"),
        ("settings", "row 9"),
        ("is not a setting",),
        (),
    ),
    (
        "settings-negative-weight",
        cell("settings", 6, "value", "-15000"),
        ("settings", "row 6"),
        ("continuity must be >= 0",),
        (),
    ),
    (
        "settings-bad-number",
        cell("settings", 4, "value", "many"),
        ("settings", "row 4"),
        ("weeks_per_year must be a number",),
        (),
    ),
    (
        "settings-missing-name",
        drop_row("settings", 3),
        ("settings", None),
        ("name is required",),
        (),
    ),
    (
        "settings-key-twice",
        cell("settings", 10, "key", "continuity"),
        ("settings", "row 10"),
        ("'continuity' appears twice", "rows 6 and 10"),
        (),
    ),
    (
        "settings-wrong-format",
        cell("settings", 2, "value", "allocation-instance/2"),
        ("settings", "row 2"),
        ("format must be one of",),
        (),
    ),
]


def where_line(lines: list[str], fmt: str, sheet: str, row: str | None) -> list[str]:
    name = f"{sheet}.csv" if fmt == "csv" else sheet
    start = f"{name} {row}" if row else f"{name}:"
    return [line for line in lines if line.startswith(start)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize(
    ("mutation", "where", "expected", "absent"),
    [pytest.param(m, w, e, a, id=i) for i, m, w, e, a in BAD],
)
def test_bad_tables_are_refused_naming_sheet_row_and_column(
    tmp_path: Path,
    fmt: str,
    mutation: Callable[[Tables], None],
    where: tuple[str, str | None],
    expected: tuple[str, ...],
    absent: tuple[str, ...],
) -> None:
    tables = tiny_tables()
    mutation(tables)
    path = (
        write_csv_tables(tmp_path / "in", tables)
        if fmt == "csv"
        else write_xlsx_tables(tmp_path / "in.xlsx", tables)
    )
    with pytest.raises(InstanceError) as caught:
        load_any(path)
    lines = caught.value.lines
    assert all("\n" not in line for line in lines)
    located = where_line(lines, fmt, *where)
    assert located, f"no line starts with {where}: {lines}"
    assert any(all(text in line for text in expected) for line in located), lines
    for text in absent:
        assert not any(text in line for line in lines), f"{text!r} in {lines}"


def test_all_problems_are_reported_at_once(tmp_path: Path) -> None:
    tables = tiny_tables()
    cell("cases", 3, "hours_per_week", "0")(tables)
    cell("cases", 4, "age", "x")(tables)
    cell("providers", 4, "optional", "maybe")(tables)
    cell("settings", 6, "value", "-1")(tables)
    with pytest.raises(InstanceError) as caught:
        load_any(write_csv_tables(tmp_path / "in", tables))
    assert caught.value.lines == [
        "providers.csv row 4 (korps): optional must be true or false (or 1/0, ja/nej, yes/no), "
        "not 'maybe'",
        "cases.csv row 3 (U02): hours_per_week must be > 0",
        "cases.csv row 4 (U03): age must be a whole number, not 'x'",
        "settings.csv row 6: continuity must be >= 0",
    ]


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        pytest.param("x.csv", "give the folder", id="one-csv-file"),
        pytest.param("x.xls", "save the workbook as .xlsx", id="old-excel"),
        pytest.param("missing.xlsx", "no such file", id="missing-workbook"),
        pytest.param("missing.json", "no such file", id="missing-json"),
    ],
)
def test_load_any_names_unreadable_paths(tmp_path: Path, name: str, expected: str) -> None:
    if not name.startswith("missing"):
        (tmp_path / name).write_text("id\n", encoding="utf-8")
    with pytest.raises(InstanceError) as caught:
        load_any(tmp_path / name)
    assert expected in caught.value.lines[0]


def test_not_a_workbook_and_not_utf8(tmp_path: Path) -> None:
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip file")
    with pytest.raises(InstanceError) as caught:
        load_any(tmp_path / "broken.xlsx")
    assert "is not an XLSX workbook" in caught.value.lines[0]
    folder = write_csv_tables(tmp_path / "latin1", tiny_tables())
    (folder / "cases.csv").write_bytes("id,age,hours_per_week\nÅ1,12,2\n".encode("latin-1"))
    with pytest.raises(InstanceError) as caught:
        load_any(folder)
    assert caught.value.lines == ["cases.csv: is not UTF-8 text (save it as 'CSV UTF-8')"]


# --------------------------------------------------------------------------------------------
# The template
# --------------------------------------------------------------------------------------------


def test_template_is_tiny_with_a_readme_and_is_what_the_code_builds() -> None:
    assert load_any(TEMPLATE) == load_instance(TINY)
    book = load_workbook(TEMPLATE)
    assert book.sheetnames == ["README", *SHEETS]
    assert workbook_cells(book) == workbook_cells(template_workbook())
    readme = "\n".join(str(c) for row in workbook_cells(book)["README"] for c in row if c)
    for sheet in SHEETS:
        for column in GUIDE[sheet]:
            assert column in readme


# --------------------------------------------------------------------------------------------
# Command line: convert, and solve --out FILE.xlsx
# --------------------------------------------------------------------------------------------


def run_main(capsys: pytest.CaptureFixture[str], *args: str | Path) -> tuple[int, str, str]:
    """The command line in this process (cheaper than a subprocess): code, stdout, stderr."""
    import cli

    capsys.readouterr()
    with pytest.raises(SystemExit) as caught:
        cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return int(caught.value.code or 0), out, err


def test_cli_convert_json_xlsx_csv_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    steps = [TINY, tmp_path / "tiny.xlsx", tmp_path / "tiny-csv", tmp_path / "tiny.json"]
    proc = run_cli("convert", steps[0], steps[1])  # one real process; the rest in this one
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    assert f"wrote {steps[1]}" in proc.stdout
    for src, dst in zip(steps[1:], steps[2:], strict=False):
        code, out, err = run_main(capsys, "convert", src, dst)
        assert code == 0, err
        assert err == ""
        assert f"wrote {dst}" in out
    assert sorted(p.name for p in (tmp_path / "tiny-csv").iterdir()) == sorted(
        f"{s}.csv" for s in SHEETS
    )
    assert load_any(tmp_path / "tiny.json") == load_instance(TINY)
    # nothing but the three outputs: no temporary files or folders are left
    assert sorted(p.name for p in tmp_path.iterdir()) == ["tiny-csv", "tiny.json", "tiny.xlsx"]

    # validate reads the folder and the workbook too
    for source in (tmp_path / "tiny-csv", tmp_path / "tiny.xlsx"):
        code, out, err = run_main(capsys, "validate", source)
        assert code == 0, err
        assert "valid: Tiny example" in out


def test_cli_convert_refusals(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    tables = tiny_tables()
    cell("cases", 3, "hours_per_week", "0")(tables)
    bad = write_xlsx_tables(tmp_path / "bad.xlsx", tables)
    full = tmp_path / "full"
    full.mkdir()
    (full / "cases.csv").write_text("old\n", encoding="utf-8")
    mixed = tmp_path / "mixed"
    mixed.mkdir()
    (mixed / "notes.txt").write_text("keep me\n", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.rglob("*"))

    proc = run_cli("convert", bad, tmp_path / "out.json")
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert proc.stderr == "error: cases row 3 (U02): hours_per_week must be > 0\n"
    runs = [
        (("convert", bad, tmp_path / "out-csv"), "cases row 3 (U02): hours_per_week"),
        (("convert", TINY, full), "--force"),
        (("convert", TINY, mixed, "--force"), "other things than .csv files"),
        (("convert", TINY, tmp_path / "out.txt"), "cannot tell the format"),
        (("convert", TINY, tmp_path / "missing" / "out.xlsx"), "does not exist"),
        (("convert", tmp_path / "nothing.xlsx", tmp_path / "out.json"), "no such file"),
        (("convert", TINY), "Missing argument"),
    ]
    for args, expected in runs:
        code, out, err = run_main(capsys, *args)
        assert code == 2, (args, code, out, err)
        assert err.splitlines() and all(line.startswith("error: ") for line in err.splitlines())
        assert expected in err, (args, err)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before  # nothing written
    assert (full / "cases.csv").read_text(encoding="utf-8") == "old\n"

    code, out, err = run_main(capsys, "convert", TINY, full, "--force")
    assert code == 0, err
    assert load_any(full) == load_instance(TINY)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.xlsx", "full", "mixed"]


@pytest.fixture(scope="module")
def solved(tmp_path_factory: pytest.TempPathFactory) -> tuple[Instance, Path, dict[str, Any]]:
    """tiny.json plus a case nobody can take, solved once to JSON and once to a workbook."""
    folder = tmp_path_factory.mktemp("solved")
    doc = json.loads(TINY.read_text(encoding="utf-8"))
    doc["cases"].append({"id": "U06", "age": 15, "hours_per_week": 2, "needs": ["equine"]})
    source = folder / "input.xlsx"
    instance = validate_instance(json.loads(json.dumps(doc), parse_float=Decimal))
    save_any(instance, source)
    as_json, as_xlsx = folder / "result.json", folder / "result.xlsx"
    with ThreadPoolExecutor(max_workers=2) as pool:
        procs = list(
            pool.map(
                lambda out: run_cli("solve", source, "--out", out, *SOLVE_ARGS), (as_json, as_xlsx)
            )
        )
    for out, proc in zip((as_json, as_xlsx), procs, strict=True):
        assert proc.returncode == 0, proc.stderr
        assert f"wrote {out}" in proc.stdout
    assert sorted(p.name for p in folder.iterdir()) == ["input.xlsx", "result.json", "result.xlsx"]
    return instance, as_xlsx, json.loads(as_json.read_text(encoding="utf-8"))


def test_solve_out_xlsx_has_the_five_sheets_with_the_json_figures(
    solved: tuple[Instance, Path, dict[str, Any]],
) -> None:
    instance, path, result = solved
    cells = workbook_cells(load_workbook(path))
    assert list(cells) == list(RESULT_SHEETS)

    header, *rows = cells["penalties"]
    assert header == ("term", "DKK")
    terms = dict(rows)
    assert terms["objective"] == result["objective"] == TINY_OBJECTIVE + 10_000_000
    assert terms["total_cost"] == result["total_cost"]
    assert terms["bound"] == result["bound"]
    assert terms["status"] == result["status"] == "optimal"
    for name, value in result["penalties"].items():
        assert terms[name] == value

    header, *rows = cells["providers"]
    assert header[:1] == ("id",) and header[-1] == "annual_cost"
    by_id = {p["id"]: p for p in result["providers"]}
    assert [r[0] for r in rows] == list(by_id)
    for pid, name, kind, count, hours_, capacity, use, cost in rows:
        p = by_id[pid]
        assert (name, kind, count, hours_, capacity, cost) == (
            p["name"],
            p["kind"],
            p["cases"],
            p["hours"],
            p["capacity_hours"],
            p["annual_cost"],
        )
        assert use == pytest.approx(p["utilisation"])

    header, *rows = cells["assignments"]
    assert header == (
        "case",
        "provider",
        "provider name",
        "kind",
        "hours",
        "offer",
        "relation level",
        "locked",
    )
    assert [(r[0], r[1], r[4], r[5], r[6], r[7]) for r in rows] == [
        (a["case"], a["provider"], a["hours"], a["offer"], a["relation_level"], a["locked"])
        for a in result["assignments"]
    ]
    names = {p.id: (p.display_name, p.kind) for p in instance.providers}
    assert all((r[2], r[3]) == names[r[1]] for r in rows)

    header, *rows = cells["unassigned"]
    assert header == ("case", "reason")
    assert [tuple(r) for r in rows] == [(u["case"], u["reason"]) for u in result["unassigned"]]
    assert [r[0] for r in rows] == ["U06"]

    header, *rows = cells["budgets"]
    assert header == ("name", "max_annual_cost", "spent", "headroom")
    spent = sum(p["annual_cost"] for p in result["providers"] if p["kind"] == "external")
    assert rows == [("external purchase", 200000, spent, 200000 - spent)]


def test_solve_from_the_template_matches_the_json(tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    proc = run_cli("solve", TEMPLATE, "--out", out, *SOLVE_ARGS)
    assert proc.returncode == 0, proc.stderr
    terms = dict(workbook_cells(load_workbook(out))["penalties"][1:])
    expected = solve(load_instance(TINY), SolveParams(time_limit=10, workers=2, seed=0))
    assert terms["objective"] == float(expected.objective) == TINY_OBJECTIVE
    assert list(tmp_path.iterdir()) == [out]


def test_write_result_xlsx_is_atomic(tmp_path: Path) -> None:
    instance = load_instance(TINY)
    result = solve(instance, SolveParams(time_limit=10, workers=1, seed=0))
    target = tmp_path / "r.xlsx"
    target.write_bytes(b"old")

    class Boom(Exception):
        pass

    def failing_save(self: Any, *args: Any) -> None:
        raise Boom

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("openpyxl.workbook.workbook.Workbook.save", failing_save)
        with pytest.raises(Boom):
            write_result_xlsx(instance, result, target)
    assert target.read_bytes() == b"old"
    write_result_xlsx(instance, result, target)
    assert list(workbook_cells(load_workbook(target))) == list(RESULT_SHEETS)
    assert [p.name for p in tmp_path.iterdir()] == ["r.xlsx"]
