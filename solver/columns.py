"""Column generation on the assignment core, and a dive from its LP to an allocation.

The core of the model: each case goes to one provider or stays unassigned; a pair costs its
linear objective coefficient in the model (offers, hourly price x hours, relation,
continuity and kind penalties, minus the unassigned weight the placement saves), and where
the model bills hours above included hours by an excess variable, also its hours at the
hourly price (included hours not deducted: an estimate from above); a provider takes cases
up to its capacity (and `max_cases`, kept by dropping the least profitable cases).
A column is a set of cases that fits one provider. The master LP (GLOP) takes at most one
column per provider and places each case at most once; its duals, smoothed with the previous
pricing point (SMOOTHING, Neame's stabilisation; where that finds no improving column, the
LP's own duals), price new columns per provider by a 0-1 knapsack over the hours (dynamic
programming). This LP is tighter than the pair LP (on chu1997/d20100: pair LP 6 168, this
LP 6 176.1, optimum 6 185), and its columns are nearly an allocation.

The dive turns it into one, as in the diving heuristics of branch-and-price: fix the column
with the largest LP value (all columns at 1 at once), generate columns again for the cases
and providers left, and repeat until every provider has a column or no column is left.
A fix that makes the LP leave more cases unassigned is undone and its column banned (a few
times per step). The result is only a start: `solver.heuristic.greedy` keeps its placements
that satisfy every rule of the full model (budgets, families and fixed costs are not in the
core) and places the rest; the search goes on from the better start.

No randomness, and the work is bounded by a number of LP solves, so the dive is the same on
every run unless the wall-clock deadline ends it first (then the LP so far is rounded; a run
stopped by the wall clock is not reproducible). `solver.solve.columns_fit` decides where it
runs by default: GLOP re-solves the master from scratch and its time per solve grows with
the rows and columns, so on 200 cases x 20 providers the dive takes about 19 s.
"""

from __future__ import annotations

import time

import numpy as np
from ortools.linear_solver import linear_solver_pb2, pywraplp

from solver.arrays import NO
from solver.model import AllocationModel

SMOOTHING = 0.5  # pricing point: this share of the previous one, the rest the LP's duals
MAX_BANS = 5  # columns banned per dive step before a fix is kept anyway
MAX_STATES = 4000  # knapsack capacities above this are scaled down (columns stay feasible)
EPS = 1e-6
DONE, STOPPED = range(2)  # column generation: at the LP optimum, or out of solves or time


def dive(
    am: AllocationModel,
    pair_cost: np.ndarray,
    fixed: np.ndarray,
    start: np.ndarray | None,
    solves: int,
    deadline: float,
) -> np.ndarray | None:
    """An allocation (provider index per case, or NO) from the dive, or from rounding the
    LP when `solves` LP solves are spent or the wall-clock deadline passes first; None when
    no LP was solved. `pair_cost` is each pair's objective coefficient in the model (money
    units); pairs marked in `fixed` are not used; `start` (an allocation) gives the first
    columns."""
    master = _Master(am, pair_cost, fixed, deadline, solves)
    if start is not None:
        master.seed(start)
    state = master.generate()
    while state != STOPPED and master.open.any():
        ranked = np.argsort(-master.values, kind="stable")
        ones = [k for k in ranked if master.values[k] > 1 - EPS and master.can_fix(k)]
        if len(ones) > 1:
            for k in ones:
                if master.can_fix(k):
                    master.fix(k)
            state = master.generate()
            continue
        for ban in range(MAX_BANS + 1):
            k = next((k for k in ranked if master.values[k] > EPS and master.can_fix(k)), None)
            if k is None:
                return master.assignment()
            out = master.outside
            master.fix(k)
            state = master.generate()
            if state == STOPPED or master.outside <= out + EPS or ban == MAX_BANS:
                break
            master.unfix(k)
            state = master.generate()
            if state == STOPPED:
                break
            ranked = np.argsort(-master.values, kind="stable")
    return None if master.values is None else master.assignment()


