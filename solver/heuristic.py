"""A feasible starting allocation for CP-SAT: greedy placement, then improving shifts.

Works on the spec's full objective in the model's integer units, keeping every hard rule
(capacity, `max_cases`, budgets, locks). Leaving a case unassigned is always allowed,
so the result is feasible whenever the locks alone are.
"""

from __future__ import annotations

import numpy as np

from solver.arrays import NO, Arrays


class Tracker:
    """An allocation with the running totals the objective and the limits need."""

    def __init__(self, a: Arrays):
        self.a = a
        self.assign = np.full(a.n_cases, NO, int)
        self.pair_of = np.full(a.n_cases, NO, int)
        self.load = np.zeros(a.n_providers, np.int64)
        self.count = np.zeros(a.n_providers, np.int64)
        self.billed = np.zeros(a.n_providers, np.int64)
        self.cost = np.where(a.optional, 0, a.fixed).astype(np.int64)
        self.budget_of: list[list[int]] = [[] for _ in range(a.n_providers)]
        for n, members in enumerate(a.budget_members):
            for i in members.tolist():
                self.budget_of[i].append(n)
        self.caps = a.budget_cap
        self.spent = np.array([self.cost[m].sum() for m in a.budget_members], np.int64)
        self.family_at: dict[tuple[int, int], int] = {}
        self.family_placed = np.zeros(max(a.n_families, 1), np.int64)
        w = a.weight
        # Objective change of placing each pair, leaving out cost and family terms.
        self.pair_gain = (
            a.pair_kind_penalty
            - w["relation_per_level"] * a.pair_level
            - w["continuity"] * (a.pair_provider == a.case_current[a.pair_case])
            - w["unassigned"]
        )
        self.family_split = w["family_split"]

    def _cost_change(self, k: int, sign: int) -> int:
        a, i = self.a, int(self.a.pair_provider[k])
        change = 0
        if a.optional[i] and self.count[i] == (0 if sign > 0 else 1):
            change += int(a.fixed[i])
        if a.pair_offer[k]:
            change += int(a.pair_offer_cost[k])
        else:
            before = max(0, int(self.billed[i]) - int(a.included[i]))
            after = max(0, int(self.billed[i]) + sign * int(a.pair_load[k]) - int(a.included[i]))
            change += int(a.hour_price[i]) * abs(after - before)
        return change

    def _family_change(self, j: int, i: int, sign: int) -> int:
        f = self.a.case_family[j]
        if f == NO:
            return 0
        at = self.family_at.get((f, i), 0)
        placed = self.family_placed[f]
        if sign > 0:
            return self.family_split if at == 0 and placed > 0 else 0
        return -self.family_split if at == 1 and placed > 1 else 0

    def add_delta(self, k: int) -> int:
        j, i = int(self.a.pair_case[k]), int(self.a.pair_provider[k])
        return self._cost_change(k, +1) + int(self.pair_gain[k]) + self._family_change(j, i, +1)

    def apply(self, k: int, sign: int) -> None:
        a = self.a
        j, i = int(a.pair_case[k]), int(a.pair_provider[k])
        change = sign * self._cost_change(k, sign)
        self.cost[i] += change
        for b in self.budget_of[i]:
            self.spent[b] += change
        self.load[i] += sign * a.pair_load[k]
        self.count[i] += sign
        if not a.pair_offer[k]:
            self.billed[i] += sign * a.pair_load[k]
        f = a.case_family[j]
        if f != NO:
            self.family_at[(f, i)] = self.family_at.get((f, i), 0) + sign
            self.family_placed[f] += sign
        self.assign[j] = i if sign > 0 else NO
        self.pair_of[j] = k if sign > 0 else NO

    def blocked_by(self, k: int) -> str | None:
        """Which limit stops pair `k` from being added now: hours, max_cases, a budget."""
        a, i = self.a, int(self.a.pair_provider[k])
        if self.load[i] + a.pair_load[k] > a.capacity[i]:
            return "hours"
        if a.max_cases[i] != NO and self.count[i] + 1 > a.max_cases[i]:
            return "max_cases"
        change = self._cost_change(k, +1)
        for b in self.budget_of[i]:
            if self.spent[b] + change > self.caps[b]:
                return f"budget '{self.a.instance.budgets[b].name}'"
        return None

    def fits(self, k: int) -> bool:
        return self.blocked_by(k) is None

    @classmethod
    def of(cls, a: Arrays, assign: np.ndarray) -> Tracker:
        """The tracker of a given allocation (locks included in `assign`)."""
        st = cls(a)
        first = np.searchsorted(a.pair_case, np.arange(a.n_cases))
        for j in np.flatnonzero(assign != NO).tolist():
            ks = np.arange(first[j], first[j + 1] if j + 1 < a.n_cases else len(a.pair_case))
            st.apply(int(ks[a.pair_provider[ks] == assign[j]][0]), +1)
        return st


