"""Multi-exchange moves: chains and cycles of case moves, found on the improvement graph.

A **cyclic exchange** moves case j1 to the provider of j2, j2 to the provider of j3, ...,
and jk to the provider of j1, each provider at most once; a **path exchange** ends instead
by moving jk to a provider with room left, and j1's provider only loses j1. Each provider
gains at most one case and loses at most one, so whether it fits and what the move costs
are known arc by arc: the improvement graph has an arc i -> j when case i fits at j's
provider once j has left (Thompson and Orlin's cyclic transfers; Ahuja, Orlin and Sharma's
very large-scale neighbourhood search; for the GAP, Yagiura, Ibaraki and Glover's ejection
chains).

`_Graph.best` looks for the cheapest exchanges by a label-correcting recursion over the
number of cases moved, from every case at once, with one label per case (the cheapest chain
found that ends there, and the providers it has used), so it may miss some: on dense numpy
arrays, each further case in the chain costs a few passes over a cases x cases array. Of
the improving chains it finds, it returns the cheapest few at distinct providers (each
priced on its own). Moves are priced with each pair's own cost
(`AllocationModel.core_costs`, exact where the objective is a sum over pairs, as on GAP
instances); an exchange is then made on a `Tracker` and kept only when the rules hold
(`max_cases`, budgets) and the spec's objective plus the penalty below, exactly, goes down.

`Exchanges.search` is a strategic oscillation (as in Yagiura, Ibaraki and Glover's search
for the GAP): hours above a provider's capacity are allowed at a price per hour and
provider, so that the search can cross allocations that break capacities on its way to
better ones that keep them. After each descent (exchanges until none improves) the price
goes up at the providers above capacity, or everywhere down when none is; the best
allocation within every capacity is what the search returns. The prices carry over from
one call to the next. The search ends when IDLE_ROUNDS descents in a row bring nothing
better or its work is spent. Its work is counted in cells of the graph's arrays, not in
seconds, so for a seed it is the same on every run unless the wall clock stops it first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from solver.arrays import NO
from solver.heuristic import Tracker
from solver.model import AllocationModel

MAX_NODES = 800  # cases in one improvement graph (its arrays are cases x cases)
MAX_LENGTH = 12  # cases moved by one exchange at most
MAX_TRIES = 256  # improving chains looked at per graph, for exchanges at distinct providers
# Deterministic seconds per cell of a cases x cases array and layer, and the cells that
# stand for the fixed cost of a layer (about 0.3 ms): about a second of the wall clock per
# deterministic second here (with 0.9e-8, full solves of unseen GAP ended 5 to 8 s early)
CELL_WORK, LAYER_CELLS = 0.65e-8, 50_000
BIG = np.inf  # no arc
EPS = 1e-6  # an exchange must gain more than this (the penalty is a float)
# The price of an hour above capacity: at first the typical spread of a case's costs per
# hour; after a descent, times WEIGHT_UP where hours are above capacity, or WEIGHT_DOWN
# everywhere when none are. The search ends after IDLE_ROUNDS descents without a gain.
WEIGHT_UP, WEIGHT_DOWN, IDLE_ROUNDS = 1.3, 0.9, 400


@dataclass
class Found:
    assign: np.ndarray
    units: int  # its objective, money units
    work: float  # deterministic seconds spent
    exchanges: int  # improving exchanges made


class Exchanges:
    """Exchange moves on one model: each pair's own cost, and which cases may move."""

    def __init__(self, am: AllocationModel, usable: np.ndarray):
        """`usable` marks the pairs a case may move to (e.g. those not fixed at 0); locked
        cases never move."""
        self.a = am.arrays
        self.cost = am.core_costs()
        self.usable = usable
        self.movable = self.a.case_lock == NO
        # a typical price of an hour: the spread of a case's pair costs per hour
        a, cost = self.a, np.where(usable, self.cost, np.nan)
        first = np.searchsorted(a.pair_case, np.arange(a.n_cases))
        has = first[np.diff(np.append(first, len(cost))) > 0]  # cases with pairs
        spread = np.fmax.reduceat(cost, has) - np.fmin.reduceat(cost, has) if len(has) else has
        spread = spread[np.isfinite(spread) & (spread > 0)]
        hours = np.median(a.pair_load) if len(a.pair_load) else 1.0
        scale = (float(np.median(spread)) if len(spread) else 1.0) / max(1.0, hours)
        self.weight = np.full(a.n_providers, scale)  # price of an hour above capacity

    def search(
        self,
        assign: np.ndarray,
        units: int,
        work: float,
        deadline: float,
        rng: np.random.Generator,
        allowed: np.ndarray | None = None,
        stop: Callable[[int], bool] = lambda units: False,
    ) -> Found:
        """Strategic oscillation from `assign` (worth `units`, within every rule) until
        `work` deterministic seconds are spent, the wall clock reaches `deadline` or
        `stop(value)` is true. Cases move only at and to providers marked in `allowed`
        (default all). Returns the best allocation found within every rule, never worse
        than `assign`."""
        a = self.a
        walk = _Walk(self, Tracker.of(a, assign), units, allowed)
        idle = 0
        while walk.spent < work and time.perf_counter() < deadline and idle < IDLE_ROUNDS:
            if stop(walk.best_units):
                break
            before = walk.best_units
            nodes = walk.nodes(rng)
            if len(nodes) < 2:
                break
            walk.descend(nodes, work, deadline)
            over = walk.st.load > a.capacity
            if over.any():
                self.weight[over] *= WEIGHT_UP
            else:
                self.weight *= WEIGHT_DOWN
            idle = 0 if walk.best_units < before else idle + 1
        return Found(walk.best, walk.best_units, walk.spent, walk.kept)


