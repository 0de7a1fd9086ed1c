"""Instances as tables: a folder of CSV files or one XLSX workbook, and results as a workbook.

The layout is the end of docs/instance-format.md: sheets (or `<sheet>.csv` files)
`providers`, `cases`, `offers`, `budgets` and `settings`, column names = field names.
Reading turns the rows into the same raw document the JSON loader builds and validates it
with `solver.io.validate_instance`, so every rule of the format applies; each problem is
then named by sheet, row (as the spreadsheet shows it: the header is row 1) and column,
e.g. `cases row 5 (U017): hours_per_week must be > 0`.

Cells: an empty cell (or one holding only spaces) means "not given"; spaces at the start
and end of a cell or of a list item are ignored; lists are `;`-separated; relations are
`provider:level;...`; numbers take a decimal point or a decimal comma; booleans are
true/false, 1/0, ja/nej, yes/no (and Danish Excel's SAND/FALSK). A CPR-like value in any
cell is refused without being repeated. `load_any` / `save_any` dispatch on the path:
a folder (CSV), `.xlsx`, or `.json`.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import io
import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from solver.errors import SECTIONS, InstanceError, record_name
from solver.instance import KINDS, Instance
from solver.io import load_instance, validate_instance, write_atomic
from solver.privacy import looks_like_cpr
from solver.result import PENALTIES, Result, hours, money

if TYPE_CHECKING:  # openpyxl is imported when a workbook is read or written
    from openpyxl import Workbook

# --- the layout -----------------------------------------------------------------------------

TEXT, LIST, RELATIONS, NUMBER, INT, BOOL = "text", "list", "relations", "number", "int", "bool"

#: Column -> cell type, per record sheet, in the spec's field order.
COLUMNS: dict[str, dict[str, str]] = {
    "providers": {
        "id": TEXT,
        "name": TEXT,
        "kind": TEXT,
        "capacity_hours": NUMBER,
        "max_cases": INT,
        "hourly_rate": NUMBER,
        "included_hours": NUMBER,
        "fixed_cost": NUMBER,
        "optional": BOOL,
        "competences": LIST,
        "districts": LIST,
        "min_age": INT,
        "max_age": INT,
        "accepts_new": BOOL,
    },
    "cases": {
        "id": TEXT,
        "age": INT,
        "district": TEXT,
        "hours_per_week": NUMBER,
        "needs": LIST,
        "family": TEXT,
        "current_provider": TEXT,
        "relations": RELATIONS,
        "payer": TEXT,
        "status": TEXT,
        "must_provider": TEXT,
        "forbidden_providers": LIST,
    },
    "offers": {"case": TEXT, "provider": TEXT, "annual_cost": NUMBER, "hours_per_week": NUMBER},
    "budgets": {"name": TEXT, "kinds": LIST, "providers": LIST, "max_annual_cost": NUMBER},
}
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "providers": ("id", "kind", "capacity_hours"),
    "cases": ("id", "age", "hours_per_week"),
    "offers": ("case", "provider", "annual_cost"),
    "budgets": ("name", "max_annual_cost"),
}
TOP_SETTINGS = ("format", "name", "weeks_per_year")
WEIGHT_SETTINGS = ("relation_per_level", "continuity", "family_split", "unassigned")
#: `settings` key -> value type.
SETTINGS: dict[str, str] = {
    "format": TEXT,
    "name": TEXT,
    "weeks_per_year": NUMBER,
    **{key: NUMBER for key in WEIGHT_SETTINGS},
    **{f"kind_penalty.{kind}": NUMBER for kind in KINDS},
}
SHEETS = ("providers", "cases", "offers", "budgets", "settings")
REQUIRED_SHEETS = ("providers", "cases")
README = "README"  # a sheet (or README.csv) the reader skips: notes for people

TRUE_WORDS = frozenset({"true", "1", "ja", "yes", "sand"})
FALSE_WORDS = frozenset({"false", "0", "nej", "no", "falsk"})
_NUMBER = re.compile(r"[+-]?(\d+([.,]\d*)?|[.,]\d+)")
_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")  # what XLSX cannot hold
_CPR_TEXT = (
    "holds a value that looks like a CPR number (a date DDMMYY and four digits); "
    "use pseudonymous ids only"
)


# --- reading --------------------------------------------------------------------------------


@dataclass
class _Table:
    """One sheet as read: header cells and data rows with their spreadsheet row numbers."""

    name: str  # providers, cases, ...
    where: str  # how messages name it: `cases` (XLSX) or `cases.csv` (CSV)
    header: list[Any]
    rows: list[tuple[int, list[Any]]]
    readable: bool = True  # False: the file could not be read (and that is reported)


class _CellError(Exception):
    """A cell that cannot be read as its column's type; the message says why."""


