"""The command line, run as a real subprocess: exit codes, one-line errors, files on disk.

The contract under test (cli.py, docs/instance-format.md):
- exit 0 done, 2 invalid input or usage, 3 proven infeasible, 4 `check` found violations;
- errors are one line each on stderr, starting with ``error: ``, never a traceback;
- an invalid instance is refused with a message naming the record and the field, and a
  CPR-like value is reported by where it is, never repeated;
- nothing is written at ``--out`` unless the command succeeds, and an existing file is never
  half-overwritten.

Bad inputs are built by mutating a copy of instances/tiny.json.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from varying import VARYING, without_varying

from solver import load_instance
from solver.checker import check

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny.json"
TINY_OBJECTIVE = 798800


def run_cli(*args: str | Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cli ARGS`` from the project root and capture its text output."""
    return subprocess.run(
        [sys.executable, "-m", "cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        errors="replace",
        timeout=timeout,
    )


def base_instance() -> dict[str, Any]:
    return json.loads(TINY.read_text(encoding="utf-8"))


def write_instance(path: Path, document: dict[str, Any] | str | bytes) -> Path:
    if isinstance(document, bytes):
        path.write_bytes(document)
    elif isinstance(document, str):
        path.write_text(document, encoding="utf-8")
    else:
        path.write_text(json.dumps(document, indent=1), encoding="utf-8")
    return path


def assert_error_lines(proc: subprocess.CompletedProcess[str]) -> None:
    """No traceback, and every stderr line is a one-line ``error: `` message."""
    assert "Traceback" not in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stdout, proc.stdout
    lines = proc.stderr.splitlines()
    assert lines, "expected an error message on stderr"
    for line in lines:
        assert line.startswith("error: "), f"stderr line without 'error: ': {line!r}"


# --------------------------------------------------------------------------------------------
# Catalogue of invalid instances.
#
# Each entry: (id, mutation, expected substrings, substrings that must not appear).
# A mutation takes a fresh copy of tiny.json and either changes it in place (returns None),
# returns a replacement document (dict, or str/bytes written as is), or returns MISSING to
# leave the file unwritten. Expected substrings are searched in stderr with the instance
# path replaced by "<file>", so the tmp folder's name cannot satisfy them by accident.
# The runs (`solve INSTANCE --out FOLDER/out.json`) are started concurrently by the
# `refusals` fixture, only for the selected cases; each parametrised test checks its own.
# --------------------------------------------------------------------------------------------

MISSING = object()
FILE = "<file>"
Mutation = Callable[[dict[str, Any]], Any]


def setter(section: str | None, index: int | None, field: str, value: Any) -> Mutation:
    """Set one field of a record (``section[index]``, a top-level dict, or the top level)."""

    def mutate(doc: dict[str, Any]) -> None:
        target = doc if section is None else doc[section]
        if index is not None:
            target = target[index]
        target[field] = copy.deepcopy(value)

    return mutate


def deleter(section: str | None, index: int | None, field: str) -> Mutation:
    def mutate(doc: dict[str, Any]) -> None:
        target = doc if section is None else doc[section]
        if index is not None:
            target = target[index]
        del target[field]

    return mutate


def text_edit(old: str, new: str) -> Mutation:
    """Edit the compact JSON text of tiny.json (for what json.dumps cannot produce)."""

    def mutate(doc: dict[str, Any]) -> str:
        text = json.dumps(doc)
        assert old in text, f"{old!r} not in the base instance text"
        return text.replace(old, new, 1)

    return mutate


def case(n: int, field: str, value: Any) -> Mutation:
    return setter("cases", n, field, value)


def provider(n: int, field: str, value: Any) -> Mutation:
    return setter("providers", n, field, value)


def append_offer(doc: dict[str, Any]) -> None:
    doc["offers"].append(copy.deepcopy(doc["offers"][0]))


def duplicate_provider_id(doc: dict[str, Any]) -> None:
    doc["providers"][1]["id"] = "klub-syd"
    doc["cases"][2]["relations"] = {}  # keep the error list to the one rule under test


# (U01 is 14 in Syd; U02 12; U03 needs autism; U05 is closing; klub-syd is providers[0],
# korps providers[2] and optional; the one offer is U04 at ekstern-a; one budget.)
CATALOGUE: list[tuple[str, Mutation, tuple[str, ...], tuple[str, ...]]] = [
    # unknown fields
    (
        "typo-must_providr",
        case(0, "must_providr", "korps"),
        ("case U01", "must_providr", "must_provider"),
        (),
    ),
    (
        "unknown-top-level-field",
        setter(None, None, "deadline", "2025-01-01"),
        ("instance", "deadline"),
        (),
    ),
    (
        "unknown-weights-field",
        setter("weights", None, "continuty", 1),
        ("weights", "continuty"),
        (),
    ),
    # the file as a whole
    (
        "duplicate-key-in-case",
        text_edit('"id": "U02", "age": 12', '"id": "U02", "age": 12, "age": 13'),
        ("U02", "age", "twice"),
        (),
    ),
    (
        "duplicate-key-before-id",
        text_edit('"id": "U02", "age": 12', '"age": 13, "age": 12, "id": "U02"'),
        ("U02", "age", "twice"),
        (),
    ),
    (
        "duplicate-key-in-weights",
        text_edit(
            '"weights": {"kind_penalty"',
            '"weights": {"continuity": 1, "continuity": 2, "kind_penalty"',
        ),
        ("weights", "continuity", "twice"),
        (),
    ),
    (
        "duplicate-key-top-level",
        text_edit('"weeks_per_year": 46', '"weeks_per_year": 46, "weeks_per_year": 47'),
        ("instance", "weeks_per_year", "twice"),
        (),
    ),
    ("invalid-json-syntax", text_edit('"offers": [', '"offers": [,'), (FILE, "JSON", "line"), ()),
    ("not-utf8", lambda doc: b'{"name": "Tiny \xe6\xf8\xe5"}', (FILE, "UTF-8"), ()),
    ("file-not-found", lambda doc: MISSING, (FILE, "no such file"), ()),
    ("top-level-list", lambda doc: [doc], (FILE, "object"), ()),
    ("empty-file", lambda doc: "", (FILE, "JSON"), ()),
    (
        "format-version-2",
        setter(None, None, "format", "allocation-instance/2"),
        ("instance", "format"),
        (),
    ),
    # missing required fields
    ("missing-provider-kind", deleter("providers", 0, "kind"), ("provider klub-syd", "kind"), ()),
    (
        "missing-provider-capacity_hours",
        deleter("providers", 0, "capacity_hours"),
        ("provider klub-syd", "capacity_hours"),
        (),
    ),
    ("missing-case-age", deleter("cases", 0, "age"), ("case U01", "age"), ()),
    (
        "missing-case-hours",
        deleter("cases", 0, "hours_per_week"),
        ("case U01", "hours_per_week"),
        (),
    ),
    (
        "missing-offer-annual_cost",
        deleter("offers", 0, "annual_cost"),
        ("offer #1", "annual_cost"),
        (),
    ),
    (
        "missing-budget-max_annual_cost",
        deleter("budgets", 0, "max_annual_cost"),
        ("budget external purchase", "max_annual_cost"),
        (),
    ),
    ("missing-instance-name", deleter(None, None, "name"), ("instance", "name"), ()),
    ("empty-providers", setter(None, None, "providers", []), ("instance", "providers"), ()),
    # wrong types
    ("age-string", case(1, "age", "12"), ("case U02", "age"), ()),
    ("age-fraction", case(1, "age", 12.5), ("case U02", "age"), ()),
    ("optional-string", provider(2, "optional", "yes"), ("provider korps", "optional"), ()),
    ("needs-string", case(2, "needs", "autism"), ("case U03", "needs"), ()),
    (
        "capacity-string",
        provider(0, "capacity_hours", "10"),
        ("provider klub-syd", "capacity_hours"),
        (),
    ),
    ("hours-bool", case(0, "hours_per_week", True), ("case U01", "hours_per_week"), ()),
    # signs and ranges
    (
        "negative-capacity_hours",
        provider(0, "capacity_hours", -1),
        ("provider klub-syd", "capacity_hours"),
        (),
    ),
    (
        "negative-hourly_rate",
        provider(0, "hourly_rate", -300),
        ("provider klub-syd", "hourly_rate"),
        (),
    ),
    (
        "negative-fixed_cost",
        provider(1, "fixed_cost", -1),
        ("provider familiehuset", "fixed_cost"),
        (),
    ),
    (
        "negative-annual_cost",
        setter("offers", 0, "annual_cost", -95000),
        ("offer #1", "annual_cost"),
        (),
    ),
    (
        "negative-max_annual_cost",
        setter("budgets", 0, "max_annual_cost", -1),
        ("budget external purchase", "max_annual_cost"),
        (),
    ),
    ("negative-max_cases", provider(0, "max_cases", -1), ("provider klub-syd", "max_cases"), ()),
    (
        "negative-weight",
        setter("weights", None, "continuity", -15000),
        ("weights", "continuity"),
        (),
    ),
    ("zero-case-hours", case(0, "hours_per_week", 0), ("case U01", "hours_per_week"), ()),
    (
        "zero-weeks_per_year",
        setter(None, None, "weeks_per_year", 0),
        ("instance", "weeks_per_year"),
        (),
    ),
    (
        "zero-offer-hours",
        setter("offers", 0, "hours_per_week", 0),
        ("offer #1", "hours_per_week"),
        (),
    ),
    (
        "nan-literal",
        text_edit('"capacity_hours": 10', '"capacity_hours": NaN'),
        ("provider klub-syd", "capacity_hours"),
        (),
    ),
    (
        "infinity-literal",
        text_edit('"capacity_hours": 10', '"capacity_hours": Infinity'),
        ("provider klub-syd", "capacity_hours"),
        (),
    ),
    ("age-31", case(0, "age", 31), ("case U01", "age"), ()),
    ("age-minus-1", case(0, "age", -1), ("case U01", "age"), ()),
    # decimals
    (
        "hours-3-decimals",
        case(0, "hours_per_week", 2.345),
        ("case U01", "hours_per_week", "decimals"),
        (),
    ),
    (
        "rate-3-decimals",
        provider(0, "hourly_rate", 1.001),
        ("provider klub-syd", "hourly_rate", "decimals"),
        (),
    ),
    # duplicates
    ("duplicate-provider-id", duplicate_provider_id, ("provider klub-syd", "id"), ()),
    ("duplicate-case-id", case(1, "id", "U01"), ("case U01", "id"), ()),
    ("two-offers-one-pair", append_offer, ("offer #2", "provider"), ()),
    # kinds
    ("unknown-provider-kind", provider(0, "kind", "clubhouse"), ("provider klub-syd", "kind"), ()),
    (
        "unknown-budget-kind",
        setter("budgets", 0, "kinds", ["external", "consultants"]),
        ("budget external purchase", "kinds"),
        (),
    ),
    (
        "unknown-kind_penalty-kind",
        setter("weights", None, "kind_penalty", {"consultants": 5000}),
        ("weights", "kind_penalty"),
        (),
    ),
    # references to unknown ids
    ("offer-unknown-case", setter("offers", 0, "case", "U99"), ("offer #1", "case", "U99"), ()),
    (
        "offer-unknown-provider",
        setter("offers", 0, "provider", "nowhere"),
        ("offer #1", "provider", "nowhere"),
        (),
    ),
    (
        "relations-unknown-provider",
        case(0, "relations", {"nowhere": 2}),
        ("case U01", "relations", "nowhere"),
        (),
    ),
    (
        "must_provider-unknown",
        case(0, "must_provider", "nowhere"),
        ("case U01", "must_provider", "nowhere"),
        (),
    ),
    (
        "forbidden-unknown",
        case(0, "forbidden_providers", ["korps", "nowhere"]),
        ("case U01", "forbidden_providers", "nowhere"),
        (),
    ),
    (
        "budget-unknown-provider",
        setter("budgets", 0, "providers", ["nowhere"]),
        ("budget external purchase", "providers", "nowhere"),
        (),
    ),
    # relation levels
    ("relation-level-0", case(0, "relations", {"klub-syd": 0}), ("case U01", "relations"), ()),
    ("relation-level-4", case(0, "relations", {"klub-syd": 4}), ("case U01", "relations"), ()),
    # CPR-like values: say where, never what
    (
        "cpr-case-id-dash",
        case(0, "id", "010190-1234"),
        ("CPR", "case #1", "id"),
        ("1234", "010190"),
    ),
    (
        "cpr-case-id-plain",
        case(0, "id", "0101901234"),
        ("CPR", "case #1", "id"),
        ("0101901234", "010190", "1234"),
    ),
    (
        "cpr-family",
        case(0, "family", "x 311299-0000 y"),
        ("CPR", "case U01", "family"),
        ("311299",),
    ),
    (
        "cpr-district",
        case(1, "district", "150387-4321"),
        ("CPR", "case U02", "district"),
        ("150387", "4321"),
    ),
    (
        "cpr-relations-key",
        case(0, "relations", {"020202-5678": 3}),
        ("CPR", "case U01", "relations"),
        ("020202", "5678"),
    ),
    (
        "cpr-provider-name",
        provider(0, "name", "Klub 2412991111"),
        ("CPR", "provider klub-syd", "name"),
        ("241299", "1111"),
    ),
    # closing cases are validated as strictly as active ones
    ("closing-case-zero-hours", case(4, "hours_per_week", 0), ("case U05", "hours_per_week"), ()),
]


@dataclass
class Refusal:
    instance: Path
    out: Path
    proc: subprocess.CompletedProcess[str]


def run_refused(folder: Path, mutation: Mutation) -> Refusal:
    """Write the mutated instance into `folder` and run ``solve`` on it."""
    doc = base_instance()
    replaced = mutation(doc)
    document = doc if replaced is None else replaced
    instance = folder / "input.json"
    if document is not MISSING:
        if isinstance(document, list):
            document = json.dumps(document)
        write_instance(instance, document)
    out = folder / "out.json"
    proc = run_cli("solve", instance, "--out", out, "--time-limit", "5", "--workers", "1")
    return Refusal(instance, out, proc)


@pytest.fixture(scope="module")
def refusals(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Refusal]:
    """Run the selected catalogue cases concurrently (each run is ~1 s of imports)."""
    selected = [
        item.callspec.id
        for item in request.session.items
        if getattr(item, "originalname", None) == "test_invalid_instance_is_refused"
    ]
    mutations = {i: m for i, m, _, _ in CATALOGUE}
    with ThreadPoolExecutor(max_workers=max(2, os.cpu_count() or 1)) as pool:
        futures = {
            i: pool.submit(run_refused, tmp_path_factory.mktemp(i), mutations[i]) for i in selected
        }
        return {i: future.result() for i, future in futures.items()}


@pytest.mark.parametrize(
    ("case_id", "expected", "absent"),
    [pytest.param(i, e, a, id=i) for i, _, e, a in CATALOGUE],
)
def test_invalid_instance_is_refused(
    refusals: dict[str, Refusal], case_id: str, expected: tuple[str, ...], absent: tuple[str, ...]
) -> None:
    run = refusals[case_id]
    proc = run.proc

    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert_error_lines(proc)
    message = proc.stderr.replace(str(run.instance), FILE)
    for text in expected:
        assert text in message, f"{text!r} not in stderr: {proc.stderr!r}"
    for text in absent:
        assert text not in proc.stdout, f"{text!r} repeated on stdout: {proc.stdout!r}"
        assert text not in message, f"{text!r} repeated on stderr: {proc.stderr!r}"
    assert not run.out.exists(), "a refused instance must leave no --out file"
    left = [p.name for p in run.instance.parent.iterdir()]
    assert left == (["input.json"] if run.instance.exists() else [])


@pytest.mark.parametrize(
    "case_id",
    [
        pytest.param("U-3213991234", id="day-32"),
        pytest.param("U-3104901234", id="april-31"),
        pytest.param("U-2902011234", id="feb-29-non-leap"),
        pytest.param("U-0101901234567", id="too-many-digits"),
    ],
)
def test_digits_that_are_not_a_cpr_date_are_accepted(tmp_path: Path, case_id: str) -> None:
    doc = base_instance()
    doc["cases"][0]["id"] = case_id
    proc = run_cli("validate", write_instance(tmp_path / "input.json", doc))
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout
    assert proc.stderr == ""


def test_current_provider_may_name_a_closed_provider(tmp_path: Path) -> None:
    doc = base_instance()
    doc["cases"][0]["current_provider"] = "lukket-klub"
    instance = write_instance(tmp_path / "input.json", doc)
    out = tmp_path / "out.json"

    proc = run_cli("validate", instance)
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout

    proc = run_cli("solve", instance, "--out", out, "--time-limit", "5", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    # U01's current provider is gone, so it gives no continuity penalty; U04 stays put.
    assert result["penalties"]["continuity"] == 0
    assert result["objective"] == TINY_OBJECTIVE - 15000


def test_empty_case_list_is_accepted(tmp_path: Path) -> None:
    doc = base_instance()
    doc["cases"] = []
    doc["offers"] = []
    instance = write_instance(tmp_path / "input.json", doc)
    out = tmp_path / "out.json"

    proc = run_cli("solve", instance, "--out", out, "--time-limit", "5", "--workers", "1")

    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["format"] == "allocation/1"
    assert result["assignments"] == []
    assert result["unassigned"] == []
    assert [p["cases"] for p in result["providers"]] == [0, 0, 0, 0]


# --------------------------------------------------------------------------------------------
# Usage errors
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["solve"], id="solve-without-instance"),
        pytest.param(["frobnicate"], id="unknown-command"),
        pytest.param(["solve", TINY, "--time-limit", "0"], id="time-limit-0"),
        pytest.param(["solve", TINY, "--time-limit", "-1"], id="time-limit-negative"),
        pytest.param(["solve", TINY, "--workers", "0"], id="workers-0"),
        pytest.param(["solve", TINY, "--bogus"], id="unknown-option"),
        pytest.param(["check", TINY], id="check-without-allocation"),
    ],
)
def test_usage_error(tmp_path: Path, args: list[str | Path]) -> None:
    out = tmp_path / "out.json"
    if args[0] == "solve" and len(args) > 1:
        args = [*args, "--out", out]
    proc = run_cli(*args)
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert_error_lines(proc)
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert proc.stdout == ""
    assert not out.exists()