class _Walk:
    """The allocation being improved (a tracker), its value and the work spent."""

    def __init__(self, ex: Exchanges, st: Tracker, units: int, allowed: np.ndarray | None):
        self.ex, self.st, self.a = ex, st, ex.a
        self.allowed = np.ones(self.a.n_providers, bool) if allowed is None else allowed
        self.units, self.spent, self.kept = units, 0.0, 0
        self.best, self.best_units = st.assign.copy(), units  # the best within capacities

    def penalty(self, providers: np.ndarray) -> float:
        """The price of the hours above capacity at these providers (distinct)."""
        over = np.maximum(0, self.st.load[providers] - self.a.capacity[providers])
        return float(self.ex.weight[providers] @ over)

    def move(self, j: int, k: int) -> int:
        """Case `j` to pair `k` (or NO); the exact objective change."""
        change = self.st.move(j, k)
        self.units += change
        return change

    def nodes(self, rng: np.random.Generator) -> np.ndarray:
        """The graph's cases: the placed movable cases at allowed providers, MAX_NODES of
        them drawn at random when there are more."""
        at = self.st.assign
        ok = self.ex.movable & (at != NO)
        ok[ok] = self.allowed[at[ok]]
        cases = np.flatnonzero(ok)
        if len(cases) > MAX_NODES:
            cases = np.sort(rng.choice(cases, MAX_NODES, replace=False))
        return cases

    def descend(self, cases: np.ndarray, work: float, deadline: float) -> None:
        """Exchanges among `cases` that lower the objective, one at a time, until none is
        found; an exchange that breaks a rule or costs more than priced is undone and its
        cases are left out of the graph."""
        frozen = np.zeros(len(cases), bool)
        graph = None  # rebuilt after each exchange kept (an undone one changes nothing)
        while self.spent < work and time.perf_counter() < deadline and len(cases) >= 2:
            if graph is None:
                graph = _Graph(self, cases)
            chains, layers = graph.best(frozen)
            self.spent += CELL_WORK * (len(cases) ** 2 + LAYER_CELLS) * layers
            if not chains:
                return
            kept = [self._exchange(cases, graph, chain) for chain in chains]
            for chain, made in zip(chains, kept, strict=True):
                if not made:
                    frozen[[n for n, _ in chain]] = True
            if any(kept):
                graph = None  # rebuilt after an exchange kept

    def _exchange(self, cases: np.ndarray, graph: _Graph, chain: list[tuple[int, int]]) -> bool:
        """Make the exchange `chain` (graph rows and their new providers) when it keeps
        every rule and lowers the objective (with the penalty, if any); else undo it."""
        moved = [(int(cases[n]), int(self.st.pair_of[cases[n]]), int(graph.pair[n, i]))
                 for n, i in chain]  # fmt: skip
        touched = np.unique([i for _, i in chain] + [int(graph.at[n]) for n, _ in chain])
        change = -self.penalty(touched)
        change += sum(self.move(j, NO) for j, _, _ in moved)
        change += sum(self.move(j, k) for j, _, k in moved)
        change += self.penalty(touched)
        if change < -EPS and self._holds(touched):
            self.kept += 1
            if self.units < self.best_units and (self.st.load <= self.a.capacity).all():
                self.best, self.best_units = self.st.assign.copy(), self.units
            return True
        for j, _, _ in moved:
            self.move(j, NO)
        for j, before, _ in moved:
            self.move(j, before)
        return False

    def _holds(self, providers: np.ndarray) -> bool:
        """Whether these providers keep their max_cases, and every budget holds."""
        st = self.st
        return bool((st.count[providers] <= st.case_cap[providers]).all() and (st.slack >= 0).all())


