"""Independent recomputation of an allocation from the spec (docs/instance-format.md).

This module is the second opinion on the solver. It shares no code with the model builder:
it reads only the data model (`solver.instance`) and re-implements eligibility, load,
capacity, the cost formula, budgets and every penalty directly from the spec's text, in
plain Python with exact arithmetic (`fractions.Fraction`, no tolerance).

- `evaluate(instance, placement)` recomputes one placement (active case id -> provider id)
  and lists every broken rule as a plain sentence.
- `check(instance, allocation)` checks an allocation/1 document (as loaded from JSON):
  its format and status, that it places every active case at most once and lists the
  others as unassigned, every feasibility rule, and that each reported number matches the
  recomputation (money within 1 DKK, hours within 0.01).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

from solver.instance import Case, Instance, Provider

PENALTY_NAMES = ("relation", "continuity", "family", "kind", "unassigned")
STATUSES = ("optimal", "feasible", "infeasible", "unknown")
MONEY_TOLERANCE = Fraction(1)  # DKK
HOURS_TOLERANCE = Fraction(1, 100)  # hours per week


@dataclass
class Evaluation:
    """The recomputed allocation: broken rules, costs, penalties and the objective."""

    violations: list[str]
    provider_cost: dict[str, Fraction]
    total_cost: Fraction
    penalties: dict[str, Fraction]
    objective: Fraction
    provider_cases: dict[str, int]
    provider_hours: dict[str, Fraction]

    @property
    def feasible(self) -> bool:
        return not self.violations


@dataclass
class CheckReport:
    """The outcome of checking an allocation/1 document against its instance."""

    violations: list[str] = field(default_factory=list)
    evaluation: Evaluation | None = None

    @property
    def ok(self) -> bool:
        return not self.violations


# --- eligibility -------------------------------------------------------------------------


def ineligibility(case: Case, provider: Provider) -> list[str]:
    """Why the pair is not eligible under the spec's rules (ignoring locks); [] if eligible."""
    reasons: list[str] = []
    missing = [need for need in case.needs if need not in provider.competences]
    if missing:
        reasons.append(f"lacks competence {', '.join(missing)}")
    if provider.min_age is not None and case.age < provider.min_age:
        reasons.append(f"age {case.age} is below min_age {provider.min_age}")
    if provider.max_age is not None and case.age > provider.max_age:
        reasons.append(f"age {case.age} is above max_age {provider.max_age}")
    if provider.districts:
        if case.district is None:
            reasons.append("the case has no district and the provider serves only some")
        elif case.district not in provider.districts:
            reasons.append(f"does not serve district {case.district}")
    if provider.id in case.forbidden_providers:
        reasons.append("is in the case's forbidden_providers")
    if not provider.accepts_new and case.current_provider != provider.id:
        reasons.append("does not accept new cases")
    return reasons


def eligible(case: Case, provider: Provider) -> bool:
    """The spec's eligibility of a (case, provider) pair, locks not considered."""
    return not ineligibility(case, provider)


def allowed(case: Case, provider: Provider) -> bool:
    """May the case be placed at the provider: its lock if it has one, else eligibility."""
    if case.must_provider is not None:
        return provider.id == case.must_provider
    return eligible(case, provider)


# --- evaluation --------------------------------------------------------------------------


def _fmt(value: Fraction) -> str:
    """A readable exact-enough number: integers as such, others with 2 decimals."""
    if value.denominator == 1:
        return str(value.numerator)
    return f"{float(value):.2f}"


