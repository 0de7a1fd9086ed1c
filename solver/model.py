"""The one place that turns an instance into its 0-1 linear model, for CP-SAT and the LP.

Variables: one boolean per eligible (case, provider) pair (plus locked pairs), numbered
0..pairs-1; an `open` boolean per optional provider with a fixed cost; an excess-hours
integer per provider billed by the hour above its included hours; per family, a `uses`
boolean per provider and a count of extra providers. Auxiliary variables are bounded from
below only (`open >= x`, `excess >= hours - included`, ...): the objective and the budgets
push them down, which keeps the model linear and its LP relaxation tight. At an optimum
they equal the spec's formulas; a result is always re-evaluated from the assignment itself
(`heuristic.evaluate`), so a feasible solution never reports more than it costs.

Every constraint is a linear row `lo <= coeffs . vars <= hi`, kept as numpy arrays
(`rows`, read by `solver.lp` for the LP relaxation) and written straight into the CP-SAT
proto in bulk: no Python object per pair.

All coefficients are integers in the `Arrays` money and hour units.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np
from ortools.sat.python import cp_model

from solver.arrays import NO, Arrays

TERMS = ("cost", "relation", "continuity", "family", "kind", "unassigned")
INF = 2**63 - 1  # no upper side of a row (CP-SAT's own encoding)
NEG_INF = -(2**63)  # no lower side
EMPTY = np.zeros(0, np.int64)


@dataclass
class Term:
    """A part of the objective: sum of coeffs x vars + constant, in money units."""

    vars: np.ndarray = field(default_factory=lambda: EMPTY)
    coeffs: np.ndarray = field(default_factory=lambda: EMPTY)
    constant: int = 0

    @staticmethod
    def join(terms: list[Term]) -> Term:
        return Term(
            np.concatenate([EMPTY, *(t.vars for t in terms)]),
            np.concatenate([EMPTY, *(t.coeffs for t in terms)]),
            sum(t.constant for t in terms),
        )


@dataclass
class Row:
    """lo <= coeffs . vars <= hi (NEG_INF / INF for no side)."""

    vars: np.ndarray
    coeffs: np.ndarray
    lo: int
    hi: int


@dataclass
class AllocationModel:
    arrays: Arrays
    model: cp_model.CpModel
    terms: dict[str, Term]
    provider_cost: list[Term]
    rows: list[Row] = field(default_factory=list)
    # target >= x rows, one per pair: (pair indices, target variable) for the `open` of
    # optional providers and the `uses` of families
    implied: list[tuple[np.ndarray, int]] = field(default_factory=list)
    opened: list[tuple[int, np.ndarray]] = field(default_factory=list)  # (open, pairs)
    placement: list[int] = field(default_factory=list)  # rows: one case's pairs, <= 1 or == 1
    # Objective: sum of coeffs x vars (duplicates merged) + constant.
    objective_vars: np.ndarray = field(default_factory=lambda: EMPTY)
    objective_coeffs: np.ndarray = field(default_factory=lambda: EMPTY)
    # Auxiliary variables with the pairs that define them (to hint them from x).
    excess: list[tuple[int, np.ndarray, int]] = field(default_factory=list)
    extra: list[tuple[int, list[np.ndarray]]] = field(default_factory=list)
    # With `build_model(..., switches=True)`: one literal per hard rule that can clash
    # (`lock:<case>`, `capacity:<provider>`, `max_cases:<provider>`, `budget:<n>`),
    # each rule enforced only when its literal is true (assumptions for clash reports).
    switches: dict[str, int] | None = None
    aux_bounds: list[tuple[int, int]] = field(default_factory=list)  # variables after pairs
    placed_all: bool = False  # `place_all` was called

    @property
    def n_pairs(self) -> int:
        return len(self.arrays.pair_case)

    @property
    def constant(self) -> int:
        return sum(t.constant for t in self.terms.values())

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bound of every variable as built (pairs 0..1 first)."""
        lo, hi = zip(*self.aux_bounds, strict=True) if self.aux_bounds else ((), ())
        return (
            np.concatenate([np.zeros(self.n_pairs, np.int64), np.array(lo, np.int64)]),
            np.concatenate([np.ones(self.n_pairs, np.int64), np.array(hi, np.int64)]),
        )

    def objective_expr(self) -> cp_model.LinearExprT:
        """The objective without its constant as a CP-SAT expression (small models)."""
        var = self.model.get_int_var_from_proto_index
        return cp_model.LinearExpr.weighted_sum(
            [var(int(v)) for v in self.objective_vars], self.objective_coeffs.tolist()
        )

    def value(self, solution: np.ndarray) -> int:
        """Objective (money units, constant included) of a full variable assignment."""
        return int(solution[self.objective_vars] @ self.objective_coeffs) + self.constant

    def pair_costs(self) -> np.ndarray:
        """Each pair variable's objective coefficient (money units)."""
        cost = np.zeros(self.n_pairs, np.int64)
        on_pairs = self.objective_vars < self.n_pairs
        np.add.at(cost, self.objective_vars[on_pairs], self.objective_coeffs[on_pairs])
        return cost

    def core_costs(self, pair_cost: np.ndarray | None = None) -> np.ndarray:
        """What each pair costs on its own: `pair_cost` (default `pair_costs()`) plus, where
        hours above the included hours are billed through an excess variable, the pair's
        hours at the hourly price (an estimate from above)."""
        a = self.arrays
        cost = (self.pair_costs() if pair_cost is None else pair_cost).copy()
        for _var, billed, _included in self.excess:
            cost[billed] += a.pair_load[billed] * a.hour_price[a.pair_provider[billed]]
        return cost

    def assignment_of(self, solution: np.ndarray) -> np.ndarray:
        """Provider index per active case, or NO, from the values of all variables."""
        a = self.arrays
        chosen = np.asarray(solution[: self.n_pairs], bool)
        out = np.full(a.n_cases, NO, int)
        out[a.pair_case[chosen]] = a.pair_provider[chosen]
        return out

    def solution_of(self, assign: np.ndarray) -> np.ndarray:
        """The value of every variable that the assignment `assign` gives it."""
        a = self.arrays
        values = np.zeros(len(self.model.proto.variables), np.int64)
        xv = (assign[a.pair_case] == a.pair_provider).astype(np.int64)
        values[: self.n_pairs] = xv
        for idx, var in self.implied:
            values[var] = int(xv[idx].any())
        for var, idx, included in self.excess:
            values[var] = max(0, int(a.pair_load[idx] @ xv[idx]) - included)
        for var, groups in self.extra:
            values[var] = max(0, sum(int(xv[g].any()) for g in groups) - 1)
        if self.switches:
            values[list(self.switches.values())] = 1
        return values

    def place_all(self) -> int:
        """Require every case with a pair to be placed (CP-SAT only); how many cases.

        Exact only when no allocation worth keeping leaves such a case out (see
        `solver.solve`). The unassigned weight then is a constant: CP-SAT gets it as an
        offset instead of a -weight on every pair, which searches far better; its
        objective stays equal to `objective_vars . objective_coeffs`.
        """
        a, proto = self.arrays, self.model.proto
        free = np.flatnonzero(a.case_lock[a.pair_case] == NO)
        cases = np.unique(a.pair_case[free])
        first = np.searchsorted(a.pair_case, np.arange(a.n_cases + 1))
        for j in cases.tolist():
            proto.constraints.add().exactly_one.literals.extend(range(first[j], first[j + 1]))
        miss = a.weight["unassigned"]
        dense = np.zeros(len(proto.variables), np.int64)
        dense[self.objective_vars] = self.objective_coeffs
        dense[free] += miss  # each placed case: +miss here, -miss in the offset
        _write_objective(proto, dense, -miss * len(cases))
        self.placed_all = True
        return len(cases)

    def set_domains(self, pairs: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> None:
        """Set the pair variables `pairs` to the domains [lo, hi] (one each)."""
        variables = self.model.proto.variables
        for k, low, high in zip(pairs.tolist(), lo.tolist(), hi.tolist(), strict=True):
            domain = variables[k].domain
            domain.clear()
            domain.extend([low, high])

    def terms_sum(self, names: Iterable[str]) -> tuple[np.ndarray, int]:
        """The sum of the named objective terms: coefficients over all variables (dense)
        and its constant, in money units."""
        dense = np.zeros(len(self.model.proto.variables), np.int64)
        constant = 0
        for name in names:
            term = self.terms[name]
            np.add.at(dense, term.vars, term.coeffs)
            constant += term.constant
        return dense, constant

    def variant(
        self, minimise: Iterable[str], limits: Iterable[tuple[Iterable[str], int]] = ()
    ) -> cp_model.CpModel:
        """A copy of the model (hint included) that minimises the sum of the named terms,
        with each (names, upper) of `limits` as a row: their sum <= upper (money units).

        Auxiliaries stay bounded from below only: the objective pushes down those it
        contains, a limit holds exactly when it holds at their true values, so the
        variant's optimum is the true optimum over allocations (`solver.goals`)."""
        copy = cp_model.CpModel()
        copy.proto.copy_from(self.model.proto)
        dense, _ = self.terms_sum(minimise)
        _write_objective(copy.proto, dense, 0)
        for names, upper in limits:
            coeffs, constant = self.terms_sum(names)
            used = np.flatnonzero(coeffs)
            linear = copy.proto.constraints.add().linear
            linear.vars.extend(used.tolist())
            linear.coeffs.extend(coeffs[used].tolist())
            linear.domain.extend([NEG_INF, upper - constant])
        return copy

    def copy(self) -> AllocationModel:
        """The same model on a CP-SAT model of its own (the data shared, read-only)."""
        model = cp_model.CpModel()
        model.proto.copy_from(self.model.proto)
        return replace(self, model=model)

    def set_hint(self, assign: np.ndarray) -> None:
        """Hint every variable with the values the assignment `assign` gives it."""
        values = self.solution_of(assign)
        self.model.clear_hints()
        hint = self.model.proto.solution_hint
        hint.vars.extend(range(len(values)))
        hint.values.extend(values.tolist())


def _groups(keys: np.ndarray, n: int) -> list[np.ndarray]:
    """Indices grouped by key 0..n-1 (stable order)."""
    order = np.argsort(keys, kind="stable")
    bounds = np.searchsorted(keys[order], np.arange(n + 1))
    return [order[bounds[k] : bounds[k + 1]] for k in range(n)]


class _Builder:
    """Writes variables and rows into the proto and the row list at once."""

    def __init__(self, a: Arrays, switches: bool):
        self.a = a
        self.model = cp_model.CpModel()
        self.proto = self.model.proto
        # The pair booleans, in bulk.
        self.proto.merge_text_format("variables { domain: [0, 1] }\n" * len(a.pair_case))
        self.am = AllocationModel(a, self.model, {}, [], switches={} if switches else None)

    def var(self, lo: int, hi: int, name: str) -> int:
        self.am.aux_bounds.append((lo, hi))
        return self.model.new_int_var(lo, hi, name).index

    def row(self, vars, coeffs, lo: int, hi: int, rule: str | None = None) -> None:
        vars, coeffs = np.asarray(vars, np.int64), np.asarray(coeffs, np.int64)
        order = np.argsort(vars, kind="stable")  # canonical: by variable
        vars, coeffs = vars[order], coeffs[order]
        self.am.rows.append(Row(vars, coeffs, lo, hi))
        c = self.proto.constraints.add()
        c.linear.vars.extend(vars.tolist())
        c.linear.coeffs.extend(coeffs.tolist())
        c.linear.domain.extend([lo, hi])
        if rule is not None and self.am.switches is not None:
            self.am.switches[rule] = lit = self.var(0, 1, rule)
            c.enforcement_literal.append(lit)

    def at_most_one(self, vars: np.ndarray) -> None:
        self.am.placement.append(len(self.am.rows))
        self.am.rows.append(Row(vars, np.ones(len(vars), np.int64), NEG_INF, 1))
        self.proto.constraints.add().at_most_one.literals.extend(vars.tolist())

    def implies(self, pairs: np.ndarray, target: int) -> None:
        """x_k => target for every pair k (one implication each: CP-SAT linearises them
        as `target >= x_k`, much tighter than one "not target => no pair" constraint)."""
        self.am.implied.append((pairs, target))
        text = "".join(
            f"constraints {{ enforcement_literal: {k} bool_and {{ literals: {target} }} }}\n"
            for k in pairs.tolist()
        )
        self.proto.merge_text_format(text)


def build_model(a: Arrays, switches: bool = False) -> AllocationModel:
    b = _Builder(a, switches)
    by_case = _groups(a.pair_case, a.n_cases)
    by_provider = _groups(a.pair_provider, a.n_providers)
    _add_placement(b, by_case)
    _add_provider_costs(b, by_provider)
    _add_capacity(b, by_provider)
    _add_budgets(b)
    _add_penalties(b)
    am = b.am
    whole = Term.join(list(am.terms.values()))
    merged = np.zeros(len(b.proto.variables), np.int64)
    np.add.at(merged, whole.vars, whole.coeffs)  # exact: int64, not bincount's floats
    am.objective_vars = np.flatnonzero(merged)
    am.objective_coeffs = merged[am.objective_vars]
    _write_objective(b.proto, merged, 0)
    return am


def _write_objective(proto, coeffs: np.ndarray, offset: int) -> None:
    """Minimise coeffs . variables + offset (coeffs dense over all variables)."""
    used = np.flatnonzero(coeffs)
    objective = proto.objective
    objective.vars.clear()
    objective.vars.extend(used.tolist())
    objective.coeffs.clear()
    objective.coeffs.extend(coeffs[used].tolist())
    objective.offset = offset
    objective.scaling_factor = 1  # as CpModel.minimize writes it


def _add_placement(b: _Builder, by_case: list[np.ndarray]) -> None:
    """Each active case at most one provider; a locked case exactly at its lock."""
    a = b.a
    for j, idx in enumerate(by_case):
        if a.case_lock[j] != NO:  # a locked case has its one pair only
            b.am.placement.append(len(b.am.rows))
            b.row(idx[:1], [1], 1, 1, f"lock:{a.case_ids[j]}")
        elif len(idx) > 1:
            b.at_most_one(idx)


def _add_capacity(b: _Builder, by_provider: list[np.ndarray]) -> None:
    """Hours and case limits. A provider that can be closed has them only when open
    (`load <= capacity x open`): the same in whole numbers, and a much tighter LP, where a
    provider opened by a fraction then offers that fraction of its hours."""
    a = b.a
    open_of = {int(a.pair_provider[idx[0]]): var for var, idx in b.am.opened}
    for i, idx in enumerate(by_provider):
        pid = a.provider_ids[i]
        is_open = open_of.get(i)
        limits = [(a.pair_load[idx], int(a.capacity[i]), "capacity")]
        if a.max_cases[i] != NO:
            limits.append((np.ones(len(idx), np.int64), int(a.max_cases[i]), "max_cases"))
        for coeffs, limit, name in limits:
            rule = f"{name}:{pid}" if coeffs.sum() > limit else None
            if is_open is not None:
                b.row(np.append(idx, is_open), np.append(coeffs, -limit), NEG_INF, 0, rule)
            elif rule is not None:
                b.row(idx, coeffs, NEG_INF, limit, rule)


def _add_provider_costs(b: _Builder, by_provider: list[np.ndarray]) -> None:
    """cost_i = fixed (if kept open) + hourly price x hours above included + offers."""
    a, am = b.a, b.am
    for i, idx in enumerate(by_provider):
        vars, coeffs, constant = [], [], 0
        if a.fixed[i] > 0 and not a.optional[i]:
            constant = int(a.fixed[i])
        elif a.fixed[i] > 0 and len(idx):
            is_open = b.var(0, 1, f"open{i}")
            b.implies(idx, is_open)
            am.opened.append((is_open, idx))
            vars.append([is_open])
            coeffs.append([int(a.fixed[i])])
        billed = idx[~a.pair_offer[idx]]
        most = int(a.pair_load[billed].sum())
        price = int(a.hour_price[i])
        if price > 0 and most > a.included[i]:
            included = int(a.included[i])
            if included > 0:
                above = b.var(0, most - included, f"excess{i}")
                # above >= hours - included
                b.row(np.append(billed, above), np.append(-a.pair_load[billed], 1), -included, INF)
                am.excess.append((above, billed, included))
                vars.append([above])
                coeffs.append([price])
            else:
                vars.append(billed)
                coeffs.append(price * a.pair_load[billed])
        offered = idx[a.pair_offer[idx]]
        vars.append(offered)
        coeffs.append(a.pair_offer_cost[offered])
        am.provider_cost.append(
            Term(
                np.concatenate([EMPTY, *map(np.asarray, vars)]).astype(np.int64),
                np.concatenate([EMPTY, *map(np.asarray, coeffs)]).astype(np.int64),
                constant,
            )
        )
    am.terms["cost"] = Term.join(am.provider_cost)


def _add_budgets(b: _Builder) -> None:
    caps = b.a.budget_cap.tolist()
    for n, (members, cap) in enumerate(zip(b.a.budget_members, caps, strict=True)):
        spent = Term.join([b.am.provider_cost[i] for i in members.tolist()])
        b.row(spent.vars, spent.coeffs, NEG_INF, cap - spent.constant, f"budget:{n}")


def _add_penalties(b: _Builder) -> None:
    a, am, w = b.a, b.am, b.a.weight
    everything = np.arange(len(a.pair_case))

    rel = w["relation_per_level"]
    given = everything[a.pair_level > 0] if rel else EMPTY
    am.terms["relation"] = Term(
        given, -rel * a.pair_level[given], rel * int(a.case_max_level.sum())
    )

    cont = w["continuity"]
    kept = everything[a.pair_provider == a.case_current[a.pair_case]] if cont else EMPTY
    am.terms["continuity"] = Term(
        kept, np.full(len(kept), -cont, np.int64), cont * int((a.case_current != NO).sum())
    )

    fam = w["family_split"]
    splits = []
    if fam:
        family_pairs = everything[a.case_family[a.pair_case] != NO]
        for f, idx in enumerate(_groups(a.case_family[a.pair_case[family_pairs]], a.n_families)):
            idx = family_pairs[idx]
            groups = [idx[g] for g in _groups(a.pair_provider[idx], a.n_providers) if len(g)]
            if len(groups) < 2:
                continue
            uses = []
            for g in groups:
                if len(g) == 1:
                    uses.append(int(g[0]))
                    continue
                u = b.var(0, 1, f"uses{f}")
                b.implies(g, u)
                uses.append(u)
            extra = b.var(0, len(uses) - 1, f"split{f}")
            b.row(np.append(uses, extra), np.append(-np.ones(len(uses)), 1), -1, INF)
            am.extra.append((extra, groups))
            splits.append(extra)
    am.terms["family"] = Term(np.array(splits, np.int64), np.full(len(splits), fam, np.int64))

    coeff = a.pair_kind_penalty
    charged = everything[coeff > 0]
    am.terms["kind"] = Term(charged, coeff[charged])

    miss = w["unassigned"]
    pairs = everything if miss else EMPTY
    am.terms["unassigned"] = Term(pairs, np.full(len(pairs), -miss, np.int64), miss * a.n_cases)