class _Graph:
    """The improvement graph of `cases` under the walk's allocation, as dense arrays over
    the cases and all providers."""

    def __init__(self, walk: _Walk, cases: np.ndarray):
        st, a, ex = walk.st, walk.a, walk.ex
        self.weight = ex.weight.copy()
        n, P = len(cases), a.n_providers
        starts, ends = st.first[cases], st.first[cases + 1]
        lengths = ends - starts
        ks = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(lengths.sum())
        rows = np.repeat(np.arange(n), lengths)
        keep = ex.usable[ks] & walk.allowed[a.pair_provider[ks]]
        ks, rows = ks[keep], rows[keep]
        cols = a.pair_provider[ks]
        self.pair = np.full((n, P), NO, np.int64)
        self.pair[rows, cols] = ks
        self.cost = np.full((n, P), BIG)
        self.cost[rows, cols] = ex.cost[ks]
        self.hours = np.zeros((n, P), np.int64)
        self.hours[rows, cols] = a.pair_load[ks]
        here = st.pair_of[cases]
        self.at = st.assign[cases]  # provider of each case
        self.now = ex.cost[here]
        self.room = a.capacity - st.load  # hours left per provider
        self.places = st.case_cap - st.count  # cases left per provider
        self.here_hours = a.pair_load[here]

    def best(self, frozen: np.ndarray) -> tuple[list[list[tuple[int, int]]], int]:
        """The cheapest improving exchange found among the cases not `frozen`, as (case's
        row, its new provider) in the order of the chain, or None; and the layers of the
        recursion run (the work)."""
        n = len(self.at)
        rows = np.arange(n)
        at, cost = self.at, self.cost
        # arc i -> j: case i goes to j's provider, which j leaves
        to = cost[:, at]  # [i, j]: i's cost at j's provider
        # hours above capacity at j's provider after the arc (i in, j out) and before
        after = self.hours[:, at] - (self.room[at] + self.here_hours)[None, :]
        over = np.maximum(0, -self.room)
        elsewhere = at[:, None] != at[None, :]
        # the chain's last case goes to a provider with room (a path exchange)
        beyond = self.hours - self.room[None, :]
        end = (self.places > 0)[None, :] & (cost < BIG)
        end[rows, at] = False
        w = self.weight  # the price of an hour above capacity, per provider
        arc = np.where(elsewhere, to - self.now[:, None], BIG)
        arc += w[at][None, :] * (np.maximum(0, after) - over[at][None, :])
        shift = np.where(end, cost - self.now[:, None], BIG)
        shift += w[None, :] * (np.maximum(0, beyond) - over[None, :])
        # a path's first case leaves its provider
        start = w[at] * (np.maximum(0, -self.room[at] - self.here_hours) - over[at])
        if frozen.any():
            arc[frozen, :] = BIG
            arc[:, frozen] = BIG
            shift[frozen, :] = BIG
        # labels: chains ending at each case (the case still to be placed)
        label = np.where(frozen, BIG, 0.0)
        origin = rows.copy()
        used = np.zeros((n, len(self.room)), bool)
        used[rows, at] = True
        preds: list[np.ndarray] = []
        found: list[tuple[np.ndarray, np.ndarray, np.ndarray, int]] = []  # improving chains
        layers = 0
        for length in range(MAX_LENGTH):
            layers += 1
            closing = np.where(used, BIG, shift)
            to_end = closing.argmin(axis=1)
            value = label + closing[rows, to_end] + start[origin]
            ends = np.flatnonzero(value < -EPS)
            found.append((value[ends], ends, to_end[ends], len(preds)))
            if length:
                value = label + arc[rows, origin]
                ends = np.flatnonzero(value < -EPS)
                found.append((value[ends], ends, np.full(len(ends), NO), len(preds)))
            if length == MAX_LENGTH - 1:
                break
            extended = label[:, None] + np.where(used[:, at], BIG, arc)
            pred = extended.argmin(axis=0)
            label = extended[pred, rows]
            reached = label < BIG
            if not reached.any():
                break
            used = used[pred]
            used[rows[reached], at[reached]] = True
            origin = origin[pred]
            preds.append(pred)
        values = np.concatenate([f[0] for f in found])
        order = np.argsort(values, kind="stable")[:MAX_TRIES]
        lasts, to_ends = (np.concatenate([f[i] for f in found]) for i in (1, 2))
        depths = np.concatenate([np.full(len(f[0]), f[3]) for f in found])
        chains, taken = [], set()
        for c in order.tolist():
            last, to_end, depth = int(lasts[c]), int(to_ends[c]), int(depths[c])
            chain = [last]
            for pred in reversed(preds[:depth]):
                chain.append(int(pred[chain[-1]]))
            chain.reverse()  # the first case leaves its provider, each next takes its place
            providers = {int(at[x]) for x in chain} | ({to_end} if to_end != NO else set())
            if providers & taken:
                continue
            taken |= providers
            moves = [(x, int(at[y])) for x, y in zip(chain[:-1], chain[1:], strict=True)]
            moves.append((last, to_end if to_end != NO else int(at[chain[0]])))
            chains.append(moves)
        return chains, layers