def test_out_into_missing_folder_is_a_usage_error(tmp_path: Path) -> None:
    out = tmp_path / "missing" / "out.json"
    proc = run_cli("solve", TINY, "--out", out, "--time-limit", "5")
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert_error_lines(proc)
    assert len(proc.stderr.splitlines()) == 1, proc.stderr
    assert "--out" in proc.stderr
    assert not out.parent.exists()
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------------------------
# Proven infeasible: exit 3, the clashing rules named, nothing written
# --------------------------------------------------------------------------------------------


def locks_over_capacity(doc: dict[str, Any]) -> None:
    doc["providers"][0]["capacity_hours"] = 4.5
    doc["cases"][1]["hours_per_week"] = 2.25
    doc["cases"][0]["must_provider"] = "klub-syd"
    doc["cases"][1]["must_provider"] = "klub-syd"


def locks_over_max_cases(doc: dict[str, Any]) -> None:
    doc["providers"][0]["max_cases"] = 1
    doc["cases"][0]["must_provider"] = "klub-syd"
    doc["cases"][1]["must_provider"] = "klub-syd"


def fixed_cost_over_budget(doc: dict[str, Any]) -> None:
    doc["providers"][3]["fixed_cost"] = 250000  # ekstern-a, not optional; budget is 200 000


