"""A lower bound above the LP's: the placement rows relaxed, each provider's hours kept.

The LP bound (`solver.lp`) lets every provider take fractions of cases. Here each case's
placement row `sum of its pairs <= 1` (`== 1` when locked or after `place_all`) is priced
by a multiplier u_j instead (u_j <= 0 for `<= 1`), and each provider chooses whole cases
within its hours, a 0-1 knapsack (Ross and Soland's relaxation; for the GAP its best value
is the column-generation bound, which is often above the LP's, Savelsbergh 1997):

    L(u) = constant + sum_j u_j + sum_i min { sum_k (c_k - u_j(k)) x_k :
                                              sum_k hours_k x_k <= capacity_i, x 0-1 }

Every other rule is dropped, and so is every auxiliary variable (open providers, billed
hours, family terms): they are at least 0 with objective coefficients of at least 0, so
dropping them lowers the objective of every allocation, and L(u) stays a lower bound for
any u (weak duality). Each knapsack is solved exactly by dynamic programming over the
hours, or, when items x hours exceed KNAPSACK_CELLS, bounded by Dantzig's fractional
knapsack (still a valid bound, only weaker). The multipliers start from the LP's (its
`case_terms`, where L(u) is at least the LP bound on pure assignment models) and move by
projected subgradient steps (Polyak, towards the best known allocation's value).

The sum is taken in float64 and lowered by the same rounding margin as the LP's, then
rounded up to whole money units.
"""

from __future__ import annotations

import math
import time

import numpy as np

from solver.arrays import NO
from solver.lp import Relaxation, rounding_margin
from solver.model import AllocationModel

KNAPSACK_CELLS = 2_000_000  # items x hours solved exactly, per provider
ITERATIONS = 400  # subgradient steps at most
STALL = 15  # steps without a better bound before the step size halves
# Work is counted in cells of the knapsack tables, each item standing for ITEM_CELLS more
# (its numpy calls), at CELL_WORK deterministic seconds a cell: the same bound for the
# same model on every run unless the wall clock stops the steps first.
CELL_WORK, ITEM_CELLS = 2e-9, 2_000


def knapsack_bound(
    am: AllocationModel, relaxation: Relaxation, upper: int, work: float, deadline: float
) -> int | None:
    """The best L(u) found within `work` deterministic seconds or by the wall-clock
    `deadline` (money units, constant included), steering towards `upper`, a known
    allocation's value. None where
    the model has auxiliary terms below 0 (then dropping them is no relaxation), or where
    L is below the LP's value at the LP's own multipliers (on pure assignment models it
    never is; elsewhere the rules dropped matter, and the steps rarely make up for them in
    the time)."""
    a = am.arrays
    n = am.n_pairs
    if n == 0 or len(relaxation.case_terms) == 0:
        return None
    aux = am.objective_vars >= n
    aux_lo = am.bounds()[0][am.objective_vars[aux]]
    if (am.objective_coeffs[aux] < 0).any() or (aux_lo < 0).any():
        return None
    cost = am.pair_costs().astype(float)
    constant = am.constant
    first = np.flatnonzero(np.r_[True, a.pair_case[1:] != a.pair_case[:-1]])
    placed = a.case_lock[a.pair_case[first]] != NO
    if am.placed_all:  # as in `solver.lp`: the unassigned weight is a constant
        miss = int(a.weight["unassigned"])
        cost += miss
        constant -= miss * len(first)
        placed[:] = True
    group = np.repeat(np.arange(len(first)), np.diff(np.r_[first, n]))
    sacks = _Knapsacks(a.pair_provider, a.pair_load, a.capacity)
    u = np.where(placed, relaxation.case_terms, np.minimum(0.0, relaxation.case_terms))
    best = -math.inf
    theta, stall = 1.0, 0
    target = upper - constant
    for step in range(ITERATIONS):
        profit = u[group] - cost  # a pair's gain in its provider's knapsack
        value, size, x = sacks.solve(profit)
        value = math.fsum(u.tolist()) - value
        size += math.fsum(np.abs(u).tolist())
        value -= rounding_margin(size)
        if step == 0 and value + constant < relaxation.lagrangian - 1:
            # below the LP at its own multipliers (equal on pure assignment models when no
            # knapsack gains on the LP, up to rounding): the rules dropped matter here
            return None
        if value > best:
            best, stall = value, 0
        else:
            stall += 1
            if stall >= STALL:
                theta, stall = theta / 2, 0
        spent = sacks.cells * CELL_WORK
        if spent > work or time.perf_counter() > deadline or theta < 1e-3:
            break
        g = 1.0 - np.bincount(group, weights=x, minlength=len(first))
        g[~placed & (u >= 0) & (g > 0)] = 0.0  # projected: u stays <= 0 where it must
        norm = float(g @ g)
        if norm == 0:  # the knapsacks' choice places every case once: it is optimal
            break
        u = u + theta * max(target - value, 1.0) / norm * g
        u[~placed] = np.minimum(0.0, u[~placed])
    return math.ceil(best) + constant if math.isfinite(best) else None


