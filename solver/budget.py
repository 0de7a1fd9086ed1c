"""The committee's budget table: today's spending (the baseline) against the proposal.

Both sides are costed with the spec's formulas by the independent checker
(`solver.checker.evaluate`), in exact `Fraction`s; `budget_table` rounds to the øre for
JSON, `budget_table(..., exact=True)` keeps the fractions.

- **Baseline**: every active case whose `current_provider` exists in the instance is placed
  there; active cases without one (new cases) or whose provider has closed are not placed.
  Closing cases are never placed (the spec), so they are not in either column. The
  baseline is costed as it is, even when it breaks rules (a case at a provider without the
  competence, a provider over capacity, a budget over its cap): those are listed in
  `baseline_notes`, not refused.
- **Proposal**: the placement given (the result's assignments).

Cost attribution to payers (`case_cost_shares`). Each provider's annual cost is split over
the cases placed there:

1. each case's own offer (`annual_cost`) goes to that case;
2. the hourly part (hourly rate x weeks x billed hours above the included hours) is split
   over the cases billed by the hour (those without an offer, the only ones that make it)
   in proportion to their hours;
3. the fixed cost is split over all the provider's cases in proportion to their loads
   (hours a week, an offer's hours where it has one).

Where a provider has no offer cases (or no hourly rate) this is simply "own offer, plus the
rest of the provider's cost split by load".

A case's share goes to its `payer`. A provider with no cases whose fixed cost is still paid
(not optional) is attributed to no payer: it appears in the row "not attributed (fixed
costs of unused providers)", so the payer rows plus that row sum exactly to the total.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from solver.checker import Evaluation, evaluate
from solver.instance import Case, Instance
from solver.result import KIND_LABELS, money

KIND_ORDER = (
    "external",
    "internal_purchase",
    "family_house",
    "club",
    "labour_market",
    "internal_corps",
)
NOT_ATTRIBUTED = "not attributed (fixed costs of unused providers)"


def baseline_placement(instance: Instance) -> dict[str, str]:
    """Active case -> its current provider, where that provider exists in the instance."""
    pids = {p.id for p in instance.providers}
    return {
        c.id: c.current_provider
        for c in instance.cases
        if c.active and c.current_provider is not None and c.current_provider in pids
    }


def placement_of(result_or_doc: Any) -> dict[str, str]:
    """Case -> provider of a `Result` or an allocation/1 document (as loaded from JSON)."""
    if isinstance(result_or_doc, Mapping):
        assignments = result_or_doc.get("assignments") or []
    else:
        assignments = result_or_doc.assignments
    return {str(a["case"]): str(a["provider"]) for a in assignments}


def load(instance: Instance, case: Case, provider_id: str) -> Fraction:
    """Hours a week the case uses at the provider: the offer's hours, else the case's."""
    for o in instance.offers:
        if o.case == case.id and o.provider == provider_id:
            if o.hours_per_week is not None:
                return Fraction(o.hours_per_week)
            break
    return Fraction(case.hours_per_week)


def _shares(
    instance: Instance, placement: Mapping[str, str], ev: Evaluation
) -> tuple[dict[str, Fraction], Fraction]:
    """Cost share per placed active case, and the cost attributed to no case."""
    cases = {c.id: c for c in instance.cases}
    providers = {p.id: p for p in instance.providers}
    weeks = Fraction(instance.weeks_per_year)
    offers = {(o.case, o.provider): Fraction(o.annual_cost) for o in instance.offers}
    at: dict[str, list[str]] = {p.id: [] for p in instance.providers}
    for case_id, pid in placement.items():
        case = cases.get(case_id)
        if case is not None and case.active and pid in at:
            at[pid].append(case_id)
    shares: dict[str, Fraction] = {}
    unattributed = Fraction(0)
    for pid, members in at.items():
        cost = ev.provider_cost[pid]
        if not members:
            unattributed += cost
            continue
        provider = providers[pid]
        own = {j: offers.get((j, pid)) for j in members}
        loads = {j: load(instance, cases[j], pid) for j in members}
        fixed = cost - sum((o for o in own.values() if o is not None), Fraction(0))
        billed = [j for j in members if own[j] is None]
        hourly = Fraction(0)
        if billed:
            above = sum((loads[j] for j in billed), Fraction(0)) - Fraction(provider.included_hours)
            hourly = Fraction(provider.hourly_rate) * weeks * max(Fraction(0), above)
            fixed -= hourly
        all_load = sum(loads.values(), Fraction(0))
        billed_load = sum((loads[j] for j in billed), Fraction(0))
        for j in members:
            share = fixed * loads[j] / all_load
            if own[j] is not None:
                share += own[j]
            else:
                share += hourly * loads[j] / billed_load
            shares[j] = share
    return shares, unattributed


def case_cost_shares(instance: Instance, placement: Mapping[str, str]) -> dict[str, Fraction]:
    """Active case id -> its exact share of the providers' annual cost (0 when unplaced).

    The attribution rule is the module's: its own offer; or its part of the hourly bill,
    by hours, among the cases billed by the hour; plus its part of the fixed cost by load.
    """
    shares, _ = _shares(instance, placement, evaluate(instance, placement))
    return {c.id: shares.get(c.id, Fraction(0)) for c in instance.cases if c.active}


def _side(instance: Instance, placement: Mapping[str, str]) -> dict[str, Any]:
    ev = evaluate(instance, placement)
    shares, unattributed = _shares(instance, placement, ev)
    by_kind = {k: Fraction(0) for k in KIND_ORDER}
    cases_by_kind = {k: 0 for k in KIND_ORDER}
    for p in instance.providers:
        by_kind[p.kind] += ev.provider_cost[p.id]
        cases_by_kind[p.kind] += ev.provider_cases[p.id]
    by_budget = []
    for b in instance.budgets:
        counted = [p.id for p in instance.providers if p.kind in b.kinds or p.id in b.providers]
        by_budget.append(sum((ev.provider_cost[pid] for pid in counted), Fraction(0)))
    by_payer: dict[str, Fraction] = {}
    for c in instance.cases:
        if c.active:
            by_payer.setdefault(c.payer, Fraction(0))
            by_payer[c.payer] += shares.get(c.id, Fraction(0))
    return {
        "evaluation": ev,
        "by_kind": by_kind,
        "cases_by_kind": cases_by_kind,
        "by_budget": by_budget,
        "by_payer": by_payer,
        "unattributed": unattributed,
    }


def _baseline_notes(instance: Instance, ev: Evaluation, baseline_closing: bool) -> list[str]:
    pids = {p.id for p in instance.providers}
    active = [c for c in instance.cases if c.active]
    notes: list[str] = []
    new = [c.id for c in active if c.current_provider is None]
    if new:
        notes.append(
            f"{len(new)} active case(s) have no current provider (new cases) and are not "
            f"in the baseline: {', '.join(new)}"
        )
    gone = [c for c in active if c.current_provider is not None and c.current_provider not in pids]
    for c in gone:
        notes.append(
            f"case {c.id}: current provider {c.current_provider} is not in the instance "
            "(closed); not in the baseline"
        )
    closing = [c for c in instance.cases if not c.active]
    held = [c for c in closing if c.current_provider in pids]
    if closing and baseline_closing:
        notes.append(
            f"{len(held)} of {len(closing)} closing case(s) are costed in the baseline at "
            "their current providers"
        )
    elif closing:
        text = (
            f"{len(closing)} closing case(s) ({len(held)} at a provider of the instance today) "
            "are not placed and cost nothing in either column"
        )
        if held:
            wide = with_closing_active(instance)
            full = evaluate(wide, baseline_placement(wide))
            kinds = {k: Fraction(0) for k in KIND_ORDER}
            for p in instance.providers:
                kinds[p.kind] += full.provider_cost[p.id]
            parts = ", ".join(f"{KIND_LABELS[k]} {_dkk(v)}" for k, v in kinds.items() if v)
            text += (
                f"; costed at their current providers too, the baseline would be "
                f"{_dkk(full.total_cost)} DKK ({parts})"
            )
        notes.append(text)
    notes += [f"the baseline breaks a rule: {v}" for v in ev.violations]
    return notes


def with_closing_active(instance: Instance) -> Instance:
    """The instance with its closing cases made active (for a baseline that costs them)."""
    cases = tuple(
        c if c.active else c.model_copy(update={"status": "active"}) for c in instance.cases
    )
    return instance.model_copy(update={"cases": cases})


def budget_table(
    instance: Instance,
    placement: Mapping[str, str],
    exact: bool = False,
    baseline_closing: bool = False,
) -> dict[str, Any]:
    """Baseline (current providers) against the proposal `placement`, by kind, budget, payer.

    Money is DKK a year, rounded to the øre (exact `Fraction`s with `exact=True`).
    `change` is proposal - baseline; `saving` is baseline total - proposal total;
    `headroom` is a budget's cap - the proposal's spending under it.

    With `baseline_closing=True` the closing cases are costed in the baseline too, at their
    current providers (the way a review's "old spending" counts every case it looked at);
    by default they are left out of both columns and a note gives that figure instead.
    """
    base_instance = with_closing_active(instance) if baseline_closing else instance
    base_placement = baseline_placement(base_instance)
    base = _side(base_instance, base_placement)
    prop = _side(instance, placement)
    m = (lambda v: v) if exact else money

    by_kind = [
        {
            "kind": k,
            "label": KIND_LABELS[k],
            "baseline": m(base["by_kind"][k]),
            "proposal": m(prop["by_kind"][k]),
            "change": m(prop["by_kind"][k] - base["by_kind"][k]),
            "baseline_cases": base["cases_by_kind"][k],
            "proposal_cases": prop["cases_by_kind"][k],
        }
        for k in KIND_ORDER
    ]
    by_budget = [
        {
            "name": b.name,
            "max_annual_cost": m(Fraction(b.max_annual_cost)),
            "baseline": m(base["by_budget"][n]),
            "proposal": m(prop["by_budget"][n]),
            "headroom": m(Fraction(b.max_annual_cost) - prop["by_budget"][n]),
        }
        for n, b in enumerate(instance.budgets)
    ]
    active_cases: dict[str, int] = {}
    for c in instance.cases:
        if c.active:
            active_cases[c.payer] = active_cases.get(c.payer, 0) + 1
    by_payer: list[dict[str, Any]] = [
        {
            "payer": payer,
            "cases": count,
            "baseline": m(base["by_payer"][payer]),
            "proposal": m(prop["by_payer"][payer]),
        }
        for payer, count in active_cases.items()
    ]
    by_payer.append(
        {
            "payer": None,
            "label": NOT_ATTRIBUTED,
            "cases": 0,
            "baseline": m(base["unattributed"]),
            "proposal": m(prop["unattributed"]),
        }
    )
    base_ev: Evaluation = base["evaluation"]
    prop_ev: Evaluation = prop["evaluation"]
    return {
        "by_kind": by_kind,
        "by_budget": by_budget,
        "by_payer": by_payer,
        "total": {"baseline": m(base_ev.total_cost), "proposal": m(prop_ev.total_cost)},
        "saving": m(base_ev.total_cost - prop_ev.total_cost),
        "baseline_cases": len(base_placement),
        "proposal_cases": sum(prop_ev.provider_cases.values()),
        "baseline_closing": baseline_closing,
        "baseline_notes": _baseline_notes(instance, base_ev, baseline_closing),
        "proposal_violations": list(prop_ev.violations),
    }


def _dkk(value: Any) -> str:
    return f"{float(value):,.0f}".replace(",", " ")


def render_budget_table(table: Mapping[str, Any]) -> str:
    """The table as text, money in whole DKK a year."""
    w = 50
    lines = [f"{'DKK a year':<{w}} {'baseline':>14} {'proposal':>14} {'change':>14}"]
    for row in table["by_kind"]:
        if row["baseline"] or row["proposal"] or row["baseline_cases"] or row["proposal_cases"]:
            lines.append(
                f"  {row['label']:<{w - 2}} {_dkk(row['baseline']):>14} "
                f"{_dkk(row['proposal']):>14} {_dkk(row['change']):>14}"
            )
    total = table["total"]
    change = float(total["proposal"]) - float(total["baseline"])
    lines.append(
        f"  {'total':<{w - 2}} {_dkk(total['baseline']):>14} {_dkk(total['proposal']):>14} "
        f"{_dkk(change):>14}"
    )
    lines.append(f"  {'saving':<{w - 2}} {'':>14} {_dkk(table['saving']):>14}")
    if table["by_budget"]:
        lines.append("")
        lines.append(
            f"{'budget':<{w}} {'cap':>14} {'baseline':>14} {'proposal':>14} {'headroom':>14}"
        )
        for b in table["by_budget"]:
            lines.append(
                f"  {b['name']:<{w - 2}} {_dkk(b['max_annual_cost']):>14} "
                f"{_dkk(b['baseline']):>14} {_dkk(b['proposal']):>14} {_dkk(b['headroom']):>14}"
            )
    lines.append("")
    lines.append(f"{'payer':<{w}} {'cases':>14} {'baseline':>14} {'proposal':>14}")
    for row in table["by_payer"]:
        name = row["payer"] if row["payer"] is not None else row["label"]
        lines.append(
            f"  {name:<{w - 2}} {row['cases']:>14} {_dkk(row['baseline']):>14} "
            f"{_dkk(row['proposal']):>14}"
        )
    if table["baseline_notes"]:
        lines.append("")
        lines.append("Baseline notes")
        lines += [f"  - {n}" for n in table["baseline_notes"]]
    return "\n".join(lines)