@dataclass
class _Reader:
    """Turns tables into the raw document and names every problem by sheet, row, column."""

    tables: dict[str, _Table]
    csv: bool
    problems: list[tuple[tuple[int, int], str]] = field(default_factory=list)
    # Cells (sheet, row, column) already reported: validation lines about them are dropped.
    # Row None stands for a whole column, column None for a whole sheet.
    bad: set[tuple[str, int | None, str | None]] = field(default_factory=set)
    rows: dict[str, list[tuple[int, str]]] = field(default_factory=dict)  # row numbers, labels
    settings_rows: dict[str, int] = field(default_factory=dict)

    def where(self, sheet: str) -> str:
        return f"{sheet}.csv" if self.csv else sheet

    def problem(self, sheet: str, row: int, text: str) -> None:
        self.problems.append(((SHEETS.index(sheet), row), text))

    # -- the whole document --

    def document(self) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        for sheet in REQUIRED_SHEETS:
            if sheet not in self.tables:
                what = "file is missing from the folder" if self.csv else "sheet is missing"
                self.problem(sheet, 0, f"{self.where(sheet)}: {what} (it is required)")
                self.bad.add((sheet, None, None))
        for table in self.tables.values():
            if not table.readable:
                self.bad.add((table.name, None, None))
        for sheet in COLUMNS:
            table = self.tables.get(sheet)
            raw[sheet] = self._records(table) if table is not None else []
            if sheet not in self.tables:
                self.rows[sheet] = []
        if "settings" in self.tables:
            raw.update(self._settings(self.tables["settings"]))
        return raw

    # -- record sheets --

    def _columns(self, table: _Table) -> list[tuple[int, str]]:
        """Known columns by position; unknown, nameless and repeated ones are problems."""
        sheet, known = table.name, COLUMNS.get(table.name, {"key": TEXT, "value": TEXT})
        width = max([len(table.header), *(len(cells) for _, cells in table.rows)], default=0)
        header = [*table.header, *[None] * (width - len(table.header))]
        columns: list[tuple[int, str]] = []
        seen: dict[str, str] = {}
        for index, cell in enumerate(header):
            letter = get_column_letter(index + 1)
            name = _header_text(cell)
            if name is None:
                used = next((n for n, cells in table.rows if not _empty(_at(cells, index))), None)
                if used is not None:
                    self.problem(
                        sheet,
                        used,
                        f"{table.where} row {used}: column {letter} has values but "
                        "no column name in row 1",
                    )
                continue
            if looks_like_cpr(name):
                self.problem(sheet, 1, f"{table.where} row 1: column {letter} {_CPR_TEXT}")
                continue
            if name not in known:
                close = difflib.get_close_matches(name, list(known), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.problem(
                    sheet,
                    1,
                    f"{table.where} row 1: column '{_show(name)}' is not a field of "
                    f"the format{hint}",
                )
                continue
            if name in seen:
                self.problem(
                    sheet,
                    1,
                    f"{table.where} row 1: column '{name}' appears twice "
                    f"(columns {seen[name]} and {letter})",
                )
                self.bad.add((sheet, None, name))
                continue
            seen[name] = letter
            columns.append((index, name))
        return columns

    def _records(self, table: _Table) -> list[dict[str, Any]]:
        sheet = table.name
        types = COLUMNS[sheet]
        columns = self._columns(table)
        present = {name for _, name in columns}
        used_rows = [
            (n, cells)
            for n, cells in table.rows
            if any(not _empty(_at(cells, index)) for index, _ in columns)
        ]
        if used_rows:
            for name in REQUIRED_COLUMNS[sheet]:
                if name not in present:
                    self.problem(
                        sheet,
                        1,
                        f"{table.where} row 1: column '{name}' is missing (it is required)",
                    )
                    self.bad.add((sheet, None, name))
        records: list[dict[str, Any]] = []
        self.rows[sheet] = []
        for n, cells in used_rows:
            values = {name: _at(cells, index) for index, name in columns}
            label = _label(sheet, values)
            prefix = f"{table.where} row {n}{f' ({label})' if label else ''}: "
            record: dict[str, Any] = {}
            for name, value in values.items():
                if _empty(value):
                    continue
                if _cpr_cell(value):
                    self.problem(sheet, n, f"{prefix}{name} {_CPR_TEXT}")
                    self.bad.add((sheet, n, name))
                    continue
                try:
                    record[name] = _convert(types[name], value)
                except _CellError as exc:
                    self.problem(sheet, n, f"{prefix}{name} {exc}")
                    self.bad.add((sheet, n, name))
            records.append(record)
            self.rows[sheet].append((n, label))
        return records

    # -- settings --

    def _settings(self, table: _Table) -> dict[str, Any]:
        where = table.where
        columns = dict((name, index) for index, name in self._columns(table))
        used_rows = [
            (n, cells)
            for n, cells in table.rows
            if any(not _empty(_at(cells, index)) for index in columns.values())
        ]
        missing = [name for name in ("key", "value") if name not in columns]
        if missing and used_rows:
            for name in missing:
                self.problem("settings", 1, f"{where} row 1: column '{name}' is missing")
            self.bad.add(("settings", None, None))
            return {}
        out: dict[str, Any] = {}
        weights: dict[str, Any] = {}
        for n, cells in used_rows:
            key_cell = _at(cells, columns["key"])
            value = _at(cells, columns["value"])
            if _empty(key_cell):
                if not _empty(value):
                    self.problem("settings", n, f"{where} row {n}: key is empty")
                continue
            if _cpr_cell(key_cell):
                self.problem("settings", n, f"{where} row {n}: key {_CPR_TEXT}")
                continue
            try:
                key = _text(key_cell)
            except _CellError as exc:
                self.problem("settings", n, f"{where} row {n}: key {exc}")
                continue
            if key not in SETTINGS:
                close = difflib.get_close_matches(key, list(SETTINGS), n=1)
                hint = f" (did you mean '{close[0]}'?)" if close else ""
                self.problem(
                    "settings", n, f"{where} row {n}: key '{_show(key)}' is not a setting{hint}"
                )
                continue
            if key in self.settings_rows:
                self.problem(
                    "settings",
                    n,
                    f"{where} row {n}: key '{key}' appears twice "
                    f"(rows {self.settings_rows[key]} and {n})",
                )
                continue
            self.settings_rows[key] = n
            if _empty(value):
                continue
            if _cpr_cell(value):
                self.problem("settings", n, f"{where} row {n}: {key} {_CPR_TEXT}")
                self.bad.add(("settings", n, "value"))
                continue
            try:
                converted = _convert(SETTINGS[key], value)
            except _CellError as exc:
                self.problem("settings", n, f"{where} row {n}: {key} {exc}")
                self.bad.add(("settings", n, "value"))
                continue
            if key in TOP_SETTINGS:
                out[key] = converted
            elif key.startswith("kind_penalty."):
                weights.setdefault("kind_penalty", {})[key.split(".", 1)[1]] = converted
            else:
                weights[key] = converted
        if weights:
            out["weights"] = weights
        return out

    # -- validation lines, named by sheet, row and column --

    def validate(self, raw: dict[str, Any]) -> Instance:
        try:
            instance = validate_instance(raw)
        except InstanceError as exc:
            lines = self._relocate(raw, exc.lines)
        else:
            lines = []
        found = self.problems + lines
        if found:
            raise InstanceError([text for _, text in sorted(found, key=lambda x: x[0])])
        return instance

    def _relocate(self, raw: dict[str, Any], lines: list[str]) -> list[tuple[tuple[int, int], str]]:
        prefixes: dict[str, list[tuple[str, int, str]]] = {}
        for sheet in COLUMNS:
            for index, (n, label) in enumerate(self.rows.get(sheet, [])):
                name, _ = record_name(raw, [sheet, index])
                prefixes.setdefault(f"{name}: ", []).append((sheet, n, label))
                if sheet == "offers":
                    rec = raw["offers"][index]
                    long = f"{name} ({rec.get('case')} at {rec.get('provider')}): "
                    prefixes.setdefault(long, []).append((sheet, n, label))
        ordered = sorted(prefixes, key=len, reverse=True)
        repeats: dict[str, int] = {}
        out: list[tuple[tuple[int, int], str]] = []
        # A missing or unreadable sheet is reported already: not every reference to it.
        knock_on = [
            f"names unknown {SECTIONS[sheet]} "
            for sheet in ("providers", "cases")
            if (sheet, None, None) in self.bad
        ]
        for line in lines:
            if any(text in line for text in knock_on):
                continue
            located = self._relocate_line(line, ordered, prefixes, repeats)
            if located is None:
                out.append(((len(SHEETS), 0), line))
                continue
            sheet, row, column, text = located
            if {(sheet, row, column), (sheet, None, column), (sheet, None, None)} & self.bad:
                continue  # the cell's own problem is already reported
            out.append(((SHEETS.index(sheet), row or 0), text))
        return out

    def _relocate_line(
        self,
        line: str,
        ordered: list[str],
        prefixes: dict[str, list[tuple[str, int, str]]],
        repeats: dict[str, int],
    ) -> tuple[str, int | None, str | None, str] | None:
        if line.startswith("weights: ") or line.startswith("instance: "):
            rest = line.split(": ", 1)[1]
            key = _leading(rest, list(SETTINGS) + list(self.settings_rows))
            if line.startswith("instance: ") and key is None:
                if rest.startswith("providers "):
                    text = f"{self.where('providers')}: there are no providers (one row at least)"
                    return "providers", None, "providers", text
                return None
            if key is None:
                return None
            where = self.where("settings")
            row = self.settings_rows.get(key)
            if row is None:
                return "settings", None, key, f"{where}: {rest} (a row with key '{key}')"
            return "settings", row, "value", f"{where} row {row}: {rest}"
        prefix = next((p for p in ordered if line.startswith(p)), None)
        if prefix is None:
            return None
        rest = line[len(prefix) :]
        candidates = prefixes[prefix]
        sheet = candidates[0][0]
        if len(candidates) > 1 and rest.startswith("id is used by another"):
            repeats[prefix] = repeats.get(prefix, 0) + 1
            candidates = [candidates[min(repeats[prefix], len(candidates) - 1)]]
        column = _leading(rest, list(COLUMNS[sheet]))
        label = candidates[0][2]
        rows = [n for _, n, _ in candidates]
        where = self.where(sheet)
        named = f" ({label})" if label else ""
        if len(rows) == 1:
            return sheet, rows[0], column, f"{where} row {rows[0]}{named}: {rest}"
        listed = ", ".join(map(str, rows))
        return sheet, rows[0], column, f"{where} rows {listed}{named}: {rest}"


def get_column_letter(number: int) -> str:
    """1 -> A, 27 -> AA: a column as a spreadsheet names it."""
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("A") + rest) + letters
    return letters


