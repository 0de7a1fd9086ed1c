"""Reading and writing at the Python API: validation messages, the CPR guard, atomic writes."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from solver import InstanceError, parse_instance
from solver.io import write_atomic
from solver.privacy import looks_like_cpr

PROVIDER = {"id": "a", "kind": "club", "capacity_hours": 10}


def text(cases: list[dict], providers: list[dict] | None = None, **top: Any) -> str:
    doc = {"name": "t", "providers": providers or [PROVIDER], "cases": cases, **top}
    return json.dumps(doc)


def case(cid: str = "U1", **fields: Any) -> dict:
    return {"id": cid, "age": 10, "hours_per_week": 2, **fields}


def problems(source: str) -> list[str]:
    with pytest.raises(InstanceError) as caught:
        parse_instance(source)
    lines = caught.value.lines
    assert all("\n" not in line for line in lines)
    assert str(caught.value) == "\n".join(lines)
    return lines


# --- one problem, one line ------------------------------------------------------------------


def test_valid_instance_parses_with_exact_decimals():
    inst = parse_instance(text([case(hours_per_week=2.25)], weeks_per_year=45.5))
    assert inst.cases[0].hours_per_week == Decimal("2.25")
    assert inst.weeks_per_year == Decimal("45.5")
    assert inst.providers[0].capacity_hours == 10


@pytest.mark.parametrize(
    "cases, expected",
    [
        ([case("U017", hours_per_week=0)], "case U017: hours_per_week must be > 0"),
        ([case(age=31)], "case U1: age must be <= 30"),
        ([case(age=-1)], "case U1: age must be >= 0"),
        ([case(age="3")], "case U1: age must be a whole number"),
        ([case(hours_per_week=True)], "case U1: hours_per_week must be a number"),
        ([case(hours_per_week=1.234)], "case U1: hours_per_week has more than 2 decimals"),
        (
            [case("U01", must_providr="a")],
            "case U01: must_providr is not a field of the format (did you mean 'must_provider'?)",
        ),
        ([case(must_provider="zz")], "case U1: must_provider names unknown provider 'zz'"),
        ([case(relations={"a": 4})], "case U1: relations.a must be a relation level from 1 to 3"),
        ([case(status="paused")], "case U1: status must be one of 'active' or 'closing'"),
        ([case(), case()], "case U1: id is used by another case"),
        ([case(id=7)], "case #1: id must be a text string"),
    ],
)
def test_one_problem_gives_its_one_line(cases, expected):
    assert problems(text(cases)) == [expected]


def test_typo_in_weights_is_suggested():
    source = text([case()], weights={"continuty": 1})
    assert problems(source) == [
        "weights: continuty is not a field of the format (did you mean 'continuity'?)"
    ]


def test_unknown_field_without_a_close_name_has_no_suggestion():
    assert problems(text([case(colour="red")])) == ["case U1: colour is not a field of the format"]


def test_duplicate_key_names_the_record():
    source = (
        '{"name": "t", "providers": [{"id": "a", "kind": "club", "capacity_hours": 1}], '
        '"cases": [{"id": "U02", "age": 3, "age": 4, "hours_per_week": 1}]}'
    )
    assert problems(source) == ["case U02: age appears twice"]


def test_duplicate_key_at_the_top_and_in_weights():
    source = (
        '{"name": "t", "name": "u", "providers": [{"id": "a", "kind": "club", '
        '"capacity_hours": 1}], "cases": [], "weights": {"unassigned": 1, "unassigned": 2}}'
    )
    assert problems(source) == ["instance: name appears twice", "weights: unassigned appears twice"]


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_number_must_be_finite(literal):
    source = (
        '{"name": "t", "providers": [{"id": "a", "kind": "club", "capacity_hours": 1}], '
        f'"cases": [{{"id": "U1", "age": 3, "hours_per_week": {literal}}}]}}'
    )
    assert problems(source) == ["case U1: hours_per_week must be a finite number"]


def test_non_finite_number_in_the_only_provider_is_its_only_problem():
    # The one provider is present; its bad number is the one problem to report (not also
    # "providers must not be empty").
    source = (
        '{"name": "t", "providers": [{"id": "a", "kind": "club", "capacity_hours": NaN}], '
        '"cases": []}'
    )
    assert problems(source) == ["provider a: capacity_hours must be a finite number"]


def test_every_provider_invalid_reports_only_their_problems():
    providers = [
        {"id": "a", "kind": "club", "capacity_hours": -1},
        {"id": "b", "kind": "clubs", "capacity_hours": 1},
    ]
    kinds = "club, family_house, internal_corps, internal_purchase, external, labour_market"
    assert problems(text([], providers=providers)) == [
        "provider a: capacity_hours must be >= 0",
        f"provider b: kind is not a provider kind (one of {kinds})",
    ]


def test_one_invalid_provider_among_valid_ones():
    providers = [{"id": "a", "kind": "club", "capacity_hours": -1}, PROVIDER | {"id": "b"}]
    assert problems(text([], providers=providers)) == ["provider a: capacity_hours must be >= 0"]


def test_no_providers_at_all():
    source = '{"name": "t", "providers": [], "cases": []}'
    assert problems(source) == ["instance: providers must not be empty"]


def test_unknown_kind_in_budget_and_kind_penalty():
    source = text(
        [case()],
        budgets=[{"name": "B", "kinds": ["clubs"], "max_annual_cost": 1}],
        weights={"kind_penalty": {"extern": 1}},
    )
    kinds = "club, family_house, internal_corps, internal_purchase, external, labour_market"
    assert problems(source) == [
        f"budget B: kinds[1] is not a provider kind (one of {kinds})",
        f"weights: kind_penalty.extern is not a provider kind (one of {kinds})",
    ]


def test_second_offer_for_a_pair():
    offers = [
        {"case": "U1", "provider": "a", "annual_cost": 1},
        {"case": "U1", "provider": "a", "annual_cost": 2},
    ]
    assert problems(text([case()], offers=offers)) == [
        "offer #2 (U1 at a): provider has a second offer for this case"
    ]


def test_wrong_format_and_not_an_object_and_not_json():
    assert problems(text([case()], format="allocation-instance/2")) == [
        "instance: format must be one of 'allocation-instance/1'"
    ]
    assert problems("[1, 2]") == ["input: the instance must be a JSON object"]
    assert problems('{"name":') == ["input: not valid JSON at line 1 column 9: Expecting value"]


def test_current_provider_may_name_a_closed_provider():
    inst = parse_instance(text([case(current_provider="closed-club")]))
    assert inst.cases[0].current_provider == "closed-club"


# --- several problems, reported together -------------------------------------------------


def test_three_problems_give_three_lines():
    cases = [
        case("U1", hours_per_week=0),
        case("U2", age=31),
        case("U3", must_providr="a"),
    ]
    assert problems(text(cases)) == [
        "case U1: hours_per_week must be > 0",
        "case U2: age must be <= 30",
        "case U3: must_providr is not a field of the format (did you mean 'must_provider'?)",
    ]


def test_reference_problems_are_reported_together():
    cases = [
        case("U1", must_provider="zz", forbidden_providers=["a", "yy"]),
        case("U1"),
    ]
    budgets = [{"name": "B", "providers": ["q"], "max_annual_cost": 1}]
    assert problems(text(cases, budgets=budgets)) == [
        "case U1: must_provider names unknown provider 'zz'",
        "case U1: forbidden_providers names unknown provider 'yy'",
        "case U1: id is used by another case",
        "budget B: providers names unknown provider 'q'",
    ]


# --- the CPR guard -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "0101901234",
        "010190-1234",
        "3112991234",
        "2902001234",  # 29 Feb 00: 2000 was a leap year
        "2902041234",  # 29 Feb 2004
        "290204-1234",
        "U0101901234",  # letters around do not hide it
        "case 010190-1234 moved",
        "x-3006851234",
    ],
)
def test_cpr_like_values_are_found(value):
    assert looks_like_cpr(value)


@pytest.mark.parametrize(
    "value",
    [
        "2902011234",  # 29 Feb 2001: no such date
        "2902991234",
        "3104901234",  # 31 April
        "0001901234",  # day 0
        "3201901234",  # day 32
        "0113901234",  # month 13
        "0100901234",  # month 0
        "01019012345",  # eleven digits: part of a longer number
        "90101901234",
        "123456789012345",
        "010190-12345",
        "9010190-1234",
        "010190--1234",
        "010190 1234",
        "010190123",  # nine digits
        "U017",
        "",
    ],
)
def test_values_that_are_not_cpr_like(value):
    assert not looks_like_cpr(value)


def test_cpr_like_id_is_refused_without_repeating_it():
    lines = problems(text([case("010190-1234")]))
    assert lines == [
        "case #1: id holds a value that looks like a CPR number (a date DDMMYY and four "
        "digits); use pseudonymous ids only"
    ]
    assert "010190" not in lines[0] and "1234" not in lines[0]


def test_cpr_like_text_field_names_the_record_and_field():
    lines = problems(text([case("U9", payer="kbh 0101901234")]))
    assert lines == [
        "case U9: payer holds a value that looks like a CPR number (a date DDMMYY and four "
        "digits); use pseudonymous ids only"
    ]


def test_cpr_like_relation_key_is_refused():
    lines = problems(text([case("U9", relations={"2902041234": 1})]))
    assert lines[0].startswith("case U9: relations")
    assert "holds a key that looks like a CPR number" in lines[0]
    assert all("2902041234" not in line for line in lines)


def test_cpr_like_unknown_field_name_is_not_repeated():
    lines = problems(text([case("U9", **{"0101901234": 1})]))
    assert len(lines) == 1 and lines[0].startswith("case U9: ")
    assert "looks like a CPR number" in lines[0] and "0101901234" not in lines[0]


def test_repeated_cpr_like_key_is_not_repeated_in_the_message():
    source = (
        '{"name": "t", "providers": [{"id": "a", "kind": "club", "capacity_hours": 1}], '
        '"cases": [{"id": "U9", "age": 3, "hours_per_week": 1, '
        '"relations": {"0101901234": 1, "0101901234": 2}}]}'
    )
    lines = problems(source)
    assert len(lines) == 1 and lines[0].startswith("case U9: relations")
    assert "0101901234" not in lines[0]


def test_non_date_ten_digit_ids_are_accepted():
    inst = parse_instance(text([case("2902011234"), case("3104901234")]))
    assert [c.id for c in inst.cases] == ["2902011234", "3104901234"]


# --- atomic writes -------------------------------------------------------------------------


def test_write_atomic_replaces_the_whole_content(tmp_path: Path):
    target = tmp_path / "out.json"
    target.write_text("x" * 10_000)
    write_atomic(target, '{"short": true}\n')
    assert target.read_text() == '{"short": true}\n'
    assert sorted(os.listdir(tmp_path)) == ["out.json"]
    write_atomic(target, b"\x00\x01bytes")
    assert target.read_bytes() == b"\x00\x01bytes"
    assert sorted(os.listdir(tmp_path)) == ["out.json"]


def test_write_atomic_writes_utf8(tmp_path: Path):
    target = tmp_path / "æøå.json"
    write_atomic(target, "Klub Sønderå")
    assert target.read_bytes() == "Klub Sønderå".encode()


def test_write_atomic_to_a_folder_fails_and_leaves_no_temporary_file(tmp_path: Path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "inside.txt").write_text("keep")
    with pytest.raises(OSError):
        write_atomic(folder, "data")
    assert sorted(os.listdir(tmp_path)) == ["out"]
    assert folder.is_dir() and os.listdir(folder) == ["inside.txt"]
    assert (folder / "inside.txt").read_text() == "keep"


def test_write_atomic_into_a_missing_folder_creates_nothing(tmp_path: Path):
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing" / "out.json", "data")
    assert os.listdir(tmp_path) == []


def test_write_atomic_failing_rename_keeps_the_old_file(tmp_path: Path, monkeypatch):
    target = tmp_path / "out.json"
    target.write_text("old")

    def refuse(src: object, dst: object) -> None:
        raise PermissionError("rename refused")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(PermissionError):
        write_atomic(target, "new")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert sorted(os.listdir(tmp_path)) == ["out.json"]
