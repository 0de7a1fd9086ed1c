"""A feasible starting allocation for CP-SAT: regret-ordered placement, then improving moves.

Works on the spec's full objective in the model's integer units and keeps every hard rule
(capacity, `max_cases`, budgets, locks). Leaving a case unassigned is always allowed, so
the result is feasible whenever the locks alone are.

After the locks and the kept part of `start`, `greedy`
1. prices each provider's room by a Lagrangian relaxation of capacity, `max_cases`,
   included hours and budgets (projected subgradient steps over all pairs at once), and
   pays up front for the optional providers the relaxation uses;
2. places the other cases in regret order, as Martello and Toth's MTHG heuristic for the
   generalised assignment problem: the case whose best option beats its second best by
   the most goes first. An option is a pair that fits now; its score is its exact objective
   change plus the shadow price of the room it takes;
3. improves, in passes: shifts single cases; ejection chains (a case goes to a better pair
   that does not fit after a case there is moved out of the way), unassigned cases first;
   moves families together; closes optional providers. Each move is kept only when it
   lowers the objective; the work per pass is bounded.
A case's options are judged with array operations over its pairs, and candidate moves are
picked by estimates over all pairs at once. No randomness; ties go to the lower index.
"""

from __future__ import annotations

import heapq

import numpy as np

from solver.arrays import NO, Arrays

INF = 2**62  # "no limit" in int64 arithmetic
PRICE, SPARE, OPENING, ROOM, PLACES = range(5)  # columns of `Tracker.state`

# Shadow prices: subgradient steps, the first one and its decay per step.
STEPS, FIRST_STEP, DECAY = 60, 0.3, 0.95
# Improvement passes go on while one lowers the objective by at least this share.
MIN_GAIN = 5e-4
# Ejection chains: (moves, pairs tried per case, cases moved out per pair) from an
# unassigned case and from a placed one; per pass, placed cases tried at most: the larger
# of a number and a share of the cases.
CHAIN_UNASSIGNED, CHAIN_PLACED = (3, 5, 5), (2, 3, 3)
CHAINS_PLACED = 500, 1 / 16
# Family moves tried per pass at most: the larger of a number and a share of the families.
FAMILY_MOVES = 50, 1 / 10


