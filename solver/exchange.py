"""Multi-exchange moves: chains and cycles of case moves, found on the improvement graph.

A **cyclic exchange** moves case j1 to the provider of j2, j2 to the provider of j3, ...,
and jk to the provider of j1, each provider at most once; a **path exchange** ends instead
by moving jk to a provider with room left, and j1's provider only loses j1. Each provider
gains at most one case and loses at most one, so whether it fits and what the move costs
are known arc by arc: the improvement graph has an arc i -> j when case i fits at j's
provider once j has left (Thompson and Orlin's cyclic transfers; Ahuja, Orlin and Sharma's
very large-scale neighbourhood search; for the GAP, Yagiura, Ibaraki and Glover's ejection
chains).

`_Graph.best` looks for the cheapest exchange by a label-correcting recursion over the
number of cases moved, from every case at once, with one label per case (the cheapest chain
found that ends there, and the providers it has used), so it may miss some: on dense numpy
arrays, each further case in the chain costs a few passes over a cases x cases array. Moves
are priced with each pair's own cost (`AllocationModel.core_costs`, exact where the
objective is a sum over pairs, as on GAP instances) and checked with each pair's hours; an
exchange is then made on a `Tracker` and kept only when every rule holds (capacities,
`max_cases`, budgets) and the spec's objective, exactly, goes down.

`Exchanges.search` is an iterated local search: exchanges while they improve, then a few
random moves that fit (a kick) and exchanges again, the result kept when it is no worse,
until IDLE_KICKS kicks in a row bring nothing better or its work is spent.
Its work is counted in cells of the graph's arrays, not in seconds, so for a seed it is the
same on every run unless the wall clock stops it first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from solver.arrays import NO
from solver.heuristic import Tracker
from solver.model import AllocationModel

MAX_NODES = 1600  # cases in one improvement graph (its arrays are cases x cases)
MAX_LENGTH = 12  # cases moved by one exchange at most
KICK = 5  # random moves before each descent of the iterated local search
IDLE_KICKS = 200  # the search ends after this many kicks in a row without a gain
# Deterministic seconds per cell of a cases x cases array and layer, and the cells that
# stand for the fixed cost of a layer (about 0.5 ms)
CELL_WORK, LAYER_CELLS = 0.9e-8, 50_000
BIG = 2**61  # no arc (a sum of two stays within int64)


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
        """Iterated local search from `assign` (worth `units`) until `work` deterministic
        seconds are spent, the wall clock reaches `deadline` or `stop(value)` is true. Cases
        move only at and to providers marked in `allowed` (default all). Returns the
        allocation reached, never worse than `assign`."""
        walk = _Walk(self, Tracker.of(self.a, assign), units, allowed)
        walk.descend(walk.nodes(rng), work, deadline)
        idle = 0
        while walk.spent < work and time.perf_counter() < deadline and idle < IDLE_KICKS:
            if stop(walk.units):
                break
            before, walk.log = walk.units, []
            nodes = walk.nodes(rng)
            if len(nodes) < 2:
                break
            walk.kick(nodes, rng)
            walk.descend(nodes, work, deadline)
            if walk.units > before:
                walk.undo()
            idle = 0 if walk.units < before else idle + 1
            walk.log = None
        return Found(walk.st.assign.copy(), walk.units, walk.spent, walk.kept)


class _Walk:
    """The allocation being improved (a tracker), its value and the work spent."""

    def __init__(self, ex: Exchanges, st: Tracker, units: int, allowed: np.ndarray | None):
        self.ex, self.st, self.a = ex, st, ex.a
        self.allowed = np.ones(self.a.n_providers, bool) if allowed is None else allowed
        self.units, self.spent, self.kept = units, 0.0, 0
        self.log: list[tuple[int, int]] | None = None  # (case, its pair before) per move

    def move(self, j: int, k: int) -> int:
        """Case `j` to pair `k` (or NO), logged; the exact objective change."""
        if self.log is not None:
            self.log.append((j, int(self.st.pair_of[j])))
        change = self.st.move(j, k)
        self.units += change
        return change

    def undo(self) -> None:
        for j, k in reversed(self.log or []):
            self.units += self.st.move(j, k)
        self.log = []

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
            chain, layers = graph.best(frozen)
            self.spent += CELL_WORK * (len(cases) ** 2 + LAYER_CELLS) * layers
            if chain is None:
                return
            moved = [(int(cases[n]), int(self.st.pair_of[cases[n]]), int(graph.pair[n, i]))
                     for n, i in chain]  # fmt: skip
            change = sum(self.move(j, NO) for j, _, _ in moved)
            change += sum(self.move(j, k) for j, _, k in moved)
            touched = np.array([i for _, i in chain] + [int(graph.at[n]) for n, _ in chain])
            if change < 0 and self._holds(touched):
                self.kept += 1
                graph = None
                continue
            for j, _, _ in moved:
                self.move(j, NO)
            for j, before, _ in moved:
                self.move(j, before)
            frozen[[n for n, _ in chain]] = True

    def _holds(self, providers: np.ndarray) -> bool:
        """Whether these providers keep their hours and max_cases, and every budget holds."""
        st, a = self.st, self.a
        return bool(
            (st.load[providers] <= a.capacity[providers]).all()
            and (st.count[providers] <= st.case_cap[providers]).all()
            and (st.slack >= 0).all()
        )

    def kick(self, cases: np.ndarray, rng: np.random.Generator) -> None:
        """KICK cases of `cases` drawn at random, each moved to another usable pair at an
        allowed provider where it fits, drawn at random (cases with none stay)."""
        st, a, ex = self.st, self.a, self.ex
        for j in rng.choice(cases, min(KICK, len(cases)), replace=False).tolist():
            ks = np.arange(st.first[j], st.first[j + 1])
            ks = ks[ex.usable[ks] & self.allowed[a.pair_provider[ks]] & (ks != st.pair_of[j])]
            fit = [k for k in ks.tolist() if st.fits(k)]
            if fit:
                self.move(j, int(rng.choice(fit)))


class _Graph:
    """The improvement graph of `cases` under the walk's allocation, as dense arrays over
    the cases and all providers."""

    def __init__(self, walk: _Walk, cases: np.ndarray):
        st, a, ex = walk.st, walk.a, walk.ex
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
        self.cost = np.full((n, P), BIG, np.int64)
        self.cost[rows, cols] = ex.cost[ks]
        self.hours = np.zeros((n, P), np.int64)
        self.hours[rows, cols] = a.pair_load[ks]
        here = st.pair_of[cases]
        self.at = st.assign[cases]  # provider of each case
        self.now = ex.cost[here]
        self.room = a.capacity - st.load  # hours left per provider
        self.places = st.case_cap - st.count  # cases left per provider
        self.here_hours = a.pair_load[here]

    def best(self, frozen: np.ndarray) -> tuple[list[tuple[int, int]] | None, int]:
        """The cheapest improving exchange found among the cases not `frozen`, as (case's
        row, its new provider) in the order of the chain, or None; and the layers of the
        recursion run (the work)."""
        n = len(self.at)
        rows = np.arange(n)
        at, cost = self.at, self.cost
        # arc i -> j: case i goes to j's provider, which j leaves
        to = cost[:, at]  # [i, j]: i's cost at j's provider
        fits = self.hours[:, at] <= (self.room[at] + self.here_hours)[None, :]
        elsewhere = at[:, None] != at[None, :]
        arc = np.where(fits & (to < BIG) & elsewhere, to - self.now[:, None], BIG)
        # the chain's last case goes to a provider with room (a path exchange)
        end = (self.hours <= self.room[None, :]) & (self.places > 0)[None, :] & (cost < BIG)
        end[rows, at] = False
        shift = np.where(end, cost - self.now[:, None], BIG)
        if frozen.any():
            arc[frozen, :] = BIG
            arc[:, frozen] = BIG
            shift[frozen, :] = BIG
        # labels: chains ending at each case (the case still to be placed)
        label = np.where(frozen, BIG, 0)
        origin = rows.copy()
        used = np.zeros((n, len(self.room)), bool)
        used[rows, at] = True
        preds: list[np.ndarray] = []
        best, found = 0, None
        layers = 0
        for length in range(MAX_LENGTH):
            layers += 1
            closing = np.where(used, BIG, shift)
            to_end = closing.argmin(axis=1)
            value = label + closing[rows, to_end]
            i = int(value.argmin())
            if value[i] < best:
                best, found = int(value[i]), (i, int(to_end[i]), len(preds))
            if length:
                value = label + arc[rows, origin]
                i = int(value.argmin())
                if value[i] < best:
                    best, found = int(value[i]), (i, NO, len(preds))
            if length == MAX_LENGTH - 1:
                break
            extended = label[:, None] + np.where(used[:, at], BIG, arc)
            pred = extended.argmin(axis=0)
            label = extended[pred, rows]
            reached = label < BIG // 2  # unreached: BIG plus a (negative) arc
            if not reached.any():
                break
            label = np.where(reached, label, BIG)
            used = used[pred]
            used[rows[reached], at[reached]] = True
            origin = origin[pred]
            preds.append(pred)
        if found is None:
            return None, layers
        last, to_end, depth = found
        chain = [last]
        for pred in reversed(preds[:depth]):
            chain.append(int(pred[chain[-1]]))
        chain.reverse()  # the first case leaves its provider, each next takes its place
        moves = [(x, int(at[y])) for x, y in zip(chain[:-1], chain[1:], strict=True)]
        moves.append((last, to_end if to_end != NO else int(at[chain[0]])))
        return moves, layers
