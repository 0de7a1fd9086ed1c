"""The one place that turns an instance into a CP-SAT model. No I/O, no solving.

Variables: one boolean per eligible (case, provider) pair (plus locked pairs); an `open`
boolean per optional provider with a fixed cost; an excess-hours integer per provider
billed by the hour above its included hours; per family, a `uses` boolean per provider
and a count of extra providers. Auxiliary variables are bounded from below only
(`open >= x`, `excess >= hours - included`, ...): the objective and the budgets push them
down, which keeps the model linear and its LP relaxation tight. At an optimum they equal
the spec's formulas; a result is always re-evaluated from the assignment itself
(`heuristic.evaluate`), so a feasible solution never reports more than it costs.

All coefficients are integers in the `Arrays` money and hour units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from ortools.sat.python import cp_model

from solver.arrays import NO, Arrays

TERMS = ("cost", "relation", "continuity", "family", "kind", "unassigned")


@dataclass
class Term:
    """A part of the objective: `expr` + `constant`, in money units."""

    expr: cp_model.LinearExprT = 0
    constant: int = 0


@dataclass
class AllocationModel:
    arrays: Arrays
    model: cp_model.CpModel
    x: list[cp_model.IntVar]  # one per pair of `arrays`
    terms: dict[str, Term]
    provider_cost: list[Term]
    objective: cp_model.LinearExprT
    # Auxiliary variables with the pairs that define them (to hint them from x).
    opened: list[tuple[cp_model.IntVar, np.ndarray]] = field(default_factory=list)
    excess: list[tuple[cp_model.IntVar, np.ndarray, int]] = field(default_factory=list)
    uses: list[tuple[cp_model.IntVar, np.ndarray]] = field(default_factory=list)
    # With `build_model(..., switches=True)`: one literal per hard rule that can clash
    # (`lock:<case>`, `capacity:<provider>`, `max_cases:<provider>`, `budget:<n>`),
    # each rule enforced only when its literal is true (assumptions for clash reports).
    switches: dict[str, cp_model.IntVar] | None = None
    extra: list[tuple[cp_model.IntVar, list[np.ndarray]]] = field(default_factory=list)

    def assignment(self, solver: cp_model.CpSolver) -> np.ndarray:
        """Provider index per active case, or NO."""
        chosen = np.array([solver.boolean_value(v) for v in self.x], bool)
        out = np.full(self.arrays.n_cases, NO, int)
        out[self.arrays.pair_case[chosen]] = self.arrays.pair_provider[chosen]
        return out

    def set_hint(self, assign: np.ndarray) -> None:
        """Hint every variable with the values the assignment `assign` gives it."""
        a = self.arrays
        xv = (assign[a.pair_case] == a.pair_provider).astype(int)
        self.model.clear_hints()
        for var, value in zip(self.x, xv.tolist(), strict=True):
            self.model.add_hint(var, value)
        for var, idx in self.opened:
            self.model.add_hint(var, int(xv[idx].any()))
        for var, idx, included in self.excess:
            self.model.add_hint(var, max(0, int(a.pair_load[idx] @ xv[idx]) - included))
        for var, idx in self.uses:
            self.model.add_hint(var, int(xv[idx].any()))
        for var, groups in self.extra:
            self.model.add_hint(var, max(0, sum(int(xv[g].any()) for g in groups) - 1))


def _groups(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """Pair indices grouped by key 0..n-1 (stable order)."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(n)]


def _sum(xs: list[cp_model.IntVar], idx: np.ndarray, coeffs: np.ndarray | None = None):
    variables = [xs[k] for k in idx.tolist()]
    if coeffs is None:
        return cp_model.LinearExpr.sum(variables)
    return cp_model.LinearExpr.weighted_sum(variables, coeffs.tolist())


def build_model(a: Arrays, switches: bool = False) -> AllocationModel:
    m = cp_model.CpModel()
    x = [m.new_bool_var(f"x{k}") for k in range(len(a.pair_case))]
    by_case = _groups(a.pair_case, a.n_cases)
    by_provider = _groups(a.pair_provider, a.n_providers)
    am = AllocationModel(a, m, x, {}, [], 0, switches={} if switches else None)
    _add_placement(am, by_case)
    _add_capacity(am, by_provider)
    _add_provider_costs(am, by_provider)
    _add_budgets(am)
    _add_penalties(am)
    am.objective = cp_model.LinearExpr.sum([t.expr for t in am.terms.values()])
    m.minimize(am.objective)
    return am


def _hard(am: AllocationModel, constraint: cp_model.Constraint, rule: str) -> None:
    """A rule that may clash: switchable when the model is built with switches."""
    if am.switches is not None:
        am.switches[rule] = am.model.new_bool_var(rule)
        constraint.only_enforce_if(am.switches[rule])


def _add_placement(am: AllocationModel, by_case: list[np.ndarray]) -> None:
    """Each active case at most one provider; a locked case exactly at its lock."""
    a = am.arrays
    for j, idx in enumerate(by_case):
        if a.case_lock[j] != NO:  # a locked case has its one pair only
            _hard(am, am.model.add(am.x[int(idx[0])] == 1), f"lock:{a.case_ids[j]}")
        elif len(idx) > 1:
            am.model.add_at_most_one(am.x[k] for k in idx.tolist())