def evaluate(instance: Instance, placement: Mapping[str, str]) -> Evaluation:
    """Recompute a placement (active case id -> provider id; unplaced cases absent)."""
    violations: list[str] = []
    providers = {p.id: p for p in instance.providers}
    cases = {c.id: c for c in instance.cases}
    offers = {(o.case, o.provider): o for o in instance.offers}
    weeks = Fraction(instance.weeks_per_year)
    w = instance.weights

    # Which placements count: an existing active case at an existing provider.
    placed: dict[str, str] = {}
    for case_id, provider_id in placement.items():
        case = cases.get(case_id)
        if case is None:
            violations.append(f"case {case_id}: is not in the instance")
            continue
        if case.status != "active":
            violations.append(f"case {case_id}: is {case.status} and must not be placed")
            continue
        provider = providers.get(provider_id)
        if provider is None:
            violations.append(f"case {case_id}: placed at unknown provider {provider_id}")
            continue
        if case.must_provider is not None:
            if provider_id != case.must_provider:
                violations.append(
                    f"case {case_id}: locked to provider {case.must_provider} "
                    f"but placed at {provider_id}"
                )
        else:
            reasons = ineligibility(case, provider)
            if reasons:
                violations.append(
                    f"case {case_id}: not eligible at provider {provider_id} ({'; '.join(reasons)})"
                )
        placed[case_id] = provider_id

    for case in instance.cases:
        if case.status == "active" and case.must_provider is not None and case.id not in placed:
            if case.id not in placement:
                violations.append(
                    f"case {case.id}: locked to provider {case.must_provider} but left unassigned"
                )

    # Load, case count and cost per provider.
    provider_cases = {p.id: 0 for p in instance.providers}
    provider_hours = {p.id: Fraction(0) for p in instance.providers}
    billed_hours = {p.id: Fraction(0) for p in instance.providers}
    offer_cost = {p.id: Fraction(0) for p in instance.providers}
    for case_id, provider_id in placed.items():
        case = cases[case_id]
        offer = offers.get((case_id, provider_id))
        provider_cases[provider_id] += 1
        if offer is None:
            load = Fraction(case.hours_per_week)
            billed_hours[provider_id] += load
        else:
            hours = offer.hours_per_week
            load = Fraction(hours if hours is not None else case.hours_per_week)
            offer_cost[provider_id] += Fraction(offer.annual_cost)
        provider_hours[provider_id] += load

    provider_cost: dict[str, Fraction] = {}
    for p in instance.providers:
        used = provider_cases[p.id] > 0
        cost = Fraction(0)
        if not p.optional or used:
            cost += Fraction(p.fixed_cost)
        above = max(Fraction(0), billed_hours[p.id] - Fraction(p.included_hours))
        cost += Fraction(p.hourly_rate) * weeks * above
        cost += offer_cost[p.id]
        provider_cost[p.id] = cost

        capacity = Fraction(p.capacity_hours)
        if provider_hours[p.id] > capacity:
            violations.append(
                f"provider {p.id}: load {_fmt(provider_hours[p.id])} h/week exceeds "
                f"capacity_hours {_fmt(capacity)}"
            )
        if p.max_cases is not None and provider_cases[p.id] > p.max_cases:
            violations.append(
                f"provider {p.id}: {provider_cases[p.id]} cases exceed max_cases {p.max_cases}"
            )

    for budget in instance.budgets:
        counted = [
            p.id for p in instance.providers if p.kind in budget.kinds or p.id in budget.providers
        ]
        spent = sum((provider_cost[pid] for pid in counted), Fraction(0))
        cap = Fraction(budget.max_annual_cost)
        if spent > cap:
            violations.append(
                f"budget {budget.name}: annual cost {_fmt(spent)} of providers "
                f"{', '.join(counted)} exceeds max_annual_cost {_fmt(cap)}"
            )

    # Penalties, per active case and per family.
    penalties = {name: Fraction(0) for name in PENALTY_NAMES}
    families: dict[str, set[str]] = {}
    for case in instance.cases:
        if case.status != "active":
            continue
        chosen = placed.get(case.id)
        strongest = max(case.relations.values(), default=0)
        given = case.relations.get(chosen, 0) if chosen is not None else 0
        penalties["relation"] += Fraction(w.relation_per_level) * (strongest - given)
        if case.current_provider in providers and chosen != case.current_provider:
            penalties["continuity"] += Fraction(w.continuity)
        if chosen is None:
            penalties["unassigned"] += Fraction(w.unassigned)
            continue
        kind = providers[chosen].kind
        penalties["kind"] += Fraction(w.kind_penalty.get(kind, 0))
        if case.family is not None:
            families.setdefault(case.family, set()).add(chosen)
    for used_providers in families.values():
        penalties["family"] += Fraction(w.family_split) * max(0, len(used_providers) - 1)

    total_cost = sum(provider_cost.values(), Fraction(0))
    objective = total_cost + sum(penalties.values(), Fraction(0))
    return Evaluation(
        violations=violations,
        provider_cost=provider_cost,
        total_cost=total_cost,
        penalties=penalties,
        objective=objective,
        provider_cases=provider_cases,
        provider_hours=provider_hours,
    )


# --- checking an allocation/1 document ---------------------------------------------------