def _leading(text: str, names: Iterable[str]) -> str | None:
    """The longest name that `text` starts with as a whole field (`needs[2]`, `relations.x`)."""
    best = None
    for name in names:
        if text.startswith(name) and text[len(name) : len(name) + 1] in ("", " ", ".", "["):
            if best is None or len(name) > len(best):
                best = name
    return best


def _label(sheet: str, values: dict[str, Any]) -> str:
    """How a row is named next to its number: its id (a budget's name, an offer's pair)."""

    def plain(name: str) -> str | None:
        value = values.get(name)
        if _empty(value) or _cpr_cell(value):
            return None
        try:
            return _text(value)
        except _CellError:
            return None

    if sheet == "offers":
        case, provider = plain("case"), plain("provider")
        return f"{case} at {provider}" if case and provider else ""
    return plain("name" if sheet == "budgets" else "id") or ""


def _at(cells: Sequence[Any], index: int) -> Any:
    return cells[index] if index < len(cells) else None


def _empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _header_text(cell: Any) -> str | None:
    if _empty(cell):
        return None
    return cell.strip() if isinstance(cell, str) else str(cell)


def _show(text: str) -> str:
    return text if len(text) <= 40 else text[:37] + "..."


def _cpr_cell(value: Any) -> bool:
    if isinstance(value, str):
        return looks_like_cpr(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return looks_like_cpr(_float_text(value) if isinstance(value, float) else str(value))
    return False


def _float_text(value: float) -> str:
    """A spreadsheet number as Excel shows it: at most 15 significant digits."""
    if value.is_integer():
        return str(int(value))
    return format(Decimal(format(value, ".15g")), "f")


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        raise _CellError("must be text, not TRUE/FALSE")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        raise _CellError("holds a date or time; format the cell as text")
    return str(value)


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise _CellError("must be a number, not TRUE/FALSE")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise _CellError("must be a finite number")
        return Decimal(format(value, ".15g"))
    if isinstance(value, dt.date | dt.time | dt.timedelta):
        raise _CellError("must be a number, not a date or time")
    text = str(value).strip()
    if not _NUMBER.fullmatch(text):
        raise _CellError(
            f"must be a number (like 12.5 or 12,5, no thousands separators), not '{_show(text)}'"
        )
    return Decimal(text.replace(",", "."))


def _int(value: Any) -> int:
    if isinstance(value, bool):
        raise _CellError("must be a whole number, not TRUE/FALSE")
    if isinstance(value, int):
        return value
    try:
        number = _number(value)
    except _CellError:
        shown = _text(value) if isinstance(value, str) else str(value)
        raise _CellError(f"must be a whole number, not '{_show(shown)}'") from None
    if number != number.to_integral_value():
        raise _CellError(f"must be a whole number, not {format(number, 'f')}")
    return int(number)


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float) and value in (0, 1):
        return bool(value)
    text = _text(value) if not isinstance(value, int | float) else str(value)
    word = text.casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise _CellError(f"must be true or false (or 1/0, ja/nej, yes/no), not '{_show(text)}'")


