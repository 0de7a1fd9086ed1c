"""The figures that describe one solved instance, for comparing scenarios side by side.

Every figure is computed from the instance and the result's allocation (not from the
model), in DKK a year or counts of active cases.
"""

from __future__ import annotations

from typing import Any

from solver.instance import KINDS, Instance
from solver.result import PENALTIES, Result, money


def figures(instance: Instance, result: Result) -> dict[str, Any]:
    """status, objective, bound, total cost, penalties, cost by kind and by budget, cases
    by kind, relations kept, moves from the current provider, unassigned, closing. The
    figures of an allocation are None when there is none (infeasible or not found).
    `relations_kept` counts the cases with relations placed where they know an adult (at
    any level); `moves` the cases placed away from a current provider in the instance."""
    solved = result.objective is not None
    placed = {a["case"]: a["provider"] for a in result.assignments}
    kind_of = {p.id: p.kind for p in instance.providers}
    cost_of = {p.id: p.annual_cost for p in result.providers}
    active = [c for c in instance.cases if c.active]
    with_relation = [c for c in active if c.relations]
    existing = [c for c in active if c.current_provider in kind_of]
    cases_by_kind = dict.fromkeys(KINDS, 0)
    for provider in placed.values():
        cases_by_kind[kind_of[provider]] += 1
    by_budget = {}
    for n, b in enumerate(instance.budgets, start=1):
        counted = {p.id for p in instance.providers if p.kind in b.kinds or p.id in b.providers}
        name = b.name if b.name not in by_budget else f"{b.name} #{n}"  # names may repeat
        by_budget[name] = money(sum((cost_of.get(p, 0) for p in counted), 0)) if solved else None
    return {
        "status": result.status,
        "objective": money(result.objective),
        "bound": money(result.bound),
        "total_cost": money(result.total_cost) if solved else None,
        "penalties": {k: money(result.penalties.get(k)) for k in PENALTIES} if solved else {},
        "cost_by_kind": {k: money(v) for k, v in result.cost_by_kind().items()} if solved else {},
        "cost_by_budget": by_budget,
        "cases_by_kind": cases_by_kind,
        "active_cases": len(active),
        "closing_cases": len(instance.cases) - len(active),
        "placed": len(placed),
        "unassigned": len(active) - len(placed) if solved else None,
        "with_relation": len(with_relation),
        "relations_kept": sum(1 for c in with_relation if placed.get(c.id) in c.relations)
        if solved
        else None,
        "with_current": len(existing),
        "moves": sum(1 for c in existing if placed.get(c.id) != c.current_provider)
        if solved
        else None,
    }
