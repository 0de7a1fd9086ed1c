"""Test helpers: exhaustive search over tiny instances, and a random tiny-instance generator.

`brute_force` enumerates every placement of the active cases and scores each one with the
independent checker (`solver.checker.evaluate`), so it shares no code with the model.

`random_instance_dict` builds a tiny instance document exercising every feature of the spec.
It draws through a small `Chooser` interface so the same logic runs from `random.Random`
(`RandomChooser`, for seeded loops) and from hypothesis (`DrawChooser`, which shrinks).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from typing import Any, Protocol

from solver.checker import Evaluation, allowed, evaluate
from solver.instance import KINDS, Instance


def feasible_placements(instance: Instance) -> Iterator[tuple[dict[str, str], Evaluation]]:
    """Every feasible placement of the active cases with its evaluation.

    Each active case is unassigned or at any provider it may be placed at (its lock only,
    when locked: a locked case is never unassigned). Pairs the checker would reject as
    ineligible are skipped up front; every candidate is still judged by `evaluate`.
    """
    active = [c for c in instance.cases if c.status == "active"]
    options: list[list[str | None]] = []
    for case in active:
        if case.must_provider is not None:
            options.append([case.must_provider])
        else:
            places: list[str | None] = [None]
            places += [p.id for p in instance.providers if allowed(case, p)]
            options.append(places)
    for choice in itertools.product(*options):
        placement = {c.id: pid for c, pid in zip(active, choice, strict=True) if pid is not None}
        ev = evaluate(instance, placement)
        if ev.feasible:
            yield placement, ev


def brute_force(instance: Instance) -> tuple[Fraction | None, dict[str, str]]:
    """The least objective over all feasible placements, and one placement reaching it.
    Returns (None, {}) when no placement is feasible."""
    best: Fraction | None = None
    best_placement: dict[str, str] = {}
    for placement, ev in feasible_placements(instance):
        if best is None or ev.objective < best:
            best, best_placement = ev.objective, placement
    return best, best_placement


def term_values(ev: Evaluation) -> dict[str, Fraction]:
    """The objective's terms of an evaluation (DKK): cost and each penalty."""
    return {"cost": ev.total_cost, **ev.penalties}


# --- random tiny instances ---------------------------------------------------------------


class Chooser(Protocol):
    def integer(self, lo: int, hi: int) -> int: ...


class RandomChooser:
    def __init__(self, rng: Any) -> None:
        self.rng = rng

    def integer(self, lo: int, hi: int) -> int:
        return self.rng.randint(lo, hi)


class DrawChooser:
    """Adapter for hypothesis' `draw` inside `st.composite`."""

    def __init__(self, draw: Any) -> None:
        from hypothesis import strategies as st

        self.draw = draw
        self.st = st

    def integer(self, lo: int, hi: int) -> int:
        return self.draw(self.st.integers(lo, hi))


def _pick(r: Chooser, seq: list | tuple) -> Any:
    """An element of seq; shrinks toward the first."""
    return seq[r.integer(0, len(seq) - 1)]


def _flag(r: Chooser, percent: int) -> bool:
    """True with about `percent`% probability; shrinks toward False."""
    return r.integer(0, 99) >= 100 - percent


def _subset(r: Chooser, seq: list | tuple, percent: int = 50) -> list:
    return [x for x in seq if _flag(r, percent)]


def _d(text: str) -> Decimal:
    return Decimal(text)


NEEDS = ("autism", "psych")
DISTRICTS = ("north", "south")