INFEASIBLE = [
    pytest.param(
        locks_over_capacity, ("U01", "U02", "klub-syd", "5.25", "4.5"), id="locks-over-capacity"
    ),
    pytest.param(locks_over_max_cases, ("U01", "U02", "klub-syd", "1"), id="locks-over-max_cases"),
    pytest.param(
        fixed_cost_over_budget, ("external purchase", "ekstern-a"), id="fixed-cost-over-budget"
    ),
]


@pytest.mark.parametrize(("mutation", "expected"), INFEASIBLE)
def test_proven_infeasible_exits_3(
    tmp_path: Path, mutation: Mutation, expected: tuple[str, ...]
) -> None:
    doc = base_instance()
    mutation(doc)
    instance = write_instance(tmp_path / "input.json", doc)
    out = tmp_path / "out.json"

    proc = run_cli("solve", instance, "--out", out, "--time-limit", "10", "--workers", "2")

    assert proc.returncode == 3, (proc.returncode, proc.stdout, proc.stderr)
    assert_error_lines(proc)
    assert "infeasible" in proc.stdout + proc.stderr or "no feasible" in proc.stderr
    error = proc.stderr
    for text in expected:
        assert text in error, f"{text!r} not in stderr: {error!r}"
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# Success path
# --------------------------------------------------------------------------------------------

