"""Scenario files: applying one equals editing the instance by hand; clear errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from cli import main
from solver.errors import InstanceError
from solver.io import load_instance, parse_json, validate_instance
from solver.scenario import apply, load_scenario, parse_scenario, schema

BASE = "instances/ballerup-2022.json"
SCENARIOS = sorted(Path("instances/scenarios").glob("*.json"))


def _raw() -> dict:
    return parse_json(Path(BASE).read_text(encoding="utf-8"))


def _scenario(*changes: dict, name: str = "s") -> object:
    return parse_scenario({"format": "allocation-scenario/1", "name": name, "changes": changes})


def _same(applied, hand: dict, name: str = "s") -> None:
    hand["name"] = f"{hand['name']} / {name}"
    assert applied == validate_instance(hand)


def test_set_by_kind_and_weights_equals_hand_edit():
    applied = apply(
        load_instance(BASE),
        _scenario(
            {"op": "set", "target": "providers", "where": {"kind": "club"},
             "fields": {"included_hours": 18.5, "fixed_cost": 275000}},
            {"op": "set", "target": "weights", "fields": {"relation_per_level": 50000}},
            {"op": "set", "target": "budgets", "where": {"name": "external purchase"},
             "fields": {"max_annual_cost": 10000000}},
        ),
    )  # fmt: skip
    hand = _raw()
    for p in hand["providers"]:
        if p["kind"] == "club":
            p["included_hours"], p["fixed_cost"] = Decimal("18.5"), 275000
    hand.setdefault("weights", {})["relation_per_level"] = 50000
    hand["budgets"][0]["max_annual_cost"] = 10000000
    _same(applied, hand)


def test_remove_provider_drops_its_references():
    applied = apply(
        load_instance(BASE), load_scenario("instances/scenarios/ballerup-close-corps.json")
    )
    hand = _raw()
    hand["providers"] = [p for p in hand["providers"] if p["id"] != "korps"]
    for c in hand["cases"]:
        c.get("relations", {}).pop("korps", None)
        if "forbidden_providers" in c:
            c["forbidden_providers"] = [p for p in c["forbidden_providers"] if p != "korps"]
    hand["offers"] = [o for o in hand["offers"] if o["provider"] != "korps"]
    _same(applied, hand, "close the corps")
    assert any(c.current_provider == "korps" for c in applied.cases)  # a closed provider


def test_price_index_rounds_to_the_oere():
    applied = apply(
        load_instance(BASE), load_scenario("instances/scenarios/ballerup-external-prices-3pct.json")
    )
    hand = _raw()
    external = {p["id"] for p in hand["providers"] if p["kind"] == "external"}
    for p in hand["providers"]:
        if p["id"] in external:
            p["hourly_rate"] = (Decimal(p["hourly_rate"]) * Decimal("1.03")).quantize(
                Decimal("0.01")
            )
    for o in hand["offers"]:
        if o["provider"] in external:
            cents = Decimal(o["annual_cost"]) * 103  # exact: hundredths of a krone
            o["annual_cost"] = (cents / 100).quantize(Decimal("0.01"))
    _same(applied, hand, "external prices +3%")
    assert applied.provider("ekstern-a").hourly_rate == Decimal("782.80")


def test_close_add_lock_unlock_remove_cases():
    applied = apply(
        load_instance(BASE),
        _scenario(
            {"op": "close", "where": {"age": {"min": 22}}},
            {"op": "add", "target": "cases",
             "records": [{"id": "N1", "age": 12, "district": "Syd", "hours_per_week": 3}]},
            {"op": "lock", "where": {"id": ["B001", "B006"]}, "provider": "current"},
            {"op": "lock", "where": {"id": "N1"}, "provider": "klub-syd"},
            {"op": "unlock", "where": {"id": "B006"}},
            {"op": "remove", "target": "cases",
             "where": {"needs": "autism", "district": "Centrum"}},
        ),
    )  # fmt: skip
    hand = _raw()
    for c in hand["cases"]:
        if c["age"] >= 22:
            c["status"] = "closing"
    hand["cases"].append(
        {"id": "N1", "age": 12, "district": "Syd", "hours_per_week": 3, "must_provider": "klub-syd"}
    )
    for c in hand["cases"]:
        if c["id"] == "B001":
            c["must_provider"] = "korps"
    gone = {
        c["id"]
        for c in hand["cases"]
        if "autism" in c.get("needs", []) and c.get("district") == "Centrum"
    }
    assert gone  # the rule removes some cases, and their offers go with them
    hand["cases"] = [c for c in hand["cases"] if c["id"] not in gone]
    hand["offers"] = [o for o in hand["offers"] if o["case"] not in gone]
    _same(applied, hand)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"op": "set", "target": "providers", "where": {"id": "korpset"}, "fields": {}},
         "change #1 (set providers): where matches no provider"),
        ({"op": "set", "target": "providers", "where": {"kid": "club"}, "fields": {}},
         "where.kid is not a field of a provider (did you mean 'kind'?)"),
        ({"op": "set", "target": "providers", "where": {}, "fields": {"capacity_hour": 9}},
         "fields.capacity_hour cannot be set on providers (did you mean 'capacity_hours'?)"),
        ({"op": "set", "target": "providers", "where": {"id": "klub-syd"},
          "fields": {"capacity_hours": -1}},
         "scenario s: provider klub-syd: capacity_hours must be >= 0"),
        ({"op": "set", "target": "cases", "where": {"id": "B001"}, "fields": {"id": "B999"}},
         "fields.id is the record's identity"),
        ({"op": "remove", "target": "providers", "where": {"id": "korps"}},
         "case B001 is locked to a removed provider"),
        ({"op": "lock", "where": {"id": "B011"}, "provider": "current"},
         "case B011: its current provider is not in the instance"),
    ],
)  # fmt: skip
def test_changes_that_cannot_apply_are_refused(change, message):
    base = load_instance(BASE)
    if change["op"] == "remove":  # lock a case to the corps first
        base = apply(base, _scenario({"op": "lock", "where": {"id": "B001"}, "provider": "korps"}))
    with pytest.raises(InstanceError) as err:
        apply(base, _scenario(change))
    assert message in str(err.value), str(err.value)
    assert len(err.value.lines) == 1


@pytest.mark.parametrize(
    "doc, message",
    [
        (
            {"name": "s", "changes": [{"op": "grow", "target": "cases"}]},
            "change #1: op must be one of",
        ),
        (
            {"name": "s", "changes": [{"op": "close", "where": {}, "wher": {}}]},
            "change #1: wher is not a field",
        ),
        ({"name": "s", "format": "allocation-scenario/2"}, "scenario: format"),
        ({"changes": []}, "scenario: name is required"),
        (
            {"name": "s", "changes": [{"op": "add", "target": "cases", "records": [5]}]},
            "change #1: records[1] must be an object",
        ),
        (
            {"name": "s", "changes": [{"op": "price_index", "factor": 0}]},
            "change #1: factor must be > 0",
        ),
        (
            {"name": "s", "changes": [{"op": "close", "where": {"id": "010190-1234"}}]},
            "f.json: change #1: where.id holds a value that looks like a CPR number",
        ),
        (
            {"name": "s", "changes": [{"op": "close", "where": {"age": {"min": "a"}}}]},
            'change #1: where.age must be a value, a list of values or {"min", "max"}',
        ),
    ],
)
def test_bad_scenario_files_are_refused_naming_the_change(doc, message):
    with pytest.raises(InstanceError) as err:
        parse_scenario(doc, "f.json")
    assert message in str(err.value)
    assert "010190" not in str(err.value) and len(err.value.lines) == 1


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_bundled_scenarios_apply_and_match_the_schema(path):
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert set(raw) <= set(schema()["properties"]) and raw["format"] == "allocation-scenario/1"
    applied = apply(load_instance(BASE), load_scenario(path))
    assert applied.name.endswith(raw["name"]) and applied != load_instance(BASE)


def test_schema_file_is_current():
    assert json.loads(Path("docs/scenario.schema.json").read_text()) == schema()


def test_cli_apply_writes_a_valid_instance_or_nothing(tmp_path, capsys):
    out = tmp_path / "new.json"
    with pytest.raises(SystemExit) as stop:
        main(["apply", BASE, "instances/scenarios/ballerup-keep-corps.json", "--out", str(out)])
    assert stop.value.code == 0
    assert not load_instance(out).provider("korps").optional
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x", "changes": [{"op": "close", "where": {"id": "nobody"}}]}')
    other = tmp_path / "other.json"
    with pytest.raises(SystemExit) as stop:
        main(["apply", BASE, str(bad), "--out", str(other)])
    assert stop.value.code == 2 and not other.exists()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "where matches no case" in err


@pytest.mark.parametrize(
    "changes, message",
    [
        ([{"op": "add", "target": "cases",
           "records": [{"id": "N1", "age": 12, "hours_per_week": 3}]},
          {"op": "remove", "target": "providers", "where": {"id": "klub-syd"}}], None),
        ([{"op": "add", "target": "providers",
           "records": [{"id": "P9", "kind": "club", "capacity_hours": 3}]},
          {"op": "price_index", "factor": 1.1}], None),
        ([{"op": "add", "target": "cases",
           "records": [{"id": "N1", "age": 12, "hours_per_week": 3}]},
          {"op": "close", "where": {"status": "active", "id": "N1"}}], None),
        ([{"op": "add", "target": "cases",
           "records": [{"id": "N1", "age": 12, "hours_per_week": 3}]},
          {"op": "lock", "where": {"id": "N1"}, "provider": "current"}],
         "change #2 (lock): case N1: its current provider is not in the instance"),
        ([{"op": "add", "target": "cases", "records": [{"age": 12, "hours_per_week": 3}]},
          {"op": "remove", "target": "cases", "where": {"age": 12}}],
         "scenario s: case #104: id is required"),
        ([{"op": "add", "target": "offers",
           "records": [{"case": "B001", "provider": "korps", "annual_cost": "x"}]},
          {"op": "price_index", "factor": 1.1}],
         "scenario s: offer #9: annual_cost must be a number"),
        ([{"op": "set", "target": "providers", "where": {"id": "klub-syd"},
           "fields": {"fixed_cost": "abc"}},
          {"op": "price_index", "factor": 1.1}],
         "scenario s: provider klub-syd: fixed_cost must be a number"),
    ],
)  # fmt: skip
def test_added_and_set_records_are_whole_records_for_later_changes(changes, message):
    """Later changes see defaults and checked values, never a crash on a raw record."""
    if message is None:
        applied = apply(load_instance(BASE), _scenario(*changes))
        assert applied.cases[-1].id == "N1" or applied.providers[-1].id == "P9"
        return
    with pytest.raises(InstanceError) as err:
        apply(load_instance(BASE), _scenario(*changes))
    assert err.value.lines == [next(x for x in err.value.lines if message in x)], err.value.lines


def test_where_compares_numbers_by_value():
    base = load_instance(BASE)
    age = base.cases[0].age
    by_float = apply(base, _scenario({"op": "close", "where": {"age": float(age)}}))
    by_int = apply(base, _scenario({"op": "close", "where": {"age": age}}))
    assert by_float == by_int and any(not c.active for c in by_int.cases)


@pytest.mark.parametrize(
    "change, message",
    [
        ({"op": "close", "where": {"age": {"min": True}}}, "change #1: where.age must be"),
        ({"op": "price_index", "factor": Decimal("1e400")}, "change #1: factor"),
    ],
)
def test_scenario_values_that_are_not_numbers_are_refused(change, message):
    with pytest.raises(InstanceError) as err:
        parse_scenario({"name": "s", "changes": [change]}, "f.json")
    assert message in str(err.value) and len(err.value.lines) == 1, err.value.lines
