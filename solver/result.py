"""The result of a solve: its evidence, the allocation/1 JSON and a readable summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

from solver.instance import KINDS

PENALTIES = ("relation", "continuity", "family", "kind", "unassigned")
KIND_LABELS = {
    "club": "clubs",
    "family_house": "Family House",
    "internal_corps": "internal corps",
    "internal_purchase": "internal purchase",
    "external": "external",
    "labour_market": "labour market",
}


def money(value: Fraction | None) -> float | None:
    """DKK for JSON: exact values rounded to the øre."""
    return None if value is None else round(float(value), 2)


def _seconds(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def hours(value: Fraction) -> float:
    return round(float(value), 2)


@dataclass
class ProviderLoad:
    id: str
    name: str
    kind: str
    cases: int
    hours: Fraction
    capacity_hours: Fraction
    max_cases: int | None
    annual_cost: Fraction

    @property
    def utilisation(self) -> float | None:
        return None if self.capacity_hours == 0 else float(self.hours / self.capacity_hours)


@dataclass
class Result:
    instance: str
    status: str  # optimal, feasible, infeasible, unknown
    objective: Fraction | None = None
    bound: Fraction | None = None
    total_cost: Fraction | None = None
    penalties: dict[str, Fraction] = field(default_factory=dict)
    assignments: list[dict[str, Any]] = field(default_factory=list)
    unassigned: list[dict[str, str]] = field(default_factory=list)
    providers: list[ProviderLoad] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    closing_cases: int = 0
    build_seconds: float = 0.0  # deriving arrays and building the CP-SAT model
    heuristic_seconds: float = 0.0  # the greedy start
    lp_seconds: float = 0.0  # the LP relaxation (part of solve_seconds)
    lns_seconds: float = 0.0  # large neighbourhood search (part of solve_seconds)
    lns_steps: int = 0  # its steps and how many improved the allocation
    lns_improved: int = 0
    solve_seconds: float = 0.0  # the CP-SAT search
    model_size: dict[str, int] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    trace: list[dict[str, float | None]] = field(default_factory=list)  # search progress
    # Seconds from the start of `solve()` (building included) to the first feasible
    # allocation and to the reported one; None when there is none.
    first_solution_seconds: float | None = None
    best_solution_seconds: float | None = None
    # `solve --priority`: the order of the goals and each stage's value (solver.goals)
    priority: dict[str, Any] | None = None

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return float(max(Fraction(0), self.objective - self.bound) / max(1, abs(self.objective)))

    def cost_by_kind(self) -> dict[str, Fraction]:
        out = {k: Fraction(0) for k in KINDS}
        for p in self.providers:
            out[p.kind] += p.annual_cost
        return out

    def to_dict(self) -> dict[str, Any]:
        """The allocation/1 document (docs/instance-format.md), with extra evidence."""
        solved = self.objective is not None
        extra = {} if self.priority is None else {"priority": self.priority}
        return {
            "format": "allocation/1",
            "instance": self.instance,
            "status": self.status,
            "objective": money(self.objective),
            "bound": money(self.bound),
            "gap": self.gap,
            "total_cost": money(self.total_cost) if solved else None,
            "penalties": {k: money(v) for k, v in self.penalties.items()},
            "assignments": self.assignments,
            "unassigned": self.unassigned,
            "providers": [
                {
                    "id": p.id,
                    "name": p.name,
                    "kind": p.kind,
                    "cases": p.cases,
                    "hours": hours(p.hours),
                    "capacity_hours": hours(p.capacity_hours),
                    "utilisation": None if p.utilisation is None else round(p.utilisation, 4),
                    "annual_cost": money(p.annual_cost),
                }
                for p in self.providers
            ],
            "cost_by_kind": {k: money(v) for k, v in self.cost_by_kind().items()} if solved else {},
            "closing_cases": self.closing_cases,
            "conflicts": self.conflicts,
            "build_seconds": round(self.build_seconds, 4),
            "heuristic_seconds": round(self.heuristic_seconds, 4),
            "lp_seconds": round(self.lp_seconds, 4),
            "lns_seconds": round(self.lns_seconds, 4),
            "lns_steps": self.lns_steps,
            "lns_improved": self.lns_improved,
            "first_solution_seconds": _seconds(self.first_solution_seconds),
            "best_solution_seconds": _seconds(self.best_solution_seconds),
            "solve_seconds": round(self.solve_seconds, 4),
            "model_size": self.model_size,
            "params": self.params,
            **extra,
        }

    def summary(self) -> str:
        """What the committee's staff read first."""
        lines = [f"{self.instance}: {self.status}"]
        if self.objective is None:
            if self.conflicts:
                lines.append("No allocation keeps every rule; these rules clash:")
                lines += [f"  - {c}" for c in self.conflicts]
            else:
                lines.append("No allocation was found within the time limit.")
            return "\n".join(lines)
        gap = self.gap or 0.0
        if self.priority is None:
            lines.append(
                f"objective {_dkk(self.objective)}   bound {_dkk(self.bound)}   gap {gap:.2%}"
            )
        else:
            lines.append(f"objective {_dkk(self.objective)} (the weighted sum; goals in order:)")
            stages = self.priority["stages"]
            for n, stage in enumerate(stages, start=1):
                proven = "proven" if stage["proven"] else "not proven"
                limit = f"   later within {_dkk(stage['limit'])}" if n < len(stages) else ""
                value = _dkk(stage["value"])
                lines.append(f"  {n}. {stage['goal']:<12} {value:>14}{limit}   {proven}")
        lines.append(
            f"cost {_dkk(self.total_cost)}   penalties "
            + ", ".join(f"{k} {_dkk(v)}" for k, v in self.penalties.items() if v)
            if any(self.penalties.values())
            else f"cost {_dkk(self.total_cost)}   no penalties"
        )
        active = len(self.assignments) + len(self.unassigned)
        lines.append(
            f"{active} active cases: {len(self.assignments)} placed, "
            f"{len(self.unassigned)} unassigned; {self.closing_cases} closing"
        )
        lines.append("")
        lines.append("Cost by provider kind (DKK a year)")
        for kind, value in self.cost_by_kind().items():
            count = sum(p.cases for p in self.providers if p.kind == kind)
            if value or count:
                lines.append(f"  {KIND_LABELS[kind]:<18} {_dkk(value):>14}   {count:>4} cases")
        lines.append("")
        lines.append(
            f"  {'provider':<24} {'cases':>5} {'hours':>8} {'cap.':>8} {'use':>5} {'DKK/yr':>12}"
        )
        for p in self.providers:
            use = "" if p.utilisation is None else f"{p.utilisation:.0%}"
            lines.append(
                f"  {p.id:<24} {p.cases:>5} {float(p.hours):>8g} {float(p.capacity_hours):>8g}"
                f" {use:>5} {_dkk(p.annual_cost):>12}"
            )
        if self.unassigned:
            lines.append("")
            lines.append("Unassigned cases")
            lines += [f"  {u['case']}: {u['reason']}" for u in self.unassigned]
        lines.append("")
        lines.append(
            f"model built in {self.build_seconds:.3f} s, greedy start in "
            f"{self.heuristic_seconds:.3f} s, solved in {self.solve_seconds:.3f} s"
            f" (LP bound {self.lp_seconds:.3f} s, neighbourhood search {self.lns_seconds:.3f} s)"
        )
        return "\n".join(lines)


def _dkk(value: Fraction | float | None) -> str:
    if value is None:
        return "-"
    return f"{float(value):,.0f}".replace(",", " ")
