"""Goals one after another (`solve --priority`) and trade-off curves between two (`pareto`).

The objective is a sum of terms (`solver.model.TERMS`: cost, relation, continuity,
family, kind, unassigned). Both methods solve variants of the one model
(`AllocationModel.variant`): a sum of terms to minimise and upper limits on other sums.
Every value reported is re-evaluated from the allocation with the spec's formulas.

Lexicographic order: `order` names terms. Placing the cases comes first unless
`unassigned` is named (it is the spec's largest weight; without it, a cost goal would
leave cases out), then each named term, then the spec's whole objective. Each stage keeps
every earlier term within `tolerance` (a share, e.g. 0.05) of the value its own stage
reached; the implicit first stage gets no tolerance.

Trade-off curve between `first` and `second` by the epsilon-constraint method: criterion
A is `first` plus every term not named, criterion B is `second` (so A + B is the spec's
objective). Each point minimises A with B <= epsilon, then B with A at that minimum (so no
point is weakly dominated); epsilon steps from the end that is best for A to the end that
is best for B. A point is proven when both of its solves are; a point found without proof
that another point dominates is dropped.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np
from ortools.sat.python import cp_model

from solver.arrays import derive
from solver.conflicts import lock_conflicts
from solver.errors import InstanceError
from solver.heuristic import evaluate, greedy
from solver.instance import Instance
from solver.model import TERMS, build_model
from solver.result import Result, money
from solver.solve import SolveParams, fill_result

WHOLE = "objective"  # the last stage of an order: every term
SHARES = 10  # a point of a curve gets at least 1/SHARES of the time left


def check_terms(names: Sequence[str], option: str) -> list[str]:
    """The names as a list, refused (one line naming the option) unless distinct terms."""
    names = [n.strip() for n in names]
    for name in names:
        if name not in TERMS:
            raise InstanceError([f"{option}: '{name}' is not a term (one of {', '.join(TERMS)})"])
    if len(set(names)) != len(names):
        raise InstanceError([f"{option}: a term is named twice"])
    if not names:
        raise InstanceError([f"{option}: name at least one term"])
    return names


class _Runner:
    """The model of one instance and its solves, sharing one time limit."""

    def __init__(self, instance: Instance, params: SolveParams):
        self.params = params
        self.started = time.perf_counter()
        self.arrays = derive(instance)
        self.conflicts = lock_conflicts(self.arrays)
        self.am = build_model(self.arrays)
        self.assign = greedy(self.arrays)
        self.am.set_hint(self.assign)
        self.deadline = self.started + params.time_limit

    def values(self, assign: np.ndarray) -> dict[str, int]:
        return evaluate(self.arrays, assign)[1]

    def solve(
        self, minimise: Sequence[str], limits: list[tuple[Sequence[str], int]], share: float
    ) -> tuple[np.ndarray | None, bool]:
        """Minimise the named terms within the limits, from the current hint, with
        `share` of the time left; the allocation (None if none found) and whether it is
        proven optimal for this variant."""
        solver = cp_model.CpSolver()
        p = solver.parameters
        p.num_workers = self.params.workers
        p.random_seed = self.params.seed
        p.max_time_in_seconds = max(0.05, share * (self.deadline - time.perf_counter()))
        p.log_search_progress = self.params.log
        if self.params.workers > 1:
            p.interleave_search = True  # deterministic parallel search
        code = solver.solve(self.am.variant(minimise, limits))
        if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, code == cp_model.INFEASIBLE
        assign = self.am.assignment_of(np.array(solver.response_proto.solution, np.int64))
        self.am.set_hint(assign)
        return assign, code == cp_model.OPTIMAL

    def result(self, instance: Instance, assign: np.ndarray) -> Result:
        result = Result(instance=instance.name, status="feasible", params=_params(self.params))
        result.closing_cases = sum(1 for c in instance.cases if not c.active)
        fill_result(result, self.am, assign, None, None)
        result.solve_seconds = time.perf_counter() - self.started
        return result


def _params(params: SolveParams) -> dict:
    return {k: getattr(params, k) for k in ("time_limit", "workers", "seed")}


def solve_priority(
    instance: Instance, order: Sequence[str], tolerance: float = 0.0, params: SolveParams = None
) -> Result:
    """The allocation that is best for the goals in `order`, one after another.

    The result's status is `feasible` (it is not an optimum of the spec's weighted sum);
    `result.priority` gives each stage's value, the limit it set for the later stages and
    whether it is proven. `optimal` there means every stage was solved to optimality."""
    params = params or SolveParams()
    order = check_terms(order, "--priority")
    if not 0 <= tolerance or not math.isfinite(tolerance):
        raise InstanceError([f"--tolerance: must be a share >= 0, not {tolerance}"])
    run = _Runner(instance, params)
    if run.conflicts:
        return Result(instance.name, "infeasible", conflicts=run.conflicts, params=_params(params))
    stages = ([] if "unassigned" in order else [["unassigned"]]) + [[n] for n in order]
    stages.append(list(TERMS))
    limits: list[tuple[Sequence[str], int]] = []
    report, assign, proven_all = [], run.assign, True
    for n, names in enumerate(stages):
        found, proven = run.solve(names, limits, 1 / (len(stages) - n))
        if found is None:  # nothing in time: keep the previous stage's allocation
            proven_all = False
            break
        assign = found
        value = sum(run.values(assign)[t] for t in names)
        implicit = n == 0 and "unassigned" not in order
        slack = 0 if implicit else math.floor(abs(value) * tolerance)
        limits.append((names, value + slack))
        proven_all &= proven
        report.append(
            {
                "goal": WHOLE if len(names) > 1 else names[0],
                "value": money(run.arrays.money(value)),
                "limit": money(run.arrays.money(value + slack)),
                "proven": proven,
            }
        )
    result = run.result(instance, assign)
    result.priority = {
        "order": order,
        "tolerance": tolerance,
        "stages": report,
        "optimal": proven_all and len(report) == len(stages),
    }
    return result


@dataclass
class Point:
    """A point of the trade-off curve (DKK a year)."""

    first: Fraction  # criterion A: the first term and the terms not named
    second: Fraction  # criterion B: the second term
    objective: Fraction  # A + B: the spec's objective
    values: dict[str, Fraction]  # every term
    proven: bool
    result: Result = field(repr=False)


@dataclass
class Frontier:
    first: str
    second: str
    others: list[str]  # terms counted with the first
    points: list[Point]  # from best for the first criterion to best for the second
    dropped: int  # unproven points dominated by another point
    seconds: float
    conflicts: list[str] = field(default_factory=list)  # rules that clash: no allocation


def frontier(
    instance: Instance,
    first: str,
    second: str,
    max_points: int = 10,
    params: SolveParams | None = None,
) -> Frontier:
    """The efficient frontier between two terms (module docstring), at most `max_points`
    points, spread evenly in the second term when there are more."""
    params = params or SolveParams()
    first, second = check_terms([first, second], "--between")
    if max_points < 2:
        raise InstanceError(["--points: must be at least 2"])
    run = _Runner(instance, params)
    if run.conflicts:
        return Frontier(first, second, [], [], 0, 0.0, conflicts=run.conflicts)
    a_terms = [first] + [t for t in TERMS if t not in (first, second)]
    b_terms = [second]
    points: list[tuple[np.ndarray, bool]] = []

    def lexmin(one, other, limits, left: int) -> tuple[np.ndarray, bool] | None:
        """Minimise `one` within the limits, then `other` with `one` at its minimum, with
        a share of the time left for `left` more points (at most SHARES)."""
        left = min(left, SHARES)
        found, proven = run.solve(one, limits, 1 / (2 * left))
        if found is None:
            return None
        best = sum(run.values(found)[t] for t in one)
        again, proven_too = run.solve(other, [*limits, (one, best)], 1 / (2 * left - 1))
        return (again, proven and proven_too) if again is not None else (found, False)

    top = lexmin(a_terms, b_terms, [], max_points)
    if top is None:  # nothing found in time
        return _frontier(run, instance, first, second, a_terms, [])
    bottom = lexmin(b_terms, a_terms, [], max_points - 1) or top

    def b_of(assign: np.ndarray) -> int:
        return run.values(assign)[second]

    points.append(top)
    high, low = b_of(top[0]), b_of(bottom[0])
    # Epsilon on a grid from `high` down to `low`: the next grid value below the last point.
    step = max(1, math.ceil((high - low) / (max_points - 1)))
    while len(points) < max_points - 1:
        epsilon = high - ((high - b_of(points[-1][0])) // step + 1) * step
        if epsilon <= low:
            break
        run.am.set_hint(points[-1][0])
        found = lexmin(a_terms, b_terms, [(b_terms, epsilon)], max_points - len(points))
        if found is None:
            break
        points.append(found)
    if low < high:
        points.append(bottom)
    return _frontier(run, instance, first, second, a_terms, points)


def _frontier(run, instance, first, second, a_terms, found) -> Frontier:
    money_of = run.arrays.money
    points: list[Point] = []
    seen: set[tuple[int, int]] = set()
    for assign, proven in found:
        values = run.values(assign)
        a, b = sum(values[t] for t in a_terms), values[second]
        if (a, b) in seen:
            continue
        seen.add((a, b))
        points.append(
            Point(
                first=money_of(a),
                second=money_of(b),
                objective=money_of(a + b),
                values={t: money_of(values[t]) for t in TERMS},
                proven=proven,
                result=run.result(instance, assign),
            )
        )

    def dominated(p: Point) -> bool:
        return any(q.first <= p.first and q.second <= p.second and q is not p for q in points)

    kept = [p for p in points if p.proven or not dominated(p)]
    kept.sort(key=lambda p: (p.second, p.first), reverse=True)
    return Frontier(
        first=first,
        second=second,
        others=a_terms[1:],
        points=kept,
        dropped=len(points) - len(kept),
        seconds=time.perf_counter() - run.started,
    )