def _add_capacity(am: AllocationModel, by_provider: list[np.ndarray]) -> None:
    a = am.arrays
    for i, idx in enumerate(by_provider):
        pid = a.provider_ids[i]
        if a.pair_load[idx].sum() > a.capacity[i]:
            load = _sum(am.x, idx, a.pair_load[idx])
            _hard(am, am.model.add(load <= int(a.capacity[i])), f"capacity:{pid}")
        if a.max_cases[i] != NO and len(idx) > a.max_cases[i]:
            count = _sum(am.x, idx)
            _hard(am, am.model.add(count <= int(a.max_cases[i])), f"max_cases:{pid}")


def _add_provider_costs(am: AllocationModel, by_provider: list[np.ndarray]) -> None:
    """cost_i = fixed (if kept open) + hourly price x hours above included + offers."""
    a, m = am.arrays, am.model
    for i, idx in enumerate(by_provider):
        parts: list = []
        constant = 0
        if a.fixed[i] > 0 and not a.optional[i]:
            constant = int(a.fixed[i])
        elif a.fixed[i] > 0 and len(idx):
            is_open = m.new_bool_var(f"open{i}")
            for k in idx.tolist():
                m.add_implication(am.x[k], is_open)
            am.opened.append((is_open, idx))
            parts.append(int(a.fixed[i]) * is_open)
        billed = idx[~a.pair_offer[idx]]
        most = int(a.pair_load[billed].sum())
        if a.hour_price[i] > 0 and most > a.included[i]:
            hours = _sum(am.x, billed, a.pair_load[billed])
            if a.included[i] > 0:
                above = m.new_int_var(0, most - int(a.included[i]), f"excess{i}")
                m.add(above >= hours - int(a.included[i]))
                am.excess.append((above, billed, int(a.included[i])))
                hours = above
            parts.append(int(a.hour_price[i]) * hours)
        offered = idx[a.pair_offer[idx]]
        if len(offered):
            parts.append(_sum(am.x, offered, a.pair_offer_cost[offered]))
        am.provider_cost.append(Term(cp_model.LinearExpr.sum(parts), constant))
    am.terms["cost"] = Term(
        cp_model.LinearExpr.sum([t.expr for t in am.provider_cost]),
        sum(t.constant for t in am.provider_cost),
    )


def _add_budgets(am: AllocationModel) -> None:
    caps = am.arrays.budget_cap.tolist()
    for n, (members, cap) in enumerate(zip(am.arrays.budget_members, caps, strict=True)):
        terms = [am.provider_cost[i] for i in members.tolist()]
        spent = cp_model.LinearExpr.sum([t.expr for t in terms]) + sum(t.constant for t in terms)
        _hard(am, am.model.add(spent <= cap), f"budget:{n}")


def _add_penalties(am: AllocationModel) -> None:
    a, m, w = am.arrays, am.model, am.arrays.weight
    everything = np.arange(len(a.pair_case))

    rel = w["relation_per_level"]
    given = everything[a.pair_level > 0]
    am.terms["relation"] = Term(
        -_sum(am.x, given, rel * a.pair_level[given]) if rel else 0,
        rel * int(a.case_max_level.sum()),
    )

    cont = w["continuity"]
    kept = everything[a.pair_provider == a.case_current[a.pair_case]]
    am.terms["continuity"] = Term(
        -cont * _sum(am.x, kept) if cont else 0,
        cont * int((a.case_current != NO).sum()),
    )

    fam = w["family_split"]
    splits = []
    if fam:
        family_pairs = everything[a.case_family[a.pair_case] != NO]
        for f, idx in enumerate(_groups(a.case_family[a.pair_case[family_pairs]], a.n_families)):
            idx = family_pairs[idx]
            groups = [g for g in _groups(a.pair_provider[idx], a.n_providers) if len(g)]
            groups = [idx[g] for g in groups]
            if len(groups) < 2:
                continue
            uses = []
            for g in groups:
                if len(g) == 1:
                    uses.append(am.x[int(g[0])])
                    continue
                u = m.new_bool_var(f"uses{f}")
                for k in g.tolist():
                    m.add_implication(am.x[k], u)
                am.uses.append((u, g))
                uses.append(u)
            extra = m.new_int_var(0, len(uses) - 1, f"split{f}")
            m.add(extra >= cp_model.LinearExpr.sum(uses) - 1)
            am.extra.append((extra, groups))
            splits.append(extra)
    am.terms["family"] = Term(fam * cp_model.LinearExpr.sum(splits) if splits else 0, 0)

    coeff = a.pair_kind_penalty
    charged = everything[coeff > 0]
    am.terms["kind"] = Term(_sum(am.x, charged, coeff[charged]) if len(charged) else 0, 0)

    miss = w["unassigned"]
    am.terms["unassigned"] = Term(-miss * _sum(am.x, everything) if miss else 0, miss * a.n_cases)
