"""Phase-in over years: each year starts from the previous year's placements."""

from __future__ import annotations

import csv
import json

import pytest

from cli import main
from solver.checker import check
from solver.errors import InstanceError
from solver.io import load_instance
from solver.plan import parse_years, plan
from solver.scenario import load_scenario
from solver.solve import SolveParams

BASE = "instances/ballerup-2022.json"
YEARS = [f"instances/scenarios/ballerup-clubs-{y}.json" for y in (2023, 2024, 2025)]
PARAMS = SolveParams(time_limit=30, workers=2, seed=0)


@pytest.fixture(scope="module")
def path():
    return plan(load_instance(BASE), [2023, 2024, 2025], [load_scenario(s) for s in YEARS], PARAMS)


def test_each_year_starts_from_the_previous_years_placements(path):
    for before, year in zip(path, path[1:], strict=False):
        placed = {a["case"]: a["provider"] for a in before.result.assignments}
        was_active = {c.id for c in before.instance.cases if c.active}
        closed = {c.id for c in before.instance.cases if not c.active}
        ids = {c.id for c in year.instance.cases}
        assert not closed & ids  # cases that closed are gone
        carried = [c for c in year.instance.cases if c.id in was_active]
        assert carried
        for c in carried:
            assert c.current_provider == placed.get(c.id), c.id
        new = [c for c in year.instance.cases if c.id not in was_active]
        assert len(new) == year.opened == 4 and all(c.current_provider is None for c in new)


def test_each_year_is_feasible_and_its_moves_are_counted(path):
    assert [y.year for y in path] == [2023, 2024, 2025]
    for y in path:
        report = check(y.instance, json.loads(json.dumps(y.result.to_dict())))
        assert report.ok, report.violations
        assert y.result.status == "optimal"
        placed = {a["case"]: a["provider"] for a in y.result.assignments}
        providers = {p.id for p in y.instance.providers}
        moved = [
            c.id
            for c in y.instance.cases
            if c.active
            and c.current_provider in providers
            and placed.get(c.id) != c.current_provider
        ]
        assert y.figures["moves"] == len(moved)
    # The review's phase-in: club money up year on year, external spending down by 2025.
    clubs = [y.figures["cost_by_kind"]["club"] for y in path]
    assert clubs == sorted(clubs) and clubs[0] < clubs[-1]
    external = [y.figures["cost_by_kind"]["external"] for y in path]
    assert external[-1] < external[0]


def test_years_and_scenarios_must_match():
    assert parse_years("2023:2025") == [2023, 2024, 2025] and parse_years("2024") == [2024]
    for bad in ("2025:2023", "twenty", "2023:"):
        with pytest.raises(InstanceError):
            parse_years(bad)
    with pytest.raises(InstanceError, match="2 given for 3 years"):
        plan(load_instance(BASE), [2023, 2024, 2025], [None, None], PARAMS)


def test_cli_plan_writes_the_path(tmp_path, capsys):
    out = tmp_path / "plan.csv"
    args = ["plan", BASE, "--years", "2023:2024", "--scenario-per-year", YEARS[0]]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--scenario-per-year", "-", "--time-limit", "20", "--out", str(out)])
    assert stop.value.code == 0
    rows = list(csv.DictReader(out.open()))
    assert [r["year"] for r in rows] == ["2023", "2024"]
    assert rows[1]["moves"] == "0"  # nothing changed in 2024: nobody moves
    assert "club grant 2023" in capsys.readouterr().out


def test_a_year_without_an_allocation_ends_the_path(tmp_path, capsys):
    crowd = tmp_path / "crowd.json"
    crowd.write_text(
        json.dumps(
            {
                "name": "everyone at Klub Maaloev",
                "changes": [
                    {"op": "lock", "where": {"status": "active"}, "provider": "klub-maaloev"}
                ],
            }
        )
    )
    path = plan(load_instance(BASE), [2023, 2024], [None, load_scenario(crowd)], PARAMS)
    assert [y.year for y in path] == [2023, 2024] and path[-1].result.status == "infeasible"
    args = ["plan", BASE, "--years", "2023:2024", "--scenario-per-year", "-"]
    with pytest.raises(SystemExit) as stop:
        main([*args, "--scenario-per-year", str(crowd), "--out", str(tmp_path / "p.csv")])
    assert stop.value.code == 3 and not (tmp_path / "p.csv").exists()
    assert "error: year 2024:" in capsys.readouterr().err