def _number(value: Any) -> Fraction | None:
    """A JSON number as an exact Fraction; None for null, booleans and non-numbers."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | Fraction):
        return Fraction(value)
    if isinstance(value, float | Decimal):
        number = Decimal(str(value))
        return Fraction(number) if number.is_finite() else None
    return None


def _compare(
    violations: list[str],
    what: str,
    reported: Any,
    computed: Fraction,
    tolerance: Fraction,
) -> None:
    number = _number(reported)
    if number is None:
        violations.append(
            f"{what}: reported {reported!r} is not a number, recomputed {_fmt(computed)}"
        )
    elif abs(number - computed) > tolerance:
        violations.append(f"{what}: reported {_fmt(number)} but recomputed {_fmt(computed)}")


def _entries(violations: list[str], allocation: Mapping, key: str) -> list[Mapping]:
    value = allocation.get(key, [])
    if value is None:
        value = []
    if not isinstance(value, list):
        violations.append(f"{key}: must be a list")
        return []
    good = []
    for n, entry in enumerate(value, start=1):
        if isinstance(entry, Mapping):
            good.append(entry)
        else:
            violations.append(f"{key} #{n}: must be an object")
    return good


def check(instance: Instance, allocation: Mapping) -> CheckReport:
    """Check an allocation/1 document against the instance it claims to solve."""
    report = CheckReport()
    v = report.violations
    if not isinstance(allocation, Mapping):
        v.append("the allocation must be a JSON object")
        return report

    fmt = allocation.get("format")
    if fmt != "allocation/1":
        v.append(f"format: must be 'allocation/1', found {fmt!r}")
    status = allocation.get("status")
    if status not in STATUSES:
        v.append(f"status: must be one of {', '.join(STATUSES)}, found {status!r}")
        return report

    assignments = _entries(v, allocation, "assignments")
    if status in ("infeasible", "unknown"):
        if allocation.get("objective") is not None:
            v.append(f"objective: must be null when status is {status}")
        if assignments:
            v.append(f"assignments: must be empty when status is {status}")
        return report

    cases = {c.id: c for c in instance.cases}
    placement: dict[str, str] = {}
    for n, entry in enumerate(assignments, start=1):
        case_id, provider_id = entry.get("case"), entry.get("provider")
        if not isinstance(case_id, str) or not isinstance(provider_id, str):
            v.append(f"assignments #{n}: needs a case id and a provider id")
            continue
        case = cases.get(case_id)
        if case is None:
            v.append(f"case {case_id}: assigned but is not in the instance")
        elif case.status != "active":
            v.append(f"case {case_id}: assigned but is {case.status}")
        elif case_id in placement:
            v.append(
                f"case {case_id}: assigned more than once "
                f"(at {placement[case_id]} and at {provider_id})"
            )
        else:
            placement[case_id] = provider_id

    listed: set[str] = set()
    for n, entry in enumerate(_entries(v, allocation, "unassigned"), start=1):
        case_id = entry.get("case")
        if not isinstance(case_id, str):
            v.append(f"unassigned #{n}: needs a case id")
        elif case_id in listed:
            v.append(f"case {case_id}: listed as unassigned more than once")
        elif case_id in placement:
            v.append(f"case {case_id}: listed as unassigned but assigned to {placement[case_id]}")
        elif case_id not in cases or cases[case_id].status != "active":
            v.append(f"case {case_id}: listed as unassigned but is not an active case")
        listed.add(case_id)
    for case in instance.cases:
        if case.status == "active" and case.id not in placement and case.id not in listed:
            v.append(f"case {case.id}: neither assigned nor listed as unassigned")

    evaluation = evaluate(instance, placement)
    report.evaluation = evaluation
    v.extend(evaluation.violations)

    _compare(v, "objective", allocation.get("objective"), evaluation.objective, MONEY_TOLERANCE)
    _compare(v, "total_cost", allocation.get("total_cost"), evaluation.total_cost, MONEY_TOLERANCE)
    penalties = allocation.get("penalties")
    if not isinstance(penalties, Mapping):
        v.append("penalties: must be an object with relation, continuity, family, kind, unassigned")
    else:
        for name in PENALTY_NAMES:
            _compare(
                v,
                f"penalties.{name}",
                penalties.get(name),
                evaluation.penalties[name],
                MONEY_TOLERANCE,
            )

    seen: set[str] = set()
    for n, entry in enumerate(_entries(v, allocation, "providers"), start=1):
        pid = entry.get("id")
        if not isinstance(pid, str) or pid not in evaluation.provider_cost:
            v.append(f"providers #{n}: id {pid!r} is not a provider of the instance")
            continue
        if pid in seen:
            v.append(f"provider {pid}: has more than one entry in providers")
            continue
        seen.add(pid)
        cases_reported = entry.get("cases")
        if isinstance(cases_reported, bool) or cases_reported != evaluation.provider_cases[pid]:
            v.append(
                f"provider {pid}: cases reported {cases_reported!r} but recomputed "
                f"{evaluation.provider_cases[pid]}"
            )
        _compare(
            v,
            f"provider {pid}: hours",
            entry.get("hours"),
            evaluation.provider_hours[pid],
            HOURS_TOLERANCE,
        )
        _compare(
            v,
            f"provider {pid}: annual_cost",
            entry.get("annual_cost"),
            evaluation.provider_cost[pid],
            MONEY_TOLERANCE,
        )
    for p in instance.providers:
        if p.id not in seen:
            v.append(f"provider {p.id}: has no entry in providers")

    bound_raw = allocation.get("bound")
    bound = _number(bound_raw)
    if bound_raw is not None and bound is None:
        v.append(f"bound: reported {bound_raw!r} is not a number")
    if status == "optimal":
        if bound is None:
            v.append("bound: must be a number when status is optimal")
        elif abs(bound - evaluation.objective) > MONEY_TOLERANCE:
            v.append(
                f"bound: {_fmt(bound)} is not within 1 DKK of the recomputed objective "
                f"{_fmt(evaluation.objective)} although status is optimal"
            )
    elif bound is not None and bound > evaluation.objective + MONEY_TOLERANCE:
        v.append(
            f"bound: {_fmt(bound)} exceeds the recomputed objective {_fmt(evaluation.objective)}"
        )
    return report