SOLVE_ARGS = ("--time-limit", "10", "--workers", "2", "--seed", "0")


@pytest.fixture(scope="module")
def tiny_solution(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """``solve instances/tiny.json --out F`` run once for the module."""
    out = tmp_path_factory.mktemp("tiny") / "tiny-allocation.json"
    proc = run_cli("solve", "instances/tiny.json", "--out", out, *SOLVE_ARGS)
    return proc, out


def test_solve_tiny(tiny_solution: tuple[subprocess.CompletedProcess[str], Path]) -> None:
    proc, out = tiny_solution
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""
    result = json.loads(out.read_text(encoding="utf-8"))
    assert result["format"] == "allocation/1"
    assert result["instance"] == "Tiny example"
    assert result["status"] == "optimal"
    assert result["objective"] == TINY_OBJECTIVE
    assert "optimal" in proc.stdout
    for provider_id in ("klub-syd", "familiehuset", "korps", "ekstern-a"):
        assert provider_id in proc.stdout
    # no temporary file is left next to the result
    assert [p.name for p in out.parent.iterdir()] == [out.name]


def test_same_seed_and_workers_give_the_same_file(
    tmp_path: Path, tiny_solution: tuple[subprocess.CompletedProcess[str], Path]
) -> None:
    _, first = tiny_solution
    second = tmp_path / "again.json"
    proc = run_cli("solve", "instances/tiny.json", "--out", second, *SOLVE_ARGS)
    assert proc.returncode == 0, proc.stderr

    a, b = (json.loads(p.read_text(encoding="utf-8")) for p in (first, second))
    assert without_varying(a) == without_varying(b)

    def timing_free_lines(path: Path) -> list[str]:
        lines = path.read_text(encoding="utf-8").splitlines()
        return [line for line in lines if not any(f'"{k}"' in line for k in VARYING)]

    assert timing_free_lines(first) == timing_free_lines(second)


def test_out_dash_writes_json_to_stdout_and_summary_to_stderr() -> None:
    proc = run_cli("solve", "instances/tiny.json", "--out", "-", *SOLVE_ARGS)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "optimal"
    assert result["objective"] == TINY_OBJECTIVE
    assert "optimal" in proc.stderr
    assert "klub-syd" in proc.stderr
    assert "Traceback" not in proc.stderr


def refused_instance(doc: dict[str, Any]) -> None:
    doc["cases"][0]["must_providr"] = "korps"


@pytest.mark.parametrize(
    ("mutation", "code"),
    [
        pytest.param(refused_instance, 2, id="invalid"),
        pytest.param(locks_over_capacity, 3, id="infeasible"),
    ],
)
def test_failed_solve_keeps_an_existing_out_file(
    tmp_path: Path, mutation: Mutation, code: int
) -> None:
    doc = base_instance()
    mutation(doc)
    instance = write_instance(tmp_path / "input.json", doc)
    out = tmp_path / "out.json"
    old = '{"old": "content"}\n'
    out.write_text(old, encoding="utf-8")

    proc = run_cli("solve", instance, "--out", out, "--time-limit", "10", "--workers", "2")

    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert_error_lines(proc)
    assert out.read_text(encoding="utf-8") == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["input.json", "out.json"]


def test_validate_tiny() -> None:
    proc = run_cli("validate", "instances/tiny.json")
    assert proc.returncode == 0, proc.stderr
    assert "valid" in proc.stdout
    assert proc.stderr == ""


def test_schema() -> None:
    proc = run_cli("schema")
    assert proc.returncode == 0, proc.stderr
    schema = json.loads(proc.stdout)
    assert isinstance(schema, dict)
    assert {"providers", "cases"} <= set(schema["properties"])


@pytest.mark.parametrize(
    "args", [pytest.param([], id="group"), pytest.param(["solve"], id="solve")]
)
def test_help(args: list[str]) -> None:
    proc = run_cli(*args, "--help")
    assert proc.returncode == 0, proc.stderr
    assert "Usage" in proc.stdout
    assert proc.stderr == ""


# --------------------------------------------------------------------------------------------
# check
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def with_unassigned(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """tiny.json plus a case no provider can take, solved once: (instance, allocation)."""
    folder = tmp_path_factory.mktemp("unassigned")
    doc = base_instance()
    doc["cases"].append({"id": "U06", "age": 15, "hours_per_week": 2, "needs": ["equine therapy"]})
    instance = write_instance(folder / "input.json", doc)
    out = folder / "allocation.json"
    proc = run_cli("solve", instance, "--out", out, *SOLVE_ARGS)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(out.read_text(encoding="utf-8"))
    assert [u["case"] for u in result["unassigned"]] == ["U06"]
    return instance, out


def test_check_accepts_the_solvers_allocation(
    tiny_solution: tuple[subprocess.CompletedProcess[str], Path],
) -> None:
    proc, out = tiny_solution
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("check", "instances/tiny.json", out)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "ok" in proc.stdout
    assert "violation" not in proc.stdout
    assert proc.stderr == ""


def test_check_accepts_an_allocation_with_unassigned_cases(
    with_unassigned: tuple[Path, Path],
) -> None:
    instance, out = with_unassigned
    proc = run_cli("check", instance, out)
    assert proc.returncode == 0, (proc.stdout, proc.stderr)
    assert "ok" in proc.stdout


def raise_objective(result: dict[str, Any]) -> None:
    result["objective"] += 100


def move_to_ineligible_provider(result: dict[str, Any]) -> None:
    # U03 needs autism; klub-syd has no competences (and serves only Syd, U03 lives in Nord)
    (entry,) = [a for a in result["assignments"] if a["case"] == "U03"]
    assert entry["provider"] != "klub-syd"
    entry["provider"] = "klub-syd"


def drop_unassigned_entry(result: dict[str, Any]) -> None:
    assert result["unassigned"]
    result["unassigned"].pop()


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(raise_objective, id="objective-plus-100"),
        pytest.param(move_to_ineligible_provider, id="ineligible-provider"),
        pytest.param(drop_unassigned_entry, id="unassigned-entry-deleted"),
    ],
)
def test_check_finds_tampering(
    tmp_path: Path, with_unassigned: tuple[Path, Path], tamper: Callable[[dict[str, Any]], None]
) -> None:
    instance, out = with_unassigned
    result = json.loads(out.read_text(encoding="utf-8"))
    tamper(result)
    tampered = tmp_path / "tampered.json"
    tampered.write_text(json.dumps(result, indent=2), encoding="utf-8")

    proc = run_cli("check", instance, tampered)

    assert proc.returncode == 4, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stdout + proc.stderr
    violations = [line for line in proc.stdout.splitlines() if line.startswith("violation:")]
    assert violations, proc.stdout
    assert_error_lines(proc)


