"""Which rules clash when no allocation is feasible, as minimal sets in plain words.

Any unlocked case may stay unassigned and a provider's cost only grows with its cases, so
an instance has a feasible allocation exactly when placing the locked cases alone keeps
every capacity, `max_cases` and budget. `broken_limits` checks that directly. For each
broken limit, the model is built with a switch (an assumption literal) on every rule that
can clash (each lock, capacity, `max_cases`, budget); CP-SAT returns a set of switches
that cannot hold together, which is shrunk by deletion until dropping any one rule makes
the rest feasible: a minimal clash, described in the committee's words.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from solver.arrays import NO, Arrays
from solver.model import build_model


def _locked_cost(a: Arrays, cases: list[int]) -> tuple[dict[int, int], dict[int, int]]:
    """Load (hour units) and cost (money units) per provider with only `cases` placed."""
    first = np.searchsorted(a.pair_case, np.array(cases, int)).tolist()
    load: dict[int, int] = {}
    billed: dict[int, int] = {}
    cost = {i: int(a.fixed[i]) for i in range(a.n_providers) if not a.optional[i]}
    for k in first:  # a locked case has exactly one pair, the first of its block
        i = int(a.pair_provider[k])
        load[i] = load.get(i, 0) + int(a.pair_load[k])
        cost.setdefault(i, int(a.fixed[i]))
        if a.pair_offer[k]:
            cost[i] += int(a.pair_offer_cost[k])
        else:
            billed[i] = billed.get(i, 0) + int(a.pair_load[k])
    for i, hours in billed.items():
        cost[i] += int(a.hour_price[i]) * max(0, hours - int(a.included[i]))
    return load, cost


def broken_limits(a: Arrays) -> list[str]:
    """Limits (`capacity:<id>`, `max_cases:<id>`, `budget:<n>`) the locks alone break."""
    locked = np.flatnonzero(a.case_lock != NO).tolist()
    load, cost = _locked_cost(a, locked)
    count = np.bincount(a.case_lock[locked], minlength=a.n_providers) if locked else None
    out = []
    for i, pid in enumerate(a.provider_ids):
        if load.get(i, 0) > a.capacity[i]:
            out.append(f"capacity:{pid}")
        if count is not None and a.max_cases[i] != NO and count[i] > a.max_cases[i]:
            out.append(f"max_cases:{pid}")
    for n, (members, cap) in enumerate(zip(a.budget_members, a.budget_cap, strict=True)):
        if sum(cost.get(i, 0) for i in members.tolist()) > cap:
            out.append(f"budget:{n}")
    return out


def feasible(a: Arrays, rules: set[str]) -> bool:
    """Whether the switchable rules `rules` can hold together (the others switched off)."""
    return _solve(a, rules)[0] != cp_model.INFEASIBLE


def _solve(a: Arrays, rules: set[str]) -> tuple[int, list[str]]:
    am = build_model(a, switches=True)
    assert am.switches is not None
    am.model.clear_objective()
    for name, index in am.switches.items():
        lit = am.model.get_bool_var_from_proto_index(index)
        if name in rules:
            am.model.add_assumption(lit)
        else:
            am.model.add(lit == 0)
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1  # cores of assumptions need a single worker
    solver.parameters.max_time_in_seconds = 30
    status = solver.solve(am.model)
    names = {index: name for name, index in am.switches.items()}
    core = []
    if status == cp_model.INFEASIBLE:
        core = [names[i] for i in solver.sufficient_assumptions_for_infeasibility()]
    return status, core


def minimal_clashes(a: Arrays) -> list[list[str]]:
    """One minimal clash (a limit and the fewest locks that break it) per broken limit."""
    locks = {f"lock:{a.case_ids[j]}" for j in np.flatnonzero(a.case_lock != NO).tolist()}
    clashes = []
    for limit in broken_limits(a):
        status, core = _solve(a, locks | {limit})
        assert status == cp_model.INFEASIBLE, f"{limit} is broken by the locks alone"
        for rule in list(core):
            if rule != limit and not feasible(a, set(core) - {rule}):
                core.remove(rule)
        clashes.append(sorted(core, key=lambda r: (not r.startswith("lock:"), r)))
    return clashes


def describe(a: Arrays, clash: list[str]) -> str:
    """A clash as one sentence, e.g. `cases U003 and U009 are locked to klub-nord and need
    14 h/week; klub-nord has 10 h/week`."""
    case_index = {c: j for j, c in enumerate(a.case_ids)}
    cases = [case_index[r.split(":", 1)[1]] for r in clash if r.startswith("lock:")]
    ids = [a.case_ids[j] for j in cases]
    one = len(ids) == 1
    names = ids[0] if one else f"{', '.join(ids[:-1])} and {ids[-1]}" if ids else ""
    who = f"case {names} is" if one else f"cases {names} are"
    (limit,) = [r for r in clash if not r.startswith("lock:")]
    kind, _, key = limit.partition(":")
    load, cost = _locked_cost(a, cases)
    if kind == "budget":
        b = a.instance.budgets[int(key)]
        members = a.budget_members[int(key)].tolist()
        least = a.money(sum(cost.get(i, 0) for i in members))
        parts = [f"{a.provider_ids[i]} {_dkk(a.money(cost[i]))}" for i in members if cost.get(i, 0)]
        what = f" and locked case{'' if one else 's'} {names}" if ids else ""
        return (
            f"budget '{b.name}' allows {_dkk(Fraction(b.max_annual_cost))} a year, but fixed "
            f"costs{what} alone cost {_dkk(least)} ({', '.join(parts)})"
        )
    i = a.provider_ids.index(key)
    if kind == "capacity":
        capacity = Fraction(a.instance.providers[i].capacity_hours)
        return (
            f"{who} locked to {key} and need{'s' if one else ''} "
            f"{_hours(a.hours(load.get(i, 0)))}; {key} has {_hours(capacity)}"
        )
    limit_n = int(a.max_cases[i])
    return f"{who} locked to {key}; {key} takes at most {limit_n} case{'' if limit_n == 1 else 's'}"


def lock_conflicts(a: Arrays) -> list[str]:
    """Every broken limit with a minimal set of locks that breaks it, in words."""
    return [describe(a, clash) for clash in minimal_clashes(a)]


def _hours(h: Fraction) -> str:
    return f"{float(h):g} h/week"


def _dkk(v: Fraction) -> str:
    text = f"{float(v):,.0f}" if v.denominator == 1 else f"{float(v):,.2f}"
    return text.replace(",", " ") + " DKK"