class _Master:
    """The master LP and its columns: one provider's cases and their cost each."""

    def __init__(self, am: AllocationModel, pair_cost, fixed, deadline: float, solves: int):
        a = am.arrays
        self.deadline, self.solves, self.budget = deadline, 0, solves
        pc, pp = a.pair_case, a.pair_provider
        cost = am.core_costs(pair_cost)  # hours above included: estimate
        usable = ~fixed & ((a.case_lock[pc] == NO) | (a.case_lock[pc] == pp))
        self.n_cases, self.n_providers = a.n_cases, a.n_providers
        # per provider: its usable pairs' cases, loads (scaled) and costs
        self.by_provider = []
        for i in range(a.n_providers):
            idx = np.flatnonzero(usable & (pp == i))
            load, cap = a.pair_load[idx], int(a.capacity[i])
            scale = max(1, -(-cap // MAX_STATES))
            self.by_provider.append(
                (pc[idx], -(-load // scale), cap // scale, cost[idx], int(a.max_cases[i]))
            )
        self.columns: list[tuple[int, np.ndarray, pywraplp.Variable]] = []
        self.seen: set[tuple[int, bytes]] = set()
        self.lp = pywraplp.Solver.CreateSolver("GLOP")
        self.case_rows = [self.lp.Constraint(1, 1) for _ in range(self.n_cases)]
        self.provider_rows = [self.lp.Constraint(0, 1) for _ in range(self.n_providers)]
        self.objective = self.lp.Objective()
        self.objective.SetMinimization()
        # each case's row: its columns + unassigned = 1 (the pair costs already count the
        # unassigned weight a placement saves)
        for row in self.case_rows:  # the first n_cases variables (read back in this order)
            row.SetCoefficient(self.lp.NumVar(0, 1, ""), 1)
        self.covered = np.zeros(a.n_cases, bool)
        self.open = np.array([len(p[0]) > 0 for p in self.by_provider])
        self.values: np.ndarray | None = None  # the last LP's column values
        self.value = float("nan")  # and its objective (money units, no constant)
        self.outside = float(a.n_cases)

    def can_fix(self, k: int) -> bool:
        i, cases, _var = self.columns[k]
        return bool(self.open[i]) and not self.covered[cases].any()

    def fix(self, k: int) -> None:
        i, cases, var = self.columns[k]
        var.SetLb(1)
        self.open[i] = False
        self.covered[cases] = True

    def unfix(self, k: int) -> None:
        i, cases, var = self.columns[k]
        var.SetBounds(0, 0)
        self.open[i] = True
        self.covered[cases] = False

    def seed(self, assign: np.ndarray) -> None:
        """A column for each provider's cases in `assign`, where they fit the core."""
        for i, (cases, load, cap, _cost, most) in enumerate(self.by_provider):
            mine = np.isin(cases, np.flatnonzero(assign == i))
            fits = load[mine].sum() <= cap and (most == NO or mine.sum() <= most)
            if mine.any() and fits:
                self._add(i, np.flatnonzero(mine))

    def generate(self) -> int:
        """Column generation to the LP optimum (DONE) for the open providers and cases
        left, or until the LP solves are spent or the deadline passes (STOPPED)."""
        point = None
        while True:
            if time.perf_counter() > self.deadline or self.solves >= self.budget:
                return STOPPED
            self.solves += 1
            if self.lp.Solve() != pywraplp.Solver.OPTIMAL:
                return STOPPED
            self.value = self.lp.Objective().Value()
            response = linear_solver_pb2.MPSolutionResponse()
            self.lp.FillSolutionResponseProto(response)  # in creation order
            values, rows = np.array(response.variable_value), np.array(response.dual_value)
            self.values, self.outside = values[self.n_cases :], values[: self.n_cases].sum()
            duals, limits = rows[: self.n_cases], rows[self.n_cases :]
            smoothed = point is not None
            if smoothed:
                point = SMOOTHING * point + (1 - SMOOTHING) * duals
                added = self._price_all(point, duals, limits)
            if not smoothed or not added:  # mispricing: the LP's duals
                point = duals
                added = self._price_all(duals, duals, limits)
            if not added:
                return DONE

    def _price_all(self, point: np.ndarray, duals: np.ndarray, limits: np.ndarray) -> int:
        """Each open provider's best column at the pricing point, added where its reduced
        cost at the LP's duals is negative; how many were added."""
        added = 0
        for i in np.flatnonzero(self.open):
            cases, _load, _cap, cost, _most = self.by_provider[i]
            chosen = self._price(i, point)
            if len(chosen) and cost[chosen].sum() - duals[cases[chosen]].sum() - limits[i] < -EPS:
                added += self._add(i, chosen)
        return added

    def _price(self, i: int, duals: np.ndarray) -> np.ndarray:
        """Provider i's column of most profit at `duals` (indices into its pairs)."""
        cases, load, cap, cost, most = self.by_provider[i]
        profit = duals[cases] - cost
        take = np.flatnonzero((profit > EPS) & ~self.covered[cases] & (load <= cap))
        if not len(take):
            return take
        chosen = take[_knapsack(profit[take], load[take], cap)[0]]
        if most != NO and len(chosen) > most:
            chosen = np.sort(chosen[np.argsort(-profit[chosen], kind="stable")[:most]])
        return chosen

    def _add(self, i: int, pairs: np.ndarray) -> int:
        """Provider i's column of the given pairs (ascending indices into its pairs), unless
        it is in the LP already or banned; 1 when added."""
        all_cases, _load, _cap, cost, _most = self.by_provider[i]
        cases = all_cases[pairs]
        key = (i, cases.tobytes())
        if key in self.seen:
            return 0
        self.seen.add(key)
        var = self.lp.NumVar(0, 1, "")
        self.objective.SetCoefficient(var, float(cost[pairs].sum()))
        self.provider_rows[i].SetCoefficient(var, 1)
        for j in cases.tolist():
            self.case_rows[j].SetCoefficient(var, 1)
        self.columns.append((i, cases, var))
        return 1

    def assignment(self) -> np.ndarray:
        """The fixed columns, then the others by LP value, each where it overlaps none
        taken before (LP rounding)."""
        out = np.full(self.n_cases, NO, int)
        used = np.zeros(self.n_providers, bool)
        fixed = np.array([var.lb() > 0.5 for _i, _c, var in self.columns], bool)
        values = np.zeros(len(self.columns))  # columns added since the last LP are at 0
        values[: len(self.values)] = self.values
        order = np.lexsort((-values, ~fixed))
        for k in order:
            i, cases, _var = self.columns[k]
            if (fixed[k] or values[k] > EPS) and not used[i] and (out[cases] == NO).all():
                out[cases] = i
                used[i] = True
        return out


def _knapsack(profit: np.ndarray, load: np.ndarray, cap: int) -> tuple[np.ndarray, float]:
    """The items of most total profit whose loads sum to at most `cap`, and that profit."""
    best = np.zeros(cap + 1)
    took = np.zeros((len(profit), cap + 1), bool)
    for t in range(len(profit)):
        w = int(load[t])
        if w > cap:
            continue
        shifted = best[: cap + 1 - w] + profit[t]
        better = shifted > best[w:]
        took[t, w:] = better
        best[w:][better] = shifted[better]
    chosen, room = [], cap
    for t in range(len(profit) - 1, -1, -1):
        if took[t, room]:
            chosen.append(t)
            room -= int(load[t])
    return np.array(chosen[::-1], int), float(best[cap])