@pytest.mark.parametrize(
    ("key", "solve_flag", "bench_flag"),
    [("columns", "--columns", "--columns"), ("mip", "--mip", "--no-mip")],
)
def test_solve_and_bench_gap_take_the_engine_flags(key, solve_flag, bench_flag, tmp_path):
    out = tmp_path / "alloc.json"
    proc = run_cli("solve", "instances/ishoj-2018.json", solve_flag, "--time-limit", "10",
                   "--workers", "2", "--out", out, "--quiet")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    document = json.loads(out.read_text())
    assert document["params"][key] is True
    assert check(load_instance("instances/ishoj-2018.json"), document).ok
    proc = run_cli("bench-gap", "benchmarks/gap/chu1997/a05100", bench_flag, "--time-limit", "10",
                   "--workers", "2", "--json", tmp_path / "gap.json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    row = json.loads((tmp_path / "gap.json").read_text())["instances"][0]
    assert row["status"] == "optimal" and row["value"] == 1698


def test_native_prints_go_to_stderr_and_python_output_to_stdout():
    # As HiGHS does: a print to file descriptor 1 from below Python, during the run.
    code = (
        "import os, sys, cli; cli.native_output_to_stderr(); "
        "os.write(1, b'native line\\n'); print('data'); sys.stdout.flush()"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "data\n"
    assert "native line" in proc.stderr
