"""Which rules clash when no allocation is feasible.

Any unlocked case may stay unassigned and every provider's cost only grows with its
cases, so an instance has a feasible allocation exactly when placing the locked cases
alone (everything else unassigned) keeps every capacity, `max_cases` and budget. Each
rule that this placement breaks is a clash, and the list below is complete.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from solver.arrays import NO, Arrays


def _fmt_hours(h: Fraction) -> str:
    return f"{float(h):g} h/week"


def _fmt_dkk(v: Fraction) -> str:
    text = f"{float(v):,.0f}" if v.denominator == 1 else f"{float(v):,.2f}"
    return text.replace(",", " ") + " DKK"


def _names(ids: list[str], limit: int = 8) -> str:
    shown = ", ".join(ids[:limit])
    more = f" and {len(ids) - limit} more" if len(ids) > limit else ""
    return shown + more


def lock_conflicts(a: Arrays) -> list[str]:
    """Plain-language clashes between locks and capacity, `max_cases` and budgets."""
    out: list[str] = []
    locked = np.flatnonzero(a.case_lock != NO)
    # a locked case has exactly one pair, the first (and only) of its block
    lock_pair = dict(
        zip(locked.tolist(), np.searchsorted(a.pair_case, locked).tolist(), strict=True)
    )
    cost = np.where(a.optional, 0, a.fixed).astype(object)
    per_provider: dict[int, list[int]] = {}
    for j in locked.tolist():
        per_provider.setdefault(int(a.case_lock[j]), []).append(j)
    for i, cases in per_provider.items():
        pid = a.provider_ids[i]
        ids = [a.case_ids[j] for j in cases]
        ks = [lock_pair[j] for j in cases]
        load = int(a.pair_load[ks].sum())
        one = len(ids) == 1
        who = f"case {ids[0]} is" if one else f"cases {_names(ids)} are"
        if load > a.capacity[i]:
            capacity = Fraction(a.instance.providers[i].capacity_hours)
            out.append(
                f"{who} locked to {pid} and need{'s' if one else ''} "
                f"{_fmt_hours(a.hours(load))}; {pid} has {_fmt_hours(capacity)}"
            )
        if a.max_cases[i] != NO and len(ids) > a.max_cases[i]:
            limit = int(a.max_cases[i])
            cases_word = "case" if limit == 1 else "cases"
            out.append(f"{who} locked to {pid}; {pid} takes at most {limit} {cases_word}")
        billed = sum(int(a.pair_load[k]) for k in ks if not a.pair_offer[k])
        cost[i] = (
            int(a.fixed[i])
            + int(a.pair_offer_cost[ks].sum())
            + int(a.hour_price[i]) * max(0, billed - int(a.included[i]))
        )
    inst = a.instance
    for b in inst.budgets:
        counted = [
            i for i, p in enumerate(inst.providers) if p.kind in b.kinds or p.id in b.providers
        ]
        least = a.money(sum(int(cost[i]) for i in counted))
        if least > Fraction(b.max_annual_cost):
            parts = [
                f"{a.provider_ids[i]} {_fmt_dkk(a.money(int(cost[i])))}"
                for i in counted
                if cost[i] > 0
            ]
            out.append(
                f"budget '{b.name}' allows {_fmt_dkk(Fraction(b.max_annual_cost))} a year, "
                f"but fixed costs and locked cases alone cost {_fmt_dkk(least)} "
                f"({_names(parts)})"
            )
    return out
