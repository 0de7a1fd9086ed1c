"""Why an active case is left unassigned, in the committee's words."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from solver.arrays import NO, Arrays
from solver.heuristic import Tracker
from solver.instance import KINDS, Case, Provider


def _dkk(value: Decimal) -> str:
    text = f"{value:,.0f}" if value == value.to_integral_value() else f"{value:,.2f}"
    return text.replace(",", " ") + " DKK"


def _quoted(items: list[str]) -> str:
    return ", ".join(f'"{x}"' for x in items)


def no_provider_reason(case: Case, providers: tuple[Provider, ...]) -> str:
    """Why no provider is eligible: the first rule that leaves nobody, then (with providers
    of several kinds) the rule that excludes each kind."""
    reason = _first_rule_leaving_nobody(case, providers)
    kinds = [k for k in KINDS if any(p.kind == k for p in providers)]
    if len(kinds) < 2:
        return reason
    detail = "; ".join(
        f"{k}: {_kind_rule(case, [p for p in providers if p.kind == k])}" for k in kinds
    )
    return f"{reason} (by kind: {detail})"


def _kind_rule(case: Case, group: list[Provider]) -> str:
    """The rule that excludes the last providers of one kind, in a few words."""
    pool = [p for p in group if set(case.needs) <= set(p.competences)]
    if not pool:
        have = {c for p in group for c in p.competences}
        missing = [n for n in case.needs if n not in have] or list(case.needs)
        return f"lacks {_quoted(missing)}"
    aged = [
        p
        for p in pool
        if (p.min_age is None or p.min_age <= case.age)
        and (p.max_age is None or case.age <= p.max_age)
    ]
    if not aged:
        return f"does not serve age {case.age}"
    placed = [p for p in aged if not p.districts or case.district in p.districts]
    if not placed:
        return (
            "case has no district"
            if case.district is None
            else (f"does not serve district {case.district}")
        )
    if all(p.id in case.forbidden_providers for p in placed):
        return "forbidden for this case"
    return "takes no new cases"


def _first_rule_leaving_nobody(case: Case, providers: tuple[Provider, ...]) -> str:
    pool = [p for p in providers if set(case.needs) <= set(p.competences)]
    if not pool:
        missing = [n for n in case.needs if not any(n in p.competences for p in providers)]
        if missing:
            word = "competence" if len(missing) == 1 else "competences"
            return f"no provider has {word} {_quoted(missing)}"
        return f"no provider has all of the competences {_quoted(list(case.needs))}"
    qual, has = "", ""
    if case.needs:
        word = "competence" if len(case.needs) == 1 else "competences"
        qual = f" with {word} {_quoted(list(case.needs))}"
        has = f" has {word} {_quoted(list(case.needs))} for"
    pool = [
        p
        for p in pool
        if (p.min_age is None or p.min_age <= case.age)
        and (p.max_age is None or case.age <= p.max_age)
    ]
    if not pool:
        return f"no provider{has or ' serves'} age {case.age}"
    qual += f" for age {case.age}"
    pool = [p for p in pool if not p.districts or case.district in p.districts]
    if not pool:
        if case.district is None:
            return f"the case has no district and every provider{qual} serves listed districts only"
        return f"no provider{qual} serves district {case.district}"
    if case.district is not None:
        qual += f" in district {case.district}"
    allowed = [p for p in pool if p.id not in case.forbidden_providers]
    if not allowed:
        ids = ", ".join(p.id for p in pool)
        return f"every provider{qual} is forbidden for this case ({ids})"
    ids = ", ".join(p.id for p in allowed)
    return f"every provider{qual} takes no new cases ({ids})"


def unassigned_reasons(a: Arrays, assign: np.ndarray, proven: bool) -> dict[str, str]:
    """Case id -> reason, for every active case that `assign` leaves unassigned."""
    inst = a.instance
    st = Tracker.of(a, assign)
    first = np.searchsorted(a.pair_case, np.arange(a.n_cases + 1))
    out: dict[str, str] = {}
    for j in np.flatnonzero(assign == NO).tolist():
        case = inst.cases[int(a.case_index[j])]
        pairs = np.arange(first[j], first[j + 1])
        if len(pairs) == 0:
            out[case.id] = no_provider_reason(case, inst.providers)
            continue
        blocked = {int(k): st.blocked_by(int(k)) for k in pairs}
        open_pairs = [k for k, why in blocked.items() if why is None]
        if not open_pairs:
            limits = set(blocked.values())
            if limits == {"hours"}:
                out[case.id] = "capacity of every eligible provider is used"
            else:
                detail = "; ".join(
                    f"{a.provider_ids[int(a.pair_provider[k])]}: "
                    + ("max cases" if why == "max_cases" else why)
                    for k, why in blocked.items()
                )
                out[case.id] = f"every eligible provider is full or over budget ({detail})"
            continue
        delta, k = min((st.add_delta(k), k) for k in open_pairs)
        pid = a.provider_ids[int(a.pair_provider[k])]
        if delta >= 0:
            out[case.id] = (
                f"placing it costs more than leaving it: at the best eligible provider ({pid}) "
                "its cost and penalties come to at least the unassigned penalty of "
                f"{_dkk(inst.weights.unassigned)}"
            )
        elif proven:
            out[case.id] = f"other placements use the room it would need at {pid}"
        else:
            out[case.id] = (
                f"not placed in the time limit ({pid} could take it); the allocation is not "
                "proven optimal"
            )
    return out