def _list(value: Any) -> list[str]:
    return [item.strip() for item in _text(value).split(";") if item.strip()]


def _relations(value: Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in _list(value):
        provider, colon, level = item.rpartition(":")
        provider, level = provider.strip(), level.strip()
        if not colon or not provider:
            raise _CellError(
                "must be provider:level items separated by ';' (like klub-syd:3;familiehuset:1), "
                f"not '{_show(item)}'"
            )
        if not re.fullmatch(r"[+-]?\d+", level):
            raise _CellError(
                f"level of '{_show(provider)}' must be a whole number 1 to 3, not '{_show(level)}'"
            )
        if provider in out:
            raise _CellError(f"names '{_show(provider)}' twice")
        out[provider] = int(level)
    return out


_CONVERT = {TEXT: _text, LIST: _list, RELATIONS: _relations, NUMBER: _number, INT: _int}
_CONVERT[BOOL] = _bool


def _convert(kind: str, value: Any) -> Any:
    return _CONVERT[kind](value)


def tables_to_instance(
    tables: dict[str, _Table], csv_names: bool, problems: Sequence[str] = ()
) -> Instance:
    """Validate the tables as an instance; `problems` found earlier are reported first."""
    reader = _Reader(tables, csv_names)
    reader.problems += [((-1, 0), text) for text in problems]
    raw = reader.document()
    return reader.validate(raw)


def read_csv_folder(folder: str | os.PathLike[str]) -> Instance:
    """Read an instance from a folder holding `providers.csv`, `cases.csv`, ... ."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InstanceError([f"{folder}: no such folder"])
    tables: dict[str, _Table] = {}
    problems: list[str] = []
    for path in sorted(folder.iterdir()):
        if path.suffix.lower() != ".csv" or not path.is_file():
            continue
        if path.name.startswith((".", "~$")):  # hidden files, Excel's lock files
            continue
        stem = path.name[: -len(path.suffix)]
        if stem in SHEETS:
            try:
                tables[stem] = _read_csv(path, stem)
            except InstanceError as exc:
                problems += exc.lines
                tables[stem] = _Table(stem, path.name, [], [], readable=False)
        elif stem.casefold() != README.casefold():
            problems.append(_unknown_sheet(path.name, [f"{s}.csv" for s in SHEETS], "file"))
    return tables_to_instance(tables, csv_names=True, problems=problems)


def _unknown_sheet(name: str, known: list[str], what: str) -> str:
    if looks_like_cpr(name):
        return f"a {what} whose name looks like a CPR number is not part of the format"
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    return (
        f"{_show(name)}: {what} is not part of the format{hint}; the {what}s are "
        f"{', '.join(known)} (and {README} for notes)"
    )


def _read_csv(path: Path, name: str) -> _Table:
    where = path.name
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InstanceError([f"{where}: is not UTF-8 text (save it as 'CSV UTF-8')"]) from None
    except OSError as exc:
        raise InstanceError([f"{where}: cannot be read ({exc.strerror})"]) from None
    first = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first.count) if any(d in first for d in ",;\t") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise InstanceError([f"{where}: is not valid CSV ({exc})"]) from None
    header = rows[0] if rows else []
    return _Table(name, where, header, [(n, row) for n, row in enumerate(rows[1:], start=2)])


def read_xlsx(path: str | os.PathLike[str]) -> Instance:
    """Read an instance from one workbook with sheets `providers`, `cases`, ... ."""
    from openpyxl import load_workbook

    path = Path(path)
    if not path.exists():
        raise InstanceError([f"{path}: no such file"])
    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises many kinds for a bad file
        raise InstanceError(
            [f"{path}: is not an XLSX workbook that can be read ({exc.__class__.__name__})"]
        ) from None
    tables: dict[str, _Table] = {}
    problems: list[str] = []
    try:
        for title in workbook.sheetnames:
            sheet = workbook[title]
            if title in SHEETS and hasattr(sheet, "iter_rows"):
                rows = [list(r) for r in sheet.iter_rows(values_only=True)]
                header = rows[0] if rows else []
                data = [(n, row) for n, row in enumerate(rows[1:], start=2)]
                tables[title] = _Table(title, title, header, data)
            elif title.casefold() != README.casefold():
                problems.append(_unknown_sheet(title, list(SHEETS), "sheet"))
    finally:
        workbook.close()
    return tables_to_instance(tables, csv_names=False, problems=problems)


def load_any(path: str | os.PathLike[str]) -> Instance:
    """Read an instance from a CSV folder, an `.xlsx` workbook or a JSON file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        return read_csv_folder(path)
    if suffix in (".xlsx", ".xlsm"):
        return read_xlsx(path)
    if suffix == ".csv":
        raise InstanceError(
            [
                f"{path}: an instance in CSV is a folder holding providers.csv, cases.csv, "
                "offers.csv, budgets.csv and settings.csv; give the folder"
            ]
        )
    if suffix in (".xls", ".ods"):
        raise InstanceError([f"{path}: save the workbook as .xlsx (Excel workbook) first"])
    return load_instance(path)


# --- writing --------------------------------------------------------------------------------


def instance_tables(instance: Instance) -> dict[str, tuple[list[str], list[list[Any]]]]:
    """The instance as rows of typed cells (str, int, Decimal, bool or None) per sheet.

    Refuses text a table cannot hold: empty text (an empty cell means "not given"), text
    with spaces at either end (the reader drops them) and list items containing `;`.
    """
    problems: list[str] = []
    out: dict[str, tuple[list[str], list[list[Any]]]] = {}
    for sheet, types in COLUMNS.items():
        rows = []
        for index, record in enumerate(getattr(instance, sheet)):
            name = _record_label(sheet, index, record)
            row = []
            for column, kind in types.items():
                value = getattr(record, column)
                row.append(_cell(value, kind, f"{name}: {column}", problems))
            rows.append(row)
        out[sheet] = (list(types), rows)
    settings: list[list[Any]] = [["format", instance.format], ["name", instance.name]]
    _cell(instance.name, TEXT, "instance: name", problems)
    settings.append(["weeks_per_year", instance.weeks_per_year])
    weights = instance.weights
    settings += [[key, getattr(weights, key)] for key in WEIGHT_SETTINGS]
    settings += [[f"kind_penalty.{k}", v] for k, v in weights.kind_penalty.items()]
    out["settings"] = (["key", "value"], settings)
    if problems:
        raise InstanceError(problems)
    return out


def _record_label(sheet: str, index: int, record: Any) -> str:
    """How validation names a record of a valid instance (`case U01`, `offer #2`)."""
    if sheet == "offers":
        return f"offer #{index + 1}"
    return f"{SECTIONS[sheet]} {record.name if sheet == 'budgets' else record.id}"


def _cell(value: Any, kind: str, where: str, problems: list[str]) -> Any:
    if value is None:
        return None
    if kind == LIST:
        for n, item in enumerate(value, start=1):
            _check_text(item, f"{where}[{n}]", problems, separators=";")
        return ";".join(value) or None
    if kind == RELATIONS:
        for key in value:
            _check_text(key, f"{where}.{key}", problems, separators=";")
        return ";".join(f"{k}:{v}" for k, v in value.items()) or None
    if kind == TEXT:
        _check_text(value, where, problems)
    return value


def _check_text(value: str, where: str, problems: list[str], separators: str = "") -> None:
    if not value.strip():
        problems.append(f"{where} is empty text, which a table cannot hold")
    elif value != value.strip():
        problems.append(f"{where} has spaces at the start or end, which a table drops")
    elif any(s in value for s in separators):
        problems.append(f"{where} holds ';', which separates list items in a table")
    elif _ILLEGAL.search(value):
        problems.append(f"{where} holds control characters, which a table cannot hold")


def _csv_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return str(value)


def _decimal_text(value: Decimal) -> str:
    if value == value.to_integral_value():
        return str(int(value))
    return format(value.normalize(), "f")


def write_csv_folder(
    instance: Instance, folder: str | os.PathLike[str], force: bool = False
) -> None:
    """Write the five CSV files into a temporary sibling folder, then rename it into place.

    An existing folder is replaced only when it is empty, or with `force` when it holds
    nothing but `.csv` files; otherwise nothing is written.
    """
    folder = Path(folder)
    tables = instance_tables(instance)
    problem = folder_problem(folder, force)
    if problem:
        raise InstanceError([problem])
    parent = folder.parent
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=parent))
    try:
        for sheet in SHEETS:
            header, rows = tables[sheet]
            buffer = io.StringIO(newline="")
            writer = csv.writer(buffer, lineterminator="\r\n")
            writer.writerow(header)
            writer.writerows([[_csv_text(v) for v in row] for row in rows])
            with open(tmp / f"{sheet}.csv", "wb") as handle:
                handle.write(buffer.getvalue().encode("utf-8-sig"))
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o755)
        if folder.exists() and any(folder.iterdir()):
            old = parent / f".{folder.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(folder, old)
            try:
                os.rename(tmp, folder)
            except BaseException:
                os.rename(old, folder)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            if folder.exists():
                folder.rmdir()
            os.rename(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def folder_problem(folder: Path, force: bool) -> str | None:
    """Why a CSV instance may not be written at `folder`, or None."""
    if not folder.parent.is_dir():
        return f"{folder}: folder {folder.parent} does not exist"
    if not folder.exists():
        return None
    if not folder.is_dir():
        return f"{folder}: is a file, not a folder"
    entries = list(folder.iterdir())
    if not entries:
        return None
    others = [p.name for p in entries if not (p.is_file() and p.suffix.lower() == ".csv")]
    if others:
        return f"{folder}: the folder holds other things than .csv files; it is not replaced"
    if not force:
        return f"{folder}: the folder is not empty (--force replaces it)"
    return None


def output_format(path: str | os.PathLike[str]) -> str:
    """`json`, `xlsx` or `csv` (a folder), from the path; InstanceError if unclear."""
    path = Path(path)
    suffix = path.suffix.lower()
    if path.is_dir():
        return "csv"
    if suffix == ".json":
        return "json"
    if suffix == ".xlsx":
        return "xlsx"
    if suffix == "":
        return "csv"
    raise InstanceError(
        [f"{path}: cannot tell the format from the name (use .json, .xlsx, or a folder for CSV)"]
    )


def save_any(instance: Instance, path: str | os.PathLike[str], force: bool = False) -> None:
    """Write the instance as JSON, an XLSX workbook or a CSV folder, chosen by the path."""
    path = Path(path)
    kind = output_format(path)
    if kind == "csv":
        write_csv_folder(instance, path, force=force)
        return
    if not path.parent.is_dir():
        raise InstanceError([f"{path}: folder {path.parent} does not exist"])
    if kind == "json":
        write_atomic(path, instance_json(instance))
    else:
        write_atomic(path, _workbook_bytes(instance_workbook(instance)))


# -- JSON --


def instance_json(instance: Instance) -> str:
    """The spec's JSON with the fields that differ from their defaults, one record a line."""
    dumped = instance.model_dump(exclude_defaults=True)
    lines = ["{"]
    items: list[tuple[str, Any]] = [("format", instance.format), ("name", instance.name)]
    items += [(k, v) for k, v in dumped.items() if k not in ("format", "name")]
    for n, (key, value) in enumerate(items):
        comma = "," if n < len(items) - 1 else ""
        if isinstance(value, list | tuple) and value:
            lines.append(f"  {json.dumps(key)}: [")
            lines += [f"    {_compact(v)}," for v in value[:-1]]
            lines.append(f"    {_compact(value[-1])}")
            lines.append(f"  ]{comma}")
        else:
            lines.append(f"  {json.dumps(key)}: {_compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _compact(value: Any) -> str:
    if isinstance(value, dict):
        inner = ", ".join(f"{_compact(str(k))}: {_compact(v)}" for k, v in value.items())
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_compact(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return _decimal_text(value)
    return json.dumps(value, ensure_ascii=False)


# -- XLSX --

_DKK = "#,##0.00"

#: What each column means, for the README sheet (short, plain words).
GUIDE: dict[str, dict[str, str]] = {
    "providers": {
        "id": "Required. Short unique code, e.g. klub-syd; the other sheets use it.",
        "name": "Name shown in reports. Empty: the id.",
        "kind": "Required. club, family_house, internal_corps, internal_purchase, external "
        "or labour_market.",
        "capacity_hours": "Required. Hours per week the provider can give in total.",
        "max_cases": "Most cases the provider can take. Empty: no limit.",
        "hourly_rate": "DKK per hour for the hours above included_hours. Empty: 0.",
        "included_hours": "Hours per week already paid for by fixed_cost. Empty: 0.",
        "fixed_cost": "DKK per year for the provider as such (base grant, permanent staff). "
        "Empty: 0.",
        "optional": "true: fixed_cost is paid only if the provider gets a case (it can be "
        "closed). Empty: false.",
        "competences": "Needs the provider can meet, separated by ; (autism;psychiatry).",
        "districts": "Districts served, separated by ;. Empty: all districts.",
        "min_age": "Youngest age served (whole years). Empty: no limit.",
        "max_age": "Oldest age served (whole years). Empty: no limit.",
        "accepts_new": "false: keeps only the cases it holds today. Empty: true.",
    },
    "cases": {
        "id": "Required. Pseudonym such as U017. Never a CPR number or a name.",
        "age": "Required. Age in whole years, 0 to 30.",
        "district": "Where the young person lives.",
        "hours_per_week": "Required. Hours per week granted by the visitation.",
        "needs": "Needs the provider must meet, separated by ; (autism;crime).",
        "family": "Same value on siblings / one family, e.g. F1.",
        "current_provider": "Provider id of who holds the case today.",
        "relations": "Known adults: provider:level separated by ; (klub-syd:3;familiehuset:1); "
        "3 = strongest.",
        "payer": "Municipality or account that pays. Empty: default.",
        "status": "active or closing (closing cases are not placed). Empty: active.",
        "must_provider": "Provider id the committee has locked the case to.",
        "forbidden_providers": "Provider ids never to use for this case, separated by ;.",
    },
    "offers": {
        "case": "Required. Case id.",
        "provider": "Required. Provider id.",
        "annual_cost": "Required. Price in DKK per year for this case at this provider.",
        "hours_per_week": "Hours this provider would use. Empty: the case's hours_per_week.",
    },
    "budgets": {
        "name": "Required. Name of the budget, e.g. external purchase.",
        "kinds": "Provider kinds that count, separated by ; (external;labour_market).",
        "providers": "Provider ids that count too, separated by ;.",
        "max_annual_cost": "Required. Cap in DKK per year on the counted providers' cost.",
    },
    "settings": {
        "name": "Required. Name of the instance, shown in reports.",
        "format": "allocation-instance/1 (may be left out).",
        "weeks_per_year": "Weeks a contact person works per year. Empty: 46.",
        "relation_per_level": "DKK per level of a known adult that is given up. Empty: 25000.",
        "continuity": "DKK when a case leaves its current provider. Empty: 15000.",
        "family_split": "DKK per extra provider used inside one family. Empty: 20000.",
        "unassigned": "DKK per case left without a provider. Empty: 10000000.",
        "kind_penalty.external": "DKK per case placed at a provider of that kind; one row per "
        "kind (kind_penalty.club, ...). Empty: 0.",
    },
}
INTRO = (
    "How to fill in this workbook",
    "One sheet per table: providers, cases, offers, budgets, settings. Row 1 holds the column "
    "names; keep them as they are. Every further row is one record: replace the example rows "
    "with your own. Offers and budgets may stay empty.",
    "An empty cell means 'not given' (the default below). Lists: items separated by ; "
    "(autism;psychiatry). Relations: provider:level separated by ; (klub-syd:3;familiehuset:1).",
    "Numbers: 12.5 or 12,5, no thousands separators. Money is DKK per year, hours are hours "
    "per week. Yes/no columns: true/false, ja/nej, yes/no or 1/0.",
    "Case ids must be pseudonyms, never a CPR number or a name: anything that looks like a "
    "CPR number is refused.",
    "Check the workbook: allocate validate FILE.xlsx. Solve: allocate solve FILE.xlsx "
    "--out result.xlsx. This README sheet is not read (keep notes here: other sheets are "
    "refused, so that a misspelt sheet name cannot drop data).",
)


def instance_workbook(instance: Instance, readme: bool = True) -> Workbook:
    """The instance as a workbook: the five sheets (and a README sheet explaining them)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    tables = instance_tables(instance)
    workbook = Workbook()
    workbook.remove(workbook.active)
    if readme:
        _readme_sheet(workbook)
    for sheet in SHEETS:
        header, rows = tables[sheet]
        ws = workbook.create_sheet(sheet)
        ws.append(header)
        for row in rows:
            ws.append([_xlsx_value(v) for v in row])
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
        types = COLUMNS.get(sheet, {"key": TEXT, "value": TEXT})
        for index, name in enumerate(header, start=1):
            letter = get_column_letter(index)
            longest = max([len(name), *(len(_csv_text(r[index - 1])) for r in rows)])
            ws.column_dimensions[letter].width = min(60, max(10, longest + 2))
            if types[name] in (TEXT, LIST, RELATIONS):
                ws.column_dimensions[letter].number_format = "@"  # no dates from "1-3"
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # text, never a formula
        _dropdowns(ws, sheet, header)
    return workbook


def _xlsx_value(value: Any) -> Any:
    """Numbers as spreadsheet numbers when a double holds them exactly, else as text."""
    if isinstance(value, Decimal):
        if value == value.to_integral_value() and abs(value) < 10**15:
            return int(value)
        as_float = float(value)
        if Decimal(format(as_float, ".15g")) == value:
            return as_float
        return _decimal_text(value)
    return value


def _dropdowns(ws: Any, sheet: str, header: list[str]) -> None:
    from openpyxl.worksheet.datavalidation import DataValidation

    lists = {"kind": KINDS, "status": ("active", "closing"), "optional": ("true", "false")}
    lists["accepts_new"] = ("true", "false")
    for index, name in enumerate(header, start=1):
        if sheet in ("providers", "cases") and name in lists:
            letter = get_column_letter(index)
            strict = name in ("kind", "status")
            check = DataValidation(
                type="list",
                formula1='"' + ",".join(lists[name]) + '"',
                allow_blank=True,
                showErrorMessage=strict,
            )
            check.add(f"{letter}2:{letter}1000")
            ws.add_data_validation(check)


def _readme_sheet(workbook: Workbook) -> None:
    from openpyxl.styles import Alignment, Font

    wrap = Alignment(wrap_text=True, vertical="top")
    ws = workbook.create_sheet(README)
    ws.column_dimensions["A"].width = 12
    ws.column_dimensions["B"].width = 24
    ws.column_dimensions["C"].width = 90
    ws.append([INTRO[0]])
    ws["A1"].font = Font(bold=True, size=14)
    for text in INTRO[1:]:
        ws.append([None, None, text])
        ws.cell(ws.max_row, 3).alignment = wrap
    ws.append([])
    ws.append(["sheet", "column", "meaning"])
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    for sheet in SHEETS:
        for column, text in GUIDE[sheet].items():
            ws.append([sheet, column, text])
            ws.cell(ws.max_row, 3).alignment = wrap


def _workbook_bytes(workbook: Workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def template_workbook(example: Instance | None = None) -> Workbook:
    """The workbook a committee member fills in: instances/tiny.json with the README sheet."""
    if example is None:
        example = load_instance(Path(__file__).resolve().parent.parent / "instances" / "tiny.json")
    return instance_workbook(example, readme=True)


def write_template(path: str | os.PathLike[str]) -> None:
    write_atomic(path, _workbook_bytes(template_workbook()))


def workbook_cells(workbook: Workbook) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's cell values, row by row (to compare workbooks whatever their bytes)."""
    return {ws.title: list(ws.iter_rows(values_only=True)) for ws in workbook.worksheets}


# -- results --

RESULT_SHEETS = ("assignments", "providers", "budgets", "budget table", "unassigned", "penalties")


def result_workbook(instance: Instance, result: Result) -> Workbook:
    """A solved allocation as sheets assignments, providers, budgets, budget table (cost by
    kind and payer against the baseline, saving), unassigned, penalties."""
    from openpyxl import Workbook

    providers = {p.id: p for p in instance.providers}
    workbook = Workbook()
    workbook.remove(workbook.active)

    def sheet(name: str, header: list[str], rows: list[list[Any]], formats: dict[int, str]):
        add_sheet(workbook, name, header, rows, formats)

    sheet(
        "assignments",
        ["case", "provider", "provider name", "kind", "hours", "offer", "relation level", "locked"],
        [
            [
                a["case"],
                a["provider"],
                providers[a["provider"]].display_name,
                providers[a["provider"]].kind,
                a["hours"],
                a["offer"],
                a["relation_level"],
                a["locked"],
            ]
            for a in result.assignments
        ],
        {},
    )
    sheet(
        "providers",
        ["id", "name", "kind", "cases", "hours", "capacity_hours", "utilisation", "annual_cost"],
        [
            [
                p.id,
                p.name,
                p.kind,
                p.cases,
                hours(p.hours),
                hours(p.capacity_hours),
                None if p.utilisation is None else round(p.utilisation, 4),
                money(p.annual_cost),
            ]
            for p in result.providers
        ],
        {7: "0.0%", 8: _DKK},
    )
    cost = {p.id: p.annual_cost for p in result.providers}
    budget_rows = []
    for b in instance.budgets:
        counted = [p.id for p in instance.providers if p.kind in b.kinds or p.id in b.providers]
        spent = sum((cost.get(pid, Fraction(0)) for pid in counted), Fraction(0))
        cap = Fraction(b.max_annual_cost)
        budget_rows.append([b.name, money(cap), money(spent), money(cap - spent)])
    sheet(
        "budgets",
        ["name", "max_annual_cost", "spent", "headroom"],
        budget_rows,
        {2: _DKK, 3: _DKK, 4: _DKK},
    )
    from solver.budget import NOT_ATTRIBUTED, budget_table

    table = budget_table(instance, {a["case"]: a["provider"] for a in result.assignments})
    rows: list[list[Any]] = [
        [r["label"], r["baseline"], r["proposal"], r["change"]] for r in table["by_kind"]
    ]
    total = table["total"]
    rows.append(
        ["total", total["baseline"], total["proposal"], total["proposal"] - total["baseline"]]
    )
    rows.append(["saving", None, table["saving"], None])
    rows += [
        [
            f"payer {r['payer']}" if r["payer"] else NOT_ATTRIBUTED,
            r["baseline"],
            r["proposal"],
            None,
        ]
        for r in table["by_payer"]
    ]
    sheet("budget table", ["", "baseline", "proposal", "change"], rows, {2: _DKK, 3: _DKK, 4: _DKK})
    sheet(
        "unassigned", ["case", "reason"], [[u["case"], u["reason"]] for u in result.unassigned], {}
    )
    penalty_rows: list[list[Any]] = [[k, money(result.penalties.get(k))] for k in PENALTIES]
    penalty_rows += [
        ["total_cost", money(result.total_cost)],
        ["objective", money(result.objective)],
        ["bound", money(result.bound)],
        ["status", result.status],
    ]
    sheet("penalties", ["term", "DKK"], penalty_rows, {2: _DKK})
    return workbook


def add_sheet(
    workbook: Workbook,
    name: str,
    header: list[str],
    rows: list[list[Any]],
    formats: dict[int, str],
) -> Any:
    """A sheet with a bold, frozen header, fitted column widths and number formats by column
    (1-based); text starting with '=' stays text, never a formula."""
    from openpyxl.styles import Font

    ws = workbook.create_sheet(name)
    ws.append(header)
    for row in rows:
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    ws.freeze_panes = "A2"
    for index, name_ in enumerate(header, start=1):
        letter = get_column_letter(index)
        longest = max([len(name_), *(len(str(r[index - 1] or "")) for r in rows)])
        ws.column_dimensions[letter].width = min(80, max(10, longest + 2))
        if index in formats:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = formats[index]
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"
    return ws


def write_result_xlsx(instance: Instance, result: Result, path: str | os.PathLike[str]) -> None:
    """Write the result workbook atomically (temporary file in the same folder, then rename)."""
    write_atomic(path, _workbook_bytes(result_workbook(instance, result)))
