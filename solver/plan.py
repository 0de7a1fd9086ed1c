"""Phase-in over years: solve year by year, each year from the previous year's placements.

Year 1 is the base instance with its scenario applied. Every later year starts from the
year before: cases that closed are gone, every active case's `current_provider` is the
provider it was placed at (none if it was left unassigned), and then that year's scenario
is applied (new cases, cases closing, grants, prices, frames). Moving a case away from last
year's provider therefore pays the continuity penalty, and `moves` counts such cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from solver.errors import InstanceError
from solver.figures import figures
from solver.instance import Instance
from solver.io import validate_instance
from solver.result import Result
from solver.scenario import Scenario, apply
from solver.solve import SolveParams, solve


@dataclass
class Year:
    year: int
    scenario: str | None  # the scenario's name
    instance: Instance  # as solved: current providers from the year before
    result: Result
    figures: dict[str, Any]
    opened: int  # active cases that were not in last year's instance
    closed: int  # cases that closed this year (status closing)


def parse_years(text: str) -> list[int]:
    """`2023:2025` (inclusive) or one year `2023`."""
    first, colon, last = text.partition(":")
    try:
        years = list(range(int(first), int(last if colon else first) + 1))
    except ValueError:
        raise InstanceError([f"--years: '{text}' is not FIRST:LAST, e.g. 2023:2025"]) from None
    if not years:
        raise InstanceError([f"--years: '{text}' ends before it starts"])
    return years


def plan(
    base: Instance,
    years: Sequence[int],
    scenarios: Sequence[Scenario | None],
    params: SolveParams | None = None,
) -> list[Year]:
    """Solve each year in turn (module docstring); `scenarios` has one entry per year
    (None: no changes that year). A year without an allocation (its result's status
    `infeasible` or `unknown`) ends the path."""
    if len(scenarios) != len(years):
        raise InstanceError([f"--scenario-per-year: {len(scenarios)} given for {len(years)} years"])
    out: list[Year] = []
    current, last_ids = base, {c.id for c in base.cases if c.active}
    for year, scenario in zip(years, scenarios, strict=True):
        instance = current if scenario is None else apply(current, scenario)
        instance = instance.model_copy(update={"name": f"{base.name} {year}"})
        result = solve(instance, params)
        active = [c for c in instance.cases if c.active]
        out.append(
            Year(
                year=year,
                scenario=None if scenario is None else scenario.name,
                instance=instance,
                result=result,
                figures=figures(instance, result),
                opened=sum(1 for c in active if c.id not in last_ids),
                closed=sum(1 for c in instance.cases if not c.active),
            )
        )
        if result.objective is None:  # infeasible, or nothing found in time: stop here
            break
        current, last_ids = next_year(instance, result), {c.id for c in active}
    return out


def next_year(instance: Instance, result: Result) -> Instance:
    """The instance a year on: closed cases gone, placements as current providers."""
    placed = {a["case"]: a["provider"] for a in result.assignments}
    doc = instance.model_dump()
    active = [c for c in doc["cases"] if c["status"] == "active"]
    doc["cases"] = [{**c, "current_provider": placed.get(c["id"])} for c in active]
    kept = {c["id"] for c in doc["cases"]}
    doc["offers"] = [o for o in doc["offers"] if o["case"] in kept]
    return validate_instance(doc)


def path_rows(years: list[Year]) -> list[dict[str, Any]]:
    """One row per year: cost by kind, moves, opened and closed cases (DKK a year)."""
    rows = []
    for y in years:
        f = y.figures
        rows.append(
            {
                "year": y.year,
                "scenario": y.scenario or "",
                "status": f["status"],
                "objective": f["objective"],
                "total_cost": f["total_cost"],
                **{f"cost_{kind}": value for kind, value in f["cost_by_kind"].items()},
                "active_cases": f["active_cases"],
                "opened": y.opened,
                "closed": y.closed,
                "moves": f["moves"],
                "unassigned": f["unassigned"],
                "relations_kept": f["relations_kept"],
            }
        )
    return rows