class _Knapsacks:
    """One 0-1 knapsack per provider over its pairs: the most profit within its hours."""

    def __init__(self, provider: np.ndarray, hours: np.ndarray, capacity: np.ndarray):
        self.hours, self.capacity = hours, capacity
        order = np.argsort(provider, kind="stable")
        bounds = np.searchsorted(provider[order], np.arange(len(capacity) + 1))
        self.items = [order[bounds[i] : bounds[i + 1]] for i in range(len(capacity))]
        self.cells = 0  # work done, in cells (see CELL_WORK)

    def solve(self, profit: np.ndarray) -> tuple[float, float, np.ndarray]:
        """The summed best profit (an upper bound where Dantzig's), the size of its terms
        (for the rounding margin), and a choice of pairs (0 or 1 each)."""
        total, size = 0.0, 0.0
        x = np.zeros(len(profit))
        for i, items in enumerate(self.items):
            items = items[profit[items] > 0]
            if not len(items):
                continue
            capacity = int(self.capacity[i])
            exact = len(items) * (capacity + 1) <= KNAPSACK_CELLS
            if exact:
                value, chosen = _exact(profit[items], self.hours[items], capacity)
            else:
                value, chosen = _dantzig(profit[items], self.hours[items], capacity)
            self.cells += len(items) * ((capacity + 1 if exact else 0) + ITEM_CELLS)
            x[items[chosen]] = 1.0
            total += value
            size += float(profit[items].sum())
        return total, size, x


def _exact(profit: np.ndarray, hours: np.ndarray, capacity: int) -> tuple[float, np.ndarray]:
    """The best profit within `capacity` hours and the items taken (dynamic programming
    over the hours used, one row per item)."""
    best = np.zeros(capacity + 1)  # best[h]: most profit within h hours
    taken = np.zeros((len(profit), capacity + 1), bool)
    for t, (p, h) in enumerate(zip(profit.tolist(), hours.tolist(), strict=True)):
        h = int(h)
        if h > capacity:
            continue
        with_it = best[: capacity + 1 - h] + p
        better = with_it > best[h:]
        taken[t, h:] = better
        best[h:] = np.where(better, with_it, best[h:])
    chosen = np.zeros(len(profit), bool)
    room = capacity
    for t in range(len(profit) - 1, -1, -1):
        if taken[t, room]:
            chosen[t] = True
            room -= int(hours[t])
    return float(best[capacity]), chosen


def _dantzig(profit: np.ndarray, hours: np.ndarray, capacity: int) -> tuple[float, np.ndarray]:
    """Dantzig's bound (items by profit per hour, the first that does not fit taken in
    part) and the whole items before it."""
    ratio = profit / np.maximum(hours, 1e-9)
    order = np.argsort(-ratio, kind="stable")
    used = np.cumsum(hours[order])
    whole = used <= capacity
    value = float(profit[order][whole].sum())
    cut = int(whole.sum())
    if cut < len(order):
        left = capacity - (used[cut - 1] if cut else 0)
        value += float(profit[order[cut]]) * left / max(float(hours[order[cut]]), 1e-9)
    chosen = np.zeros(len(profit), bool)
    chosen[order[whole]] = True
    return value, chosen