def evaluate(a: Arrays, assign: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Exact cost per provider and objective terms (money units) of an allocation."""
    st = Tracker.of(a, assign)
    w = a.weight
    placed = assign != NO
    rows = np.flatnonzero(placed)
    ks = st.pair_of[rows]
    family = 0
    for f in range(a.n_families):
        members = (a.case_family == f) & placed
        family += max(0, len(np.unique(assign[members])) - 1)
    terms = {
        "cost": int(st.cost.sum()),
        "relation": w["relation_per_level"] * int(a.case_max_level.sum() - a.pair_level[ks].sum()),
        "continuity": w["continuity"]
        * int(((a.case_current != NO) & (assign != a.case_current)).sum()),
        "family": w["family_split"] * family,
        "kind": int(a.pair_kind_penalty[ks].sum()),
        "unassigned": w["unassigned"] * int((~placed).sum()),
    }
    return st.cost.copy(), terms


def greedy(a: Arrays, start: np.ndarray | None = None, max_passes: int = 5) -> np.ndarray:
    """Provider index per active case (NO = unassigned): a feasible allocation.

    `start` (provider index per case, NO = none) is kept wherever it is eligible and fits
    after the locks, e.g. a previous optimum when one case has been moved.
    """
    st = Tracker(a)
    pairs_of = np.split(
        np.arange(len(a.pair_case)), np.searchsorted(a.pair_case, np.arange(1, a.n_cases))
    )
    for j in np.flatnonzero(a.case_lock != NO).tolist():
        st.apply(int(pairs_of[j][0]), +1)
    if start is not None:
        for j in np.flatnonzero((start != NO) & (a.case_lock == NO)).tolist():
            ks = pairs_of[j][a.pair_provider[pairs_of[j]] == start[j]]
            if len(ks) and st.fits(int(ks[0])):
                st.apply(int(ks[0]), +1)

    # Static regret: how much worse the second-best choice is; place the largest first.
    price = np.where(a.pair_offer, a.pair_offer_cost, a.hour_price[a.pair_provider] * a.pair_load)
    gain = st.pair_gain + price
    regret = np.zeros(a.n_cases, np.int64)
    for j, ks in enumerate(pairs_of):
        if len(ks) > 1:
            best2 = np.partition(gain[ks], 1)[:2]
            regret[j] = best2[1] - best2[0]
        elif len(ks) == 1:
            regret[j] = -gain[ks[0]]
    for j in np.argsort(-regret, kind="stable").tolist():
        if a.case_lock[j] != NO or st.assign[j] != NO:
            continue
        options = [(st.add_delta(k), k) for k in pairs_of[j].tolist() if st.fits(k)]
        if options:
            delta, k = min(options)
            if delta < 0:
                st.apply(k, +1)

    # Shifts: move, place or unplace one case whenever that lowers the objective.
    for _ in range(max_passes):
        improved = False
        for j in range(a.n_cases):
            if a.case_lock[j] != NO:
                continue
            here = int(st.pair_of[j])
            if here != NO:
                st.apply(here, -1)
            choices = [(st.add_delta(k), k != here, k) for k in pairs_of[j].tolist() if st.fits(k)]
            choices.append((0, here != NO, NO))  # unassigned
            _, moved, k = min(choices)
            if k != NO:
                st.apply(k, +1)
            improved |= moved
        improved |= _ejections(st, pairs_of)
        if not improved:
            break
    return st.assign.copy()


def _best_place(st: Tracker, pairs: np.ndarray, skip: int) -> tuple[int, int]:
    """Cheapest (objective change, pair) for an unplaced case, unassigned = (0, NO)."""
    return min(
        [(st.add_delta(k), k) for k in pairs.tolist() if k != skip and st.fits(k)],
        default=(0, NO),
    )


def _ejections(st: Tracker, pairs_of: list[np.ndarray], max_cases_tried: int = 200) -> bool:
    """Place an unassigned case where it does not fit by moving one case out of its way.

    The moved case goes to its best other provider or becomes unassigned; a move is made
    only when the two changes together lower the objective.
    """
    a = st.a
    improved = False
    waiting = np.flatnonzero((st.assign == NO) & (a.case_lock == NO)).tolist()
    for j in waiting[:max_cases_tried]:
        best = (0, NO, NO, NO)
        for k in pairs_of[j].tolist():
            i = int(a.pair_provider[k])
            for j2 in np.flatnonzero((st.assign == i) & (a.case_lock == NO)).tolist():
                k2 = int(st.pair_of[j2])
                st.apply(k2, -1)
                if st.fits(k):
                    change = st.add_delta(k) - st.add_delta(k2)
                    st.apply(k, +1)
                    alt, k3 = _best_place(st, pairs_of[j2], skip=k2)
                    st.apply(k, -1)
                    if change + alt < best[0]:
                        best = (change + alt, k, k2, k3)
                st.apply(k2, +1)
        _, k, k2, k3 = best
        if k != NO:
            st.apply(k2, -1)
            st.apply(k, +1)
            if k3 != NO:
                st.apply(k3, +1)
            improved = True
    return improved