def random_instance_dict(r: Chooser) -> dict[str, Any]:
    """A tiny instance document: 2-3 providers, 1-5 active cases (maybe one closing)."""
    n_providers = r.integer(2, 3)
    pids = [f"p{i}" for i in range(n_providers)]
    providers = []
    for pid in pids:
        p: dict[str, Any] = {
            "id": pid,
            "kind": _pick(r, KINDS),
            "capacity_hours": _d(_pick(r, ["10", "0", "2", "3", "4.5", "6", "20"])),
        }
        if _flag(r, 35):
            p["max_cases"] = r.integer(0, 3)
        if _flag(r, 70):
            p["hourly_rate"] = _d(_pick(r, ["100", "312.75", "500", "0"]))
        if _flag(r, 40):
            p["included_hours"] = _d(_pick(r, ["2", "3.5", "6"]))
        if _flag(r, 50):
            p["fixed_cost"] = _d(_pick(r, ["1000", "25000.5", "50000", "0"]))
        if _flag(r, 40):
            p["optional"] = True
        if _flag(r, 40):
            p["competences"] = _subset(r, NEEDS, 60)
        if _flag(r, 30):
            p["districts"] = _subset(r, DISTRICTS, 60)
        if _flag(r, 25):
            p["min_age"] = r.integer(5, 15)
        if _flag(r, 25):
            p["max_age"] = r.integer(12, 25)
        if _flag(r, 15):
            p["accepts_new"] = False
        providers.append(p)

    n_active = r.integer(1, 5)
    n_closing = 1 if _flag(r, 25) else 0
    cases = []
    for j in range(n_active + n_closing):
        c: dict[str, Any] = {
            "id": f"c{j}",
            "age": r.integer(5, 25),
            "hours_per_week": _d(_pick(r, ["2", "1", "2.5", "4", "5"])),
        }
        if j >= n_active:
            c["status"] = "closing"
        if _flag(r, 60):
            c["district"] = _pick(r, DISTRICTS)
        if _flag(r, 30):
            c["needs"] = _subset(r, NEEDS, 50)
        if _flag(r, 60):
            c["family"] = _pick(r, ["f1", "f1", "f2"])
        if _flag(r, 40):
            c["current_provider"] = _pick(r, [*pids, "gone"])
        if _flag(r, 40):
            c["relations"] = {pid: r.integer(1, 3) for pid in _subset(r, pids, 40)}
        if _flag(r, 20):
            c["payer"] = _pick(r, ["kbh", "frb"])
        if _flag(r, 12):
            c["must_provider"] = _pick(r, pids)
        if _flag(r, 20):
            c["forbidden_providers"] = _subset(r, pids, 40)
        cases.append(c)

    offers = []
    for c in cases:
        for pid in pids:
            if _flag(r, 20):
                o: dict[str, Any] = {
                    "case": c["id"],
                    "provider": pid,
                    "annual_cost": _d(_pick(r, ["5000", "0", "12345.67", "30000"])),
                }
                if _flag(r, 50):
                    o["hours_per_week"] = _d(_pick(r, ["1", "1.5", "3"]))
                offers.append(o)

    budgets = []
    for b in range(r.integer(0, 2) if _flag(r, 40) else 0):
        budgets.append(
            {
                "name": f"budget {b}",
                "kinds": _subset(r, KINDS, 30),
                "providers": _subset(r, pids, 40),
                "max_annual_cost": _d(_pick(r, ["60000", "0", "20000", "150000", "1000000"])),
            }
        )

    weights: dict[str, Any] = {}
    if _flag(r, 50):
        weights["relation_per_level"] = _d(_pick(r, ["1234.5", "0", "25000"]))
    if _flag(r, 50):
        weights["continuity"] = _d(_pick(r, ["7000.25", "0", "15000"]))
    if _flag(r, 50):
        weights["family_split"] = _d(_pick(r, ["9999.99", "0", "20000"]))
    if _flag(r, 40):
        weights["kind_penalty"] = {
            k: _d(_pick(r, ["3000", "0", "450.5"])) for k in _subset(r, KINDS, 30)
        }
    if _flag(r, 60):
        weights["unassigned"] = _d(_pick(r, ["40000", "0", "10000000", "123456.78"]))

    doc: dict[str, Any] = {"name": "random", "providers": providers, "cases": cases}
    if _flag(r, 40):
        doc["weeks_per_year"] = _d(_pick(r, ["45.5", "1", "52"]))
    if offers:
        doc["offers"] = offers
    if budgets:
        doc["budgets"] = budgets
    if weights:
        doc["weights"] = weights
    return doc


def to_json(doc: Any) -> str:
    """The document as JSON text, decimals written exactly (for failure reports)."""

    def default(value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value) if value != value.to_integral_value() else int(value)
        raise TypeError(type(value))

    return json.dumps(doc, default=default)