class Tracker:
    """An allocation with the running totals the objective and the limits need."""

    def __init__(self, a: Arrays):
        self.a = a
        C, P = a.n_cases, a.n_providers
        self.first = np.searchsorted(a.pair_case, np.arange(C + 1))  # case j: first[j]:first[j+1]
        self.assign = np.full(C, NO, int)
        self.pair_of = np.full(C, NO, int)
        self.load = np.zeros(P, np.int64)
        self.count = np.zeros(P, np.int64)
        self.billed = np.zeros(P, np.int64)
        self.cost = np.where(a.optional, 0, a.fixed).astype(np.int64)
        self.opened = np.zeros(P, bool)  # optional providers paid for while they have no case
        self.case_cap = np.where(a.max_cases == NO, INF, a.max_cases).astype(np.int64)
        self.members: list[dict[int, None]] = [{} for _ in range(P)]  # placed cases, in order
        # Budgets: slack = cap - spent; each provider's budgets as a row of `budget_index`,
        # padded with the index of a last, unlimited slack.
        self.budget_of: list[list[int]] = [[] for _ in range(P)]
        for n, members in enumerate(a.budget_members):
            for i in members.tolist():
                self.budget_of[i].append(n)
        spent = np.array([self.cost[m].sum() for m in a.budget_members], np.int64)
        self.slack = np.append(a.budget_cap - spent, INF)
        width = max([len(b) for b in self.budget_of], default=0)
        self.budget_index = np.full((P, max(width, 1)), len(spent))
        for i, budgets in enumerate(self.budget_of):
            self.budget_index[i, : len(budgets)] = budgets
        # What placing a case at each provider depends on, gathered in one array: the price
        # of an hour unit above the included hours, the included hours not yet billed, the
        # fixed cost the next case brings, the hours and case places left.
        columns = [a.hour_price, a.included, a.fixed - self.cost, a.capacity, self.case_cap]
        self.state = np.stack(columns, axis=1).astype(np.int64)
        self.family_at: list[dict[int, int]] = [{} for _ in range(a.n_families)]  # i -> cases
        self.family_placed = np.zeros(max(a.n_families, 1), np.int64)
        w = a.weight
        # Objective change of placing each pair, leaving out cost and family terms.
        self.pair_gain = (
            a.pair_kind_penalty
            - w["relation_per_level"] * a.pair_level
            - w["continuity"] * (a.pair_provider == a.case_current[a.pair_case])
            - w["unassigned"]
        )
        self.pair_static = self.pair_gain + a.pair_offer_cost  # the same, offers included
        self.billable = np.where(a.pair_offer, 0, a.pair_load)  # hours billed by the hour
        self.pair_family = a.case_family[a.pair_case]
        self.family_split = w["family_split"]
        self._keys: np.ndarray | None = None  # see `pair_index`

    # --- one pair -----------------------------------------------------------------------

    def _cost_change(self, k: int, sign: int) -> int:
        a, i = self.a, int(self.a.pair_provider[k])
        change = 0
        if a.optional[i] and not self.opened[i] and self.count[i] == (0 if sign > 0 else 1):
            change += int(a.fixed[i])
        if a.pair_offer[k]:
            change += int(a.pair_offer_cost[k])
        else:
            billed, included = int(self.billed[i]), int(a.included[i])
            before = max(0, billed - included)
            after = max(0, billed + sign * int(a.pair_load[k]) - included)
            change += int(a.hour_price[i]) * abs(after - before)
        return change

    def _family_change(self, j: int, i: int, sign: int) -> int:
        f = self.a.case_family[j]
        if f == NO:
            return 0
        at = self.family_at[f].get(i, 0)
        placed = self.family_placed[f]
        if sign > 0:
            return self.family_split if at == 0 and placed > 0 else 0
        return -self.family_split if at == 1 and placed > 1 else 0

    def add_delta(self, k: int) -> int:
        """Exact objective change of placing pair `k` (its case unplaced)."""
        j, i = int(self.a.pair_case[k]), int(self.a.pair_provider[k])
        return self._cost_change(k, +1) + int(self.pair_gain[k]) + self._family_change(j, i, +1)

    def apply(self, k: int, sign: int) -> None:
        """Place (sign +1) or remove (-1) pair `k`."""
        a = self.a
        j, i = int(a.pair_case[k]), int(a.pair_provider[k])
        row = self.state[i]
        change = sign * self._cost_change(k, sign)
        self.cost[i] += change
        for b in self.budget_of[i]:
            self.slack[b] -= change
        load = int(a.pair_load[k])
        self.load[i] += sign * load
        self.count[i] += sign
        row[ROOM] -= sign * load
        row[PLACES] -= sign
        self._set_opening(i)
        if not a.pair_offer[k]:
            self.billed[i] += sign * load
            row[SPARE] = max(0, int(a.included[i]) - int(self.billed[i]))
        f = a.case_family[j]
        if f != NO:
            at = self.family_at[f]
            at[i] = at.get(i, 0) + sign
            if not at[i]:
                del at[i]
            self.family_placed[f] += sign
        if sign > 0:
            self.assign[j], self.pair_of[j] = i, k
            self.members[i][j] = None
        else:
            self.assign[j], self.pair_of[j] = NO, NO
            del self.members[i][j]

    def _set_opening(self, i: int) -> None:
        closed = self.a.optional[i] and not self.opened[i] and not self.count[i]
        self.state[i, OPENING] = self.a.fixed[i] if closed else 0

    def can_open(self, i: int) -> bool:
        """Whether the budgets leave room for optional provider `i`'s fixed cost now."""
        fixed = int(self.state[i, OPENING])
        return all(fixed <= self.slack[b] for b in self.budget_of[i])

    def set_opened(self, i: int, opened: bool) -> None:
        """Pay for optional provider `i` as if it had a case (opened) or only when it has."""
        if self.opened[i] == opened:
            return
        self.opened[i] = opened
        if not self.count[i]:
            change = int(self.a.fixed[i]) * (1 if opened else -1)
            self.cost[i] += change
            for b in self.budget_of[i]:
                self.slack[b] -= change
        self._set_opening(i)

    def move(self, j: int, k: int) -> int:
        """Put case `j` at pair `k` (NO: unassigned), fitting or not; the exact objective
        change."""
        change = 0
        here = int(self.pair_of[j])
        if here != NO:
            self.apply(here, -1)
            change -= self.add_delta(here)
        if k != NO:
            change += self.add_delta(k)
            self.apply(k, +1)
        return change

    def blocked_by(self, k: int) -> str | None:
        """Which limit stops pair `k` from being added now: hours, max_cases, a budget."""
        a, i = self.a, int(self.a.pair_provider[k])
        if self.load[i] + a.pair_load[k] > a.capacity[i]:
            return "hours"
        if self.count[i] + 1 > self.case_cap[i]:
            return "max_cases"
        change = self._cost_change(k, +1)
        for b in self.budget_of[i]:
            if change > self.slack[b]:
                return f"budget '{self.a.instance.budgets[b].name}'"
        return None

    def fits(self, k: int) -> bool:
        return self.blocked_by(k) is None

    # --- many pairs at once -----------------------------------------------------------

    def options(self, ks: slice | np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """For pairs `ks` of unplaced cases: the exact objective change of placing each (as
        `add_delta`), the part of it paid by the hour, and whether it fits now (as `fits`)."""
        a = self.a
        at = self.state[a.pair_provider[ks]]
        hourly = at[:, PRICE] * np.maximum(self.billable[ks] - at[:, SPARE], 0)
        money = hourly + at[:, OPENING]
        delta = self.pair_static[ks] + money
        fit = (a.pair_load[ks] <= at[:, ROOM]) & (at[:, PLACES] > 0)
        if len(self.slack) > 1:
            room = self.slack[self.budget_index[a.pair_provider[ks]]].min(axis=1)
            fit &= money + a.pair_offer_cost[ks] <= room
        family = self.pair_family[ks]
        if self.family_split and family.max(initial=NO) != NO:
            delta += self._family_adds(family, a.pair_provider[ks])
        return delta, hourly, fit

    def _family_adds(self, family: np.ndarray, i: np.ndarray) -> np.ndarray:
        """The family split penalty of placing a case of `family` (or NO) at provider `i`,
        for each pair of these arrays."""
        f = int(family[0])
        if f != NO and (family == f).all():  # e.g. one case's pairs
            if not self.family_placed[f]:
                return np.zeros(len(i), np.int64)
            used = np.fromiter(self.family_at[f], int, len(self.family_at[f]))
            return self.family_split * ~np.isin(i, used)
        P = self.a.n_providers
        used = [f * P + p for f, at in enumerate(self.family_at) for p in at]
        rows = np.flatnonzero(family != NO)
        f = family[rows]
        new = ~np.isin(f * P + i[rows], np.array(used, np.int64))
        out = np.zeros(len(family), np.int64)
        out[rows] = self.family_split * (new & (self.family_placed[f] > 0))
        return out

    def pair_index(self, cases: np.ndarray, providers: np.ndarray) -> np.ndarray:
        """The pair of each case and provider (NO where there is none)."""
        if self._keys is None:
            self._keys = self.a.pair_case * self.a.n_providers + self.a.pair_provider  # sorted
        if len(self._keys) == 0:
            return np.full(len(cases), NO)
        want = cases * self.a.n_providers + providers
        k = np.minimum(np.searchsorted(self._keys, want), len(self._keys) - 1)
        return np.where(self._keys[k] == want, k, NO)

    @classmethod
    def of(cls, a: Arrays, assign: np.ndarray) -> Tracker:
        """The tracker of a given allocation (locks included in `assign`)."""
        st = cls(a)
        cases = np.flatnonzero(assign != NO)
        ks = st.pair_index(cases, assign[cases])
        if (ks == NO).any():
            raise ValueError("a case is placed at a provider it cannot go to")
        for k in ks.tolist():
            st.apply(k, +1)
        return st


def evaluate(a: Arrays, assign: np.ndarray) -> tuple[np.ndarray, dict[str, int]]:
    """Exact cost per provider and objective terms (money units) of an allocation."""
    st = Tracker.of(a, assign)
    return st.cost.copy(), _terms(st)


def _terms(st: Tracker) -> dict[str, int]:
    """The objective terms (money units) of the tracker's allocation."""
    a, w = st.a, st.a.weight
    placed = st.assign != NO
    ks = st.pair_of[placed]
    return {
        "cost": int(st.cost.sum()),
        "relation": w["relation_per_level"] * int(a.case_max_level.sum() - a.pair_level[ks].sum()),
        "continuity": w["continuity"]
        * int(((a.case_current != NO) & (st.assign != a.case_current)).sum()),
        "family": w["family_split"] * sum(max(0, len(at) - 1) for at in st.family_at),
        "kind": int(a.pair_kind_penalty[ks].sum()),
        "unassigned": w["unassigned"] * int((~placed).sum()),
    }


def greedy(a: Arrays, start: np.ndarray | None = None, max_passes: int = 5) -> np.ndarray:
    """Provider index per active case (NO = unassigned): a feasible allocation.

    `start` (provider index per case, NO = none) is kept wherever it is eligible and fits
    after the locks, e.g. a previous optimum when one case has been moved.
    """
    st = Tracker(a)
    for j in np.flatnonzero(a.case_lock != NO).tolist():
        st.apply(int(st.first[j]), +1)  # a locked case's one pair
    if start is not None:
        cases = np.flatnonzero((start != NO) & (a.case_lock == NO))
        for k in st.pair_index(cases, start[cases]).tolist():
            if k != NO and st.fits(k):
                st.apply(k, +1)

    _construct(st)
    _improve(st, max_passes)
    return st.assign.copy()


def _construct(st: Tracker) -> None:
    """Place the unplaced, unlocked cases: shadow prices, then regret order."""
    a = st.a
    free = (a.case_lock == NO) & (st.assign == NO)
    ks = np.flatnonzero(free[a.pair_case])
    bias, included, taken = _shadow_prices(st, ks)
    # Optional providers the relaxation uses are paid for up front: otherwise a fixed cost
    # above what one case gains would keep them closed.
    opened = [i for i in np.flatnonzero(a.optional & (taken > 0)).tolist() if st.can_open(i)]
    for i in opened:
        st.set_opened(i, True)
    _place_by_regret(st, ks, bias, included)
    for i in opened:
        st.set_opened(i, False)


# --- pairs grouped by case -------------------------------------------------------------------


def _segments(case: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For pairs sorted by case: where each case's run starts, and the run of each pair."""
    new = np.r_[True, case[1:] != case[:-1]] if len(case) else np.zeros(0, bool)
    return np.flatnonzero(new), np.cumsum(new) - 1


def _lowest(
    values: np.ndarray, starts: np.ndarray, run: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per run: the position of its least value (the first of ties), and that value."""
    low = np.minimum.reduceat(values, starts)
    at = np.flatnonzero(values == low[run])
    return at[np.r_[True, run[at][1:] != run[at][:-1]]], low


def _second(values: np.ndarray, starts: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Per run: the second least value (inf when the run has one), `at` being the least."""
    rest = values.astype(float)
    rest[at] = np.inf
    return np.minimum.reduceat(rest, starts)


# --- 1. shadow prices ---------------------------------------------------------------------------


def _shadow_prices(st: Tracker, ks: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shadow prices for placing the pairs `ks`: per pair, the price of the room it takes
    (hours, a case place, budget), and the value of the included hours it would use; and
    per provider, the cases the relaxation places there at the end.

    Multipliers of a Lagrangian relaxation of capacity, `max_cases`, budgets and "billed
    hours within the included hours" (at most the hourly price: the hourly billing is that
    constraint's penalty); fixed costs and family splits are left out. Each case takes
    its cheapest pair at the current prices (or none); a multiplier rises with its
    constraint's excess and falls with its slack, by geometrically shrinking steps.
    """
    a = st.a
    P = a.n_providers
    delta, _, fit = st.options(ks)
    opening = st.state[:, OPENING].astype(float)  # fixed costs, left out but in budgets
    ks = ks[fit & (delta - opening[a.pair_provider[ks]] < 0)]  # the options now
    bias, value_of_included = np.zeros(len(a.pair_case)), np.zeros(len(a.pair_case))
    taken = np.zeros(P, int)
    if len(ks) == 0:
        return bias, value_of_included, taken
    prov, load = a.pair_provider[ks], a.pair_load[ks].astype(float)
    billable, offer = st.billable[ks].astype(float), a.pair_offer_cost[ks].astype(float)
    static = (st.pair_gain[ks] + a.pair_offer_cost[ks]).astype(float)
    starts, run = _segments(a.pair_case[ks])
    price = a.hour_price.astype(float)
    # the right-hand sides, as far as the placed cases leave them
    room = np.maximum(a.capacity - st.load, 1).astype(float)
    limited = st.case_cap < INF
    places = np.maximum(st.case_cap - st.count, 1).astype(float)
    spare = st.state[:, SPARE].astype(float)
    slack = np.maximum(st.slack[:-1], 1).astype(float)
    members = np.concatenate([np.zeros(0, int), *a.budget_members])
    budget_of_member = np.repeat(np.arange(len(slack)), [len(m) for m in a.budget_members])

    # step scales: the typical spread of a case's options, per case and per hour unit
    spread = np.maximum.reduceat(static, starts) - np.minimum.reduceat(static, starts)
    per_case = float(np.mean(spread)) or float(np.mean(-static)) or 1.0
    per_hour = per_case / float(np.mean(load))
    mean_load = float(np.mean(load))
    hours, cases, included = np.zeros(P), np.zeros(P), price.copy()
    budget = np.zeros(len(slack))
    markup = np.zeros(P)  # what the budgets add to a unit of money spent at the provider
    step = FIRST_STEP
    for _ in range(STEPS):
        value = static + hours[prov] * load + ((1 + markup) * included)[prov] * billable
        if len(slack):
            value += markup[prov] * offer
        if limited.any():
            value += cases[prov]
        at, low = _lowest(value, starts, run)
        at = at[low < 0]
        i = prov[at]
        taken = np.bincount(i, minlength=P)
        used = np.bincount(i, load[at], P)
        billed = np.bincount(i, billable[at], P)
        hours = np.maximum(0, hours + step * per_hour * (used - room) / room)
        excess = (billed - spare) / np.maximum(spare, mean_load)
        included = np.clip(included + step * price * excess, 0, price)
        if limited.any():
            excess = (taken - places) / places
            cases = np.where(limited, np.maximum(0, cases + step * per_case * excess), 0)
        if len(slack):
            spend = np.bincount(i, offer[at], P) + price * np.maximum(billed - spare, 0)
            spend += opening * (taken > 0)
            excess = (np.bincount(budget_of_member, spend[members], len(slack)) - slack) / slack
            budget = np.maximum(0, budget + 5 * step * excess)
            markup = np.bincount(members, budget[budget_of_member], P)
        step *= DECAY

    i = a.pair_provider[ks]
    bias[ks] = hours[i] * a.pair_load[ks] + cases[i] + markup[i] * a.pair_offer_cost[ks]
    value_of_included[ks] = (1 + markup[i]) * included[i] * st.billable[ks]
    return bias, value_of_included, taken


# --- 2. placement in regret order --------------------------------------------------------


def _scores(
    st: Tracker, ks: slice | np.ndarray, bias: np.ndarray, included: np.ndarray
) -> np.ndarray:
    """Scores of pairs `ks` of unplaced cases: the exact objective change plus `bias`, and
    hours within the included ones charged at their value `included`; inf for a pair that
    does not fit or would not lower the objective."""
    delta, hourly, fit = st.options(ks)
    score = delta + bias[ks] + np.maximum(included[ks] - hourly, 0)
    return np.where(fit & (delta < 0), score, np.inf)


def _pair_score(st: Tracker, k: int, bias: np.ndarray, included: np.ndarray) -> float:
    """`_scores` of one pair."""
    delta = st.add_delta(k) if st.fits(k) else 0
    if delta >= 0:
        return np.inf
    at = st.state[st.a.pair_provider[k]]
    hourly = int(at[PRICE]) * max(int(st.billable[k]) - int(at[SPARE]), 0)
    return delta + bias[k] + max(included[k] - hourly, 0)


def _place_by_regret(st: Tracker, ks: np.ndarray, bias: np.ndarray, included: np.ndarray) -> None:
    """Place the unplaced cases of pairs `ks` one by one, the largest regret first (MTHG).

    A case's regret is how much its best score beats its second best (infinite with one
    option). Scores change as providers fill up, so when a case is taken from the heap
    and its best pair no longer fits or scores worse, it is scored again and put back (at
    most 3 times) if another case now has a larger recorded regret.
    """
    if len(ks) == 0:
        return
    a = st.a
    starts, run = _segments(a.pair_case[ks])
    score = _scores(st, ks, bias, included)
    at, best = _lowest(score, starts, run)
    second = _second(score, starts, at)
    cases = a.pair_case[ks[starts]]
    best_pair = np.full(a.n_cases, NO)
    best_pair[cases] = np.where(best < np.inf, ks[at], NO)
    best_score = np.full(a.n_cases, np.inf)
    best_score[cases] = best
    key = np.full(len(cases), np.inf)  # minus the regret; cases without options last
    some = best < np.inf
    key[some] = best[some] - second[some]
    heap = list(zip(key.tolist(), cases.tolist(), strict=True))
    heapq.heapify(heap)
    retries = np.zeros(a.n_cases, np.int8)
    while heap:
        _, j = heapq.heappop(heap)
        k = int(best_pair[j])
        if k != NO and _pair_score(st, k, bias, included) <= best_score[j]:  # still the best
            st.apply(k, +1)
            continue
        lo, hi = int(st.first[j]), int(st.first[j + 1])
        score = _scores(st, slice(lo, hi), bias, included)
        n = int(score.argmin())
        if score[n] == np.inf:
            continue
        regret = np.inf if hi - lo == 1 else np.partition(score, 1)[1] - score[n]
        if heap and regret < -heap[0][0] and retries[j] < 3:
            retries[j] += 1
            best_pair[j], best_score[j] = lo + n, score[n]
            heapq.heappush(heap, (-regret, j))
        else:
            st.apply(lo + n, +1)


# --- 3. improving moves ------------------------------------------------------------------------


def _improve(st: Tracker, max_passes: int) -> None:
    """Passes of shifts, ejection chains, family moves and closing providers while a pass
    lowers the objective by at least `MIN_GAIN` (a share of it, the unassigned penalty left
    out)."""
    a = st.a
    cases = np.flatnonzero((a.case_lock == NO) & (st.first[1:] > st.first[:-1]))
    if len(cases) == 0:
        return
    changed = np.ones(a.n_providers, bool)
    failed: dict[int, np.ndarray] = {}
    for _ in range(max_passes):
        terms = _terms(st)
        before = st.state.copy()
        gain = _shift(st, cases)
        chains = _Chains(st)
        gain += _make_room(chains, cases, changed, failed)
        gain += _move_families(chains)
        gain += _close_providers(chains)
        if gain <= MIN_GAIN * (sum(terms.values()) - terms["unassigned"]):
            break
        changed = (st.state != before).any(axis=1)


def _best_option(st: Tracker, j: int, avoid: int = NO) -> tuple[int, int]:
    """The unplaced case `j`'s best pair that fits (not at provider `avoid`) and its
    objective change; (NO, 0) when none beats leaving the case unassigned."""
    lo, hi = int(st.first[j]), int(st.first[j + 1])
    delta, _, fit = st.options(slice(lo, hi))
    if avoid != NO:
        fit &= st.a.pair_provider[lo:hi] != avoid
    score = np.where(fit, delta, INF)
    n = int(score.argmin())
    return (lo + n, int(score[n])) if score[n] < 0 else (NO, 0)


def _shift(st: Tracker, cases: np.ndarray, sweeps: int = 5) -> int:
    """Move cases of `cases` to their best option (or unassigned) where that is better, in
    sweeps over the cases an estimate from all pairs shows may gain. Returns the decrease
    of the objective."""
    gain = 0
    for _ in range(sweeps):
        sweep_gain = 0
        for j in cases[_Outlook(st).fitting[cases] < 0].tolist():
            here, stay = int(st.pair_of[j]), 0
            if here != NO:
                st.apply(here, -1)
                stay = st.add_delta(here)
            k, change = _best_option(st, j)
            if change < stay:
                sweep_gain += stay - change
                here = k
            if here != NO:
                st.apply(here, +1)
        gain += sweep_gain
        if not sweep_gain:
            break
    return gain


class _Outlook:
    """Estimates from one look at all pairs: what each case would bring elsewhere."""

    def __init__(self, st: Tracker):
        a = st.a
        self.st = st
        self.delta, _, fit = st.options(slice(None))  # for placed cases as if added again
        cases = np.flatnonzero(st.assign != NO)
        here, i = st.pair_of[cases], st.assign[cases]
        # The objective change each case brings now (0 unassigned), with the fixed cost
        # when it is the only case at an optional provider and the family split when it
        # is alone at its provider.
        self.now = np.zeros(a.n_cases, np.int64)
        self.now[cases] = self.delta[here] + a.fixed[i] * (a.optional[i] & (st.count[i] == 1))
        self.alone = np.zeros(a.n_cases, bool)
        for j in cases[a.case_family[cases] != NO].tolist():
            at = st.family_at[a.case_family[j]]
            self.alone[j] = len(at) > 1 and at[int(st.assign[j])] == 1
        self.now += st.family_split * self.alone
        # How much the objective changes at best when the case goes elsewhere: anywhere
        # (limits ignored), or to a pair that fits now.
        other = self.delta.astype(float)
        other[here] = np.inf
        some = np.flatnonzero(st.first[1:] > st.first[:-1])  # cases with pairs
        self.anywhere = np.full(a.n_cases, np.inf)
        self.anywhere[some] = np.minimum.reduceat(other, st.first[some]) - self.now[some]
        other[~fit] = np.inf
        self.fitting = np.full(a.n_cases, np.inf)
        self.fitting[some] = np.minimum.reduceat(other, st.first[some]) - self.now[some]

    def relocation(self, cases: np.ndarray, freed: int) -> np.ndarray:
        """Estimated objective change of moving each of `cases` to a pair that fits, or
        to provider `freed` (where another case has left); anywhere when `freed` is NO."""
        if freed == NO:
            return self.anywhere[cases]
        k = self.st.pair_index(cases, np.full(len(cases), freed))
        move = np.where(k != NO, self.delta[k] - self.now[cases], np.inf)
        return np.minimum(self.fitting[cases], move)


def _make_room(
    chains: _Chains, cases: np.ndarray, changed: np.ndarray, failed: dict[int, np.ndarray]
) -> int:
    """Ejection chains (`_Chains.run`) from the cases of `cases` that may gain: unassigned
    cases first, then the placed ones with the most to gain, at most `CHAINS_PLACED` of
    them. `failed` holds, for cases whose chains failed, the providers they looked at:
    they are tried again only when one of those has `changed`. Returns the decrease of
    the objective."""
    st = chains.st
    gain = chains.outlook.anywhere
    least, share = CHAINS_PLACED
    left = max(least, int(len(cases) * share))
    total = 0
    for j in cases[np.lexsort((gain[cases], st.pair_of[cases] != NO))].tolist():
        if gain[j] >= 0 or (j in failed and not changed[failed[j]].any()):
            continue
        here = int(st.assign[j])
        change = chains.run(j)
        if change < 0:
            total -= change
            failed.pop(j, None)
        else:
            failed[j] = np.array([*chains.looked, *([here] if here != NO else [])], int)
        if here != NO:
            left -= 1
            if not left:
                break
    return total


def _move_families(chains: _Chains) -> int:
    """Move the placed, unlocked members of a family together to one provider all of them
    can go to (`_Chains.run_family`), where that lowers the objective: tried for the two
    best such providers of a family by an estimate, for at most `FAMILY_MOVES` families.
    Returns the decrease of the objective."""
    st, outlook = chains.st, chains.outlook
    a, P, split = st.a, st.a.n_providers, st.family_split
    movable = (st.assign != NO) & (a.case_lock == NO) & (a.case_family != NO)
    members = np.flatnonzero(movable)
    family_of = a.case_family[members]
    size = np.bincount(family_of, minlength=a.n_families)
    ks = np.flatnonzero(movable[a.pair_case])
    ks = ks[size[st.pair_family[ks]] >= 2]
    if len(ks) == 0:
        return 0
    # Per (family, provider) group of pairs: can all go there, and the estimated change:
    # the members' estimates (each with a split there if the family is not yet there)
    # against what they bring now and the family's splits now.
    group, group_of = np.unique(st.pair_family[ks] * P + a.pair_provider[ks], return_inverse=True)
    family, provider = group // P, group % P
    count = np.bincount(group_of)
    used = np.array([f * P + i for f, at in enumerate(st.family_at) for i in at], np.int64)
    splits = split * np.array([max(0, len(at) - 1) for at in st.family_at])
    now = np.bincount(family_of, outlook.now[members] - split * outlook.alone[members], len(size))
    estimate = np.bincount(group_of, outlook.delta[ks]) - split * ~np.isin(group, used) * count
    estimate -= now[family] + splits[family]
    # The same for the part without costs (penalties and offers), which misses no gain from
    # cases moved out of the way to where the family was.
    fixed_part = np.bincount(family_of, st.pair_static[st.pair_of[members]], len(size))
    fixed_part = np.bincount(group_of, st.pair_static[ks]) - fixed_part[family] - splits[family]
    only = np.array([next(iter(at)) if len(at) == 1 else NO for at in st.family_at])
    hopeful = (count == size[family]) & (provider != only[family])
    hopeful &= (estimate < 0) | (fixed_part < 0)
    pairs = _grouped(group_of, len(group))
    cases = _grouped(family_of, len(size))
    least, share = FAMILY_MOVES
    total, tried = 0, np.zeros(a.n_families, int)
    order = np.flatnonzero(hopeful)[np.argsort(estimate[hopeful], kind="stable")]
    for n in order[: max(least, int(a.n_families * share))].tolist():
        f = family[n]
        if tried[f] < 2:
            change = chains.run_family(members[cases[f]].tolist(), ks[pairs[n]])
            tried[f] = 2 if change < 0 else tried[f] + 1
            total -= change
    return total


def _grouped(group_of: np.ndarray, n: int) -> list[np.ndarray]:
    """The positions in `group_of` of each group 0..n-1, in order."""
    order = np.argsort(group_of, kind="stable")
    return np.split(order, np.searchsorted(group_of[order], np.arange(1, n)))


def _close_providers(chains: _Chains) -> int:
    """Close optional providers with a fixed cost by moving all their cases elsewhere
    (`_Chains.run_close`), where that lowers the objective. Returns the decrease."""
    st = chains.st
    total = 0
    for i in np.flatnonzero(st.a.optional & (st.a.fixed > 0) & (st.count > 0)).tolist():
        total -= chains.run_close(i)
    return total


class _Chains:
    """Compound moves, each kept only when it lowers the objective (else taken back):
    ejection chains, moving a family together, closing a provider."""

    def __init__(self, st: Tracker):
        self.st = st
        self.outlook = _Outlook(st)
        self.log: list[tuple[int, int]] = []  # (case, its pair before) per move
        self.looked: list[int] = []  # providers tried by `run`
        self.change = 0  # of the objective, by the moves in `log`

    def run(self, j: int) -> int:
        """Ejection chains from case `j`: it goes to a better pair that does not fit after
        a case there is moved out of the way, which is placed in turn (up to 3 moves from
        unassigned, else 2). The first chain that lowers the objective is kept. Returns the
        objective change (0 when none is kept)."""
        self._begin()
        self.looked.clear()
        here = int(self.st.assign[j])
        self._move(j, NO)
        moves, tries, others = CHAIN_PLACED if here != NO else CHAIN_UNASSIGNED
        return self._end(self._place(j, moves, tries, others, here))

    def run_family(self, cases: list[int], ks: np.ndarray) -> int:
        """Move the placed `cases` of one family to their pairs `ks` at one provider,
        making room there by moving a single case elsewhere where needed. Returns the
        objective change (0 when not kept)."""
        self._begin()
        for j in cases:
            self._move(j, NO)
        for j, k in zip(cases, ks.tolist(), strict=True):
            out = NO
            if not self.st.fits(k):
                out = self._make_way(k, cases)
                if out == NO:
                    return self._end(False)
            self._move(j, k)
            if out != NO:
                self._move(out, _best_option(self.st, out)[0])
        return self._end(True)

    def run_close(self, i: int) -> int:
        """Move every case of provider `i` to its best fitting option elsewhere (or leave
        it unassigned). Returns the objective change (0 when not kept)."""
        self._begin()
        cases = list(self.st.members[i])
        if (self.st.a.case_lock[cases] != NO).any():
            return 0
        for j in cases:
            self._move(j, NO)
        for j in cases:
            self._move(j, _best_option(self.st, j, avoid=i)[0])
        return self._end(True)

    def _begin(self) -> None:
        self.log.clear()
        self.change = 0

    def _end(self, done: bool) -> int:
        """Keep the moves if `done` and they lower the objective; the change kept."""
        if done and self.change < 0:
            return self.change
        self._undo(0)
        return 0

    def _move(self, j: int, k: int) -> None:
        here = int(self.st.pair_of[j])
        if k != here:
            self.log.append((j, here))
            self.change += self.st.move(j, k)

    def _undo(self, mark: int) -> None:
        """Take back the moves after the first `mark` ones."""
        while len(self.log) > mark:
            j, k = self.log.pop()
            self.change += self.st.move(j, k)

    def _make_way(self, k: int, keep: list[int], others: int = 3) -> int:
        """Move one case (not of `keep`) out of pair `k`'s provider so that `k` fits: the
        first that does of the `others` cases with the best estimated relocation. The case
        moved (left unplaced), or NO."""
        st, a = self.st, self.st.a
        i = int(a.pair_provider[k])
        there = np.fromiter(st.members[i], int, len(st.members[i]))
        there = there[(a.case_lock[there] == NO) & ~np.isin(there, keep)]
        there = there[a.pair_load[st.pair_of[there]] >= a.pair_load[k] - st.state[i, ROOM]]
        for j in there[np.argsort(self.outlook.fitting[there], kind="stable")][:others].tolist():
            self._move(j, NO)
            if st.fits(k):
                return j
            self._undo(len(self.log) - 1)
        return NO

    def _place(self, j: int, moves: int, tries: int, others: int, freed: int) -> bool:
        """Place the unplaced case `j` so that the objective change of the chain so far
        becomes negative: at its best fitting option, or unassigned, or (with moves left)
        at one of its `tries` pairs that do not fit needing the least room, after moving
        one of the `others` most promising cases there out of the way, which is placed in
        turn. `freed` is the provider the chain's first case left. True when that
        succeeds, else the moves made here are undone."""
        st, a = self.st, self.st.a
        change = self.change
        lo, hi = int(st.first[j]), int(st.first[j + 1])
        delta, _, fit = st.options(slice(lo, hi))
        score = np.where(fit, delta, INF)
        n = int(score.argmin())
        if score[n] < 0 and change + score[n] < 0:
            self._move(j, lo + n)
            return True
        if change < 0:
            return True  # unassigned
        if moves < 2:
            return False
        better = np.flatnonzero((change + delta < 0) & ~fit)
        i = a.pair_provider[lo + better]
        need = a.pair_load[lo + better] - st.state[i, ROOM]  # hours to free
        mark = len(self.log)
        for n in better[np.lexsort((delta[better], need))][:tries].tolist():
            k = lo + n
            i = int(a.pair_provider[k])
            self.looked.append(i)
            there = np.fromiter(st.members[i], int, len(st.members[i]))
            there = there[a.case_lock[there] == NO]
            there = there[a.pair_load[st.pair_of[there]] >= a.pair_load[k] - st.state[i, ROOM]]
            there = there[change + delta[n] + self.outlook.anywhere[there] < 0]  # a bound
            estimate = change + delta[n] + self.outlook.relocation(there, freed)
            there, estimate = there[estimate < 0], estimate[estimate < 0]
            for j2 in there[np.argsort(estimate, kind="stable")][:others].tolist():
                self._move(j2, NO)
                if st.fits(k):
                    self._move(j, k)
                    if self._place(j2, moves - 1, tries, others, freed):
                        return True
                self._undo(mark)
        return False
