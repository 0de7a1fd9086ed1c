"""The LP relaxation of the model: a proven lower bound and reduced costs.

The relaxation is the model's own rows (`AllocationModel.rows` and `implied`) with every
variable continuous within its bounds. It falls apart into independent parts (connected
components of rows and variables, linked by nonzeros, placement rows included); GLOP's
dual simplex solves each part up to `GLOP_VARIABLES` variables, smallest first, each with
all the time left but a `SUBGRADIENT_SHARE` (a part stopped early has worthless duals).
Parts left without an optimum get multipliers from a Lagrangian dual by subgradient steps
(Polyak steps towards the starting allocation's value): every row but the per-case
placement rows is priced by its multiplier and each case picks its cheapest pair or none.
At its best the Lagrangian dual equals the LP bound.

After `AllocationModel.place_all` every case with a pair is placed exactly once: the
placement rows are equalities, and the unassigned weight (-miss on every pair) is the
constant -miss per such case, so the relaxation's costs are c + miss on the pairs and its
constant is the model's less miss per case (the same objective for every such x; GLOP
then no longer sees the big weight).

The LP solver works in floating point, so its objective is not itself a proof. The bound
reported is the Lagrangian value of the LP's duals `y`, which is a valid lower bound for
any `y` (weak duality, computed with the model's exact data):

    for every x with var_lo <= x <= var_hi and row_lo <= A x <= row_hi:
    c.x = y.(A x) + d.x  with d = c - A'y   (y = 0 on the placement rows)
        >= sum_r (y_r row_lo_r if y_r > 0 else y_r row_hi_r)
         + sum_cases min(0, min of d over the case's pairs)   (min of d if it is placed)
         + sum_other k (d_k var_lo_k if d_k > 0 else d_k var_hi_k)  =: L(y)

since each case takes at most one pair (exactly one when locked or after `place_all`).
A row side that is infinite takes no dual weight. Any `y` gives a bound, so the duals of
the parts are simply put side by side (the parts' terms of L are separate sums), and a
part without duals keeps the subgradient's. The sum is taken in float64 and lowered by a
margin that covers its rounding error, then rounded up to whole money units (every
objective value is a whole number of units).

Reduced-cost fixing: any x with x_k = 1 has c.x >= L(y) + r_k, with r_k = d_k less its
case's term. So a pair with L(y) + r_k > U can be fixed to 0 without losing any
allocation worth U or less, e.g. the starting allocation. Optimality proven for the fixed
model is optimality for the full one.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, replace

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder_helper as mbh
from scipy.sparse.csgraph import connected_components

from solver.arrays import NO
from solver.model import INF, NEG_INF, AllocationModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Relaxation:
    bound: int  # proven lower bound on the objective, money units (constant included)
    lagrangian: float  # L(y) less its rounding margin, constant included (bound = ceil)
    reduced_costs: np.ndarray  # d_k per pair variable, money units
    # per case with pairs, in case order: its term of L(y), the cheapest d of its pairs
    # (or 0 when it may stay unassigned and none is negative): the multiplier of its
    # placement row that these duals imply (`solver.lagrange` starts from it)
    case_terms: np.ndarray
    values: np.ndarray  # the LP's x per pair variable
    engine: str
    seconds: float

    def fixable(self, upper: int) -> np.ndarray:
        """Pairs that no allocation worth `upper` or less uses (safe to fix to 0)."""
        margin = rounding_margin(abs(self.lagrangian) + np.abs(self.reduced_costs))
        return self.lagrangian + self.reduced_costs - margin > upper


def rounding_margin(size: float) -> float:
    """Rounding error allowance of a float64 sum whose terms' magnitudes sum to `size`
    (each term carries a relative error near 1e-16; this allows 10 000 times that)."""
    return 1e-12 * abs(size) + 1e-6


# Parts of the LP with more variables get subgradient steps instead of GLOP (a part of
# 255 000 variables takes GLOP about 9 s).
GLOP_VARIABLES = 400_000


@dataclass(frozen=True)
class _Rows:
    """The dualised rows (all but the placement rows) and the variables' data."""

    matrix: sp.csr_matrix
    lo: np.ndarray
    hi: np.ndarray
    var_lo: np.ndarray
    var_hi: np.ndarray
    cost: np.ndarray
    constant: int  # objective constant that goes with `cost`
    case_first: np.ndarray  # first pair of each case with pairs
    case_placed: np.ndarray  # per case with pairs: placed exactly once (else at most once)
    n_pairs: int


def _rows(am: AllocationModel) -> _Rows:
    """The rows as a CSR matrix with lower and upper sides (inf for none)."""
    n = len(am.model.proto.variables)
    placement = set(am.placement)
    kept = [row for r, row in enumerate(am.rows) if r not in placement]
    parts_r, parts_v, parts_c, lo, hi = [], [], [], [], []
    for r, row in enumerate(kept):
        parts_r.append(np.full(len(row.vars), r))
        parts_v.append(row.vars)
        parts_c.append(row.coeffs)
        lo.append(-math.inf if row.lo == NEG_INF else row.lo)
        hi.append(math.inf if row.hi == INF else row.hi)
    r = len(kept)
    for pairs, target in am.implied:  # target - x_k >= 0
        rows = np.arange(r, r + len(pairs))
        parts_r += [rows, rows]
        parts_v += [pairs, np.full(len(pairs), target)]
        parts_c += [np.full(len(pairs), -1), np.ones(len(pairs))]
        lo += [0.0] * len(pairs)
        hi += [math.inf] * len(pairs)
        r += len(pairs)
    matrix = sp.csr_matrix(
        (
            np.concatenate([np.zeros(0), *parts_c]).astype(float),
            (
                np.concatenate([np.zeros(0, int), *parts_r]),
                np.concatenate([np.zeros(0, int), *parts_v]),
            ),
        ),
        shape=(r, n),
    )
    a = am.arrays
    var_lo, var_hi = (b.astype(float) for b in am.bounds())
    cost = np.zeros(n)
    cost[am.objective_vars] = am.objective_coeffs
    first = np.flatnonzero(np.r_[True, a.pair_case[1:] != a.pair_case[:-1]]) if am.n_pairs else []
    first = np.asarray(first, int)
    placed = a.case_lock[a.pair_case[first]] != NO if len(first) else np.zeros(0, bool)
    constant = am.constant
    if am.placed_all:  # every case placed once: its -miss per pair is a constant
        placed[:] = True
        miss = int(a.weight["unassigned"])
        cost[: am.n_pairs] += miss
        constant -= miss * len(first)
    lo_arr, hi_arr = np.array(lo, float), np.array(hi, float)
    return _Rows(matrix, lo_arr, hi_arr, var_lo, var_hi, cost, constant, first, placed, am.n_pairs)


def _lagrangian(
    rows: _Rows, y: np.ndarray, exact: bool = True
) -> tuple[float, float, np.ndarray, np.ndarray, np.ndarray]:
    """L(y) (no constant, less no margin yet), the size of its terms, d, the
    subproblem's solution (pair booleans and the other variables at their bounds), and
    each case's term.
    `exact=False` (inside the subgradient loop) sums with plain float64."""
    y = y.copy()
    y[(y > 0) & np.isinf(rows.lo)] = 0.0  # a dual on an infinite side is worthless
    y[(y < 0) & np.isinf(rows.hi)] = 0.0
    d = rows.cost - rows.matrix.T @ y
    side = np.where(y > 0, y * np.nan_to_num(rows.lo, posinf=0, neginf=0), 0.0) + np.where(
        y < 0, y * np.nan_to_num(rows.hi, posinf=0, neginf=0), 0.0
    )
    n = rows.n_pairs
    x = np.where(d > 0, rows.var_lo, rows.var_hi)
    others = np.where(d[n:] > 0, d[n:] * rows.var_lo[n:], d[n:] * rows.var_hi[n:])
    cases = np.zeros(0)
    if n:
        dx = d[:n]
        best = np.minimum.reduceat(dx, rows.case_first)
        taken = rows.case_placed | (best < 0)
        cases = np.where(taken, best, 0.0)
        # The subproblem's pairs: each case's cheapest, if placed or negative.
        counts = np.diff(np.r_[rows.case_first, n])
        at_best = (dx == np.repeat(best, counts)) & np.repeat(taken, counts)
        group = np.repeat(np.arange(len(counts)), counts)
        chosen = np.zeros(n)
        hits = np.flatnonzero(at_best)
        first_hit = hits[np.r_[True, group[hits][1:] != group[hits][:-1]]] if len(hits) else hits
        chosen[first_hit] = 1.0
        x[:n] = chosen
        # Reduced cost of a pair: what placing the case there adds to L(y).
        d = d.copy()
        d[:n] = dx - np.repeat(cases, counts)
    terms = [side, cases, others]
    if not exact:
        return float(sum(t.sum() for t in terms)), 0.0, d, x, cases
    value = sum(math.fsum(t.tolist()) for t in terms)
    size = sum(math.fsum(np.abs(t).tolist()) for t in terms)
    return value, size, d, x, cases


def relax(am: AllocationModel, time_limit: float, upper: int | None = None) -> Relaxation | None:
    """A proven bound from the LP relaxation; None when none is found in time.

    `upper` (money units, constant included), a known allocation's value, steers the
    subgradient steps on the parts GLOP does not solve.
    """
    started = time.perf_counter()
    deadline = started + time_limit
    rows = _rows(am)
    y, values = _glop(rows, started + (1 - SUBGRADIENT_SHARE) * time_limit)
    free = np.isnan(y)  # rows of the parts GLOP did not solve
    y[free] = 0.0
    if free.any() and upper is not None:
        y = _subgradient(rows, upper - rows.constant, deadline, y, free)
    value, size, d, x, cases = _lagrangian(rows, y)
    value -= rounding_margin(size)
    if not math.isfinite(value):
        return None
    n = am.n_pairs
    solved = ~np.isnan(values)
    engine = "glop+lagrangian" if free.any() else "glop"
    engine = engine if solved.any() else "lagrangian"
    return Relaxation(
        bound=math.ceil(value) + rows.constant,
        lagrangian=value + rows.constant,
        reduced_costs=d[:n],
        case_terms=cases,
        values=np.where(solved, values, x)[:n],
        engine=engine,
        seconds=time.perf_counter() - started,
    )


# Share of the time kept from GLOP for subgradient steps on the parts it leaves.
SUBGRADIENT_SHARE = 0.2

# GLOP's dual simplex with perturbed costs: 3 to 10 times faster than the default
# primal simplex on these models.
GLOP_PARAMETERS = "use_dual_simplex: true perturb_costs_in_dual_simplex: true"


def _glop(rows: _Rows, deadline: float) -> tuple[np.ndarray, np.ndarray]:
    """GLOP on each independent part of the LP (placement rows included), smallest first:
    the duals of the other rows and the LP's x, NaN where no optimum was found in time.

    The parts share no row and no variable, so together their optima are the LP's."""
    matrix, lo, hi = _with_placement(rows)
    y, x = np.full(len(lo), np.nan), np.full(matrix.shape[1], np.nan)
    row_part, var_part = _components(matrix)
    log.debug("%d parts", row_part.max(initial=-1) + 1)
    var_order = np.argsort(var_part, kind="stable")
    row_order = np.argsort(row_part, kind="stable")
    parts = max(row_part.max(initial=-1), var_part.max(initial=-1)) + 1
    var_at = np.searchsorted(var_part[var_order], np.arange(parts + 1))
    row_at = np.searchsorted(row_part[row_order], np.arange(parts + 1))
    sizes = np.diff(var_at)
    todo = [p for p in np.argsort(sizes, kind="stable") if 0 < sizes[p] <= GLOP_VARIABLES]
    for p in todo:
        vs, rs = var_order[var_at[p] : var_at[p + 1]], row_order[row_at[p] : row_at[p + 1]]
        remaining = deadline - time.perf_counter()
        if remaining <= 0:
            break
        builder = mbh.ModelBuilderHelper()
        sub = matrix[rs][:, vs]
        builder.fill_model_from_sparse_data(
            rows.var_lo[vs], rows.var_hi[vs], rows.cost[vs], lo[rs], hi[rs], sub
        )
        solver = mbh.ModelSolverHelper("glop")
        solver.set_solver_specific_parameters(GLOP_PARAMETERS)
        solver.set_time_limit_in_seconds(remaining)
        solver.solve(builder)
        log.debug("GLOP: part of %d variables, %s", sizes[p], solver.status())
        if solver.status() == mbh.SolveStatus.OPTIMAL:  # else its duals are worthless
            y[rs] = np.nan_to_num(np.asarray(solver.dual_values(), float))
            x[vs] = np.asarray(solver.variable_values(), float)
    y[sizes[row_part] == 0] = 0.0  # rows without variables: nothing to price
    return y[: rows.matrix.shape[0]], x


def _components(matrix: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray]:
    """The part of each row and of each variable: connected through nonzeros."""
    link = (matrix != 0).astype(np.int8)
    graph = sp.bmat([[None, link], [link.T, None]], format="csr")
    _, labels = connected_components(graph, directed=False)
    return labels[: matrix.shape[0]], labels[matrix.shape[0] :]


def model_rows(am: AllocationModel) -> _Rows:
    """Every row of the model, placement rows last, with the variables' data: the model
    itself when every variable is an integer (`solver.mip`)."""
    rows = _rows(am)
    matrix, lo, hi = _with_placement(rows)
    return replace(rows, matrix=matrix, lo=lo, hi=hi)


def _with_placement(rows: _Rows) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """The rows' matrix and sides with the placement rows below them."""
    placement = _placement_matrix(rows)
    matrix = sp.vstack([rows.matrix, placement]).tocsr()
    lo = np.r_[rows.lo, np.where(rows.case_placed, 1.0, -np.inf)]
    hi = np.r_[rows.hi, np.ones(placement.shape[0])]
    return matrix, lo, hi


def _placement_matrix(rows: _Rows) -> sp.csr_matrix:
    n, m = rows.n_pairs, rows.matrix.shape[1]
    counts = np.diff(np.r_[rows.case_first, n]).astype(int)
    group = np.repeat(np.arange(len(counts)), counts)
    return sp.csr_matrix((np.ones(n), (group, np.arange(n))), shape=(len(counts), m))


def _subgradient(
    rows: _Rows,
    upper: float,
    deadline: float,
    y: np.ndarray,
    free: np.ndarray,
    iterations: int = 3000,
) -> np.ndarray:
    """Best multipliers found by projected subgradient steps (Polyak, target `upper`)
    from `y`, moving only the `free` rows."""
    # Rows scaled to a largest coefficient of 1: comparable subgradients.
    scale = 1.0 / np.maximum(abs(rows.matrix).max(axis=1).toarray().ravel(), 1e-12)
    scaled = replace(
        rows, matrix=sp.diags(scale) @ rows.matrix, lo=rows.lo * scale, hi=rows.hi * scale
    )
    u = np.maximum(y, 0.0) / scale  # multiplier of  A x >= lo
    v = np.maximum(-y, 0.0) / scale  # multiplier of  A x <= hi
    best_y, best = u - v, -math.inf
    theta, stall = 2.0, 0
    for _ in range(iterations):
        if time.perf_counter() > deadline:
            break
        value, _, _, x, _ = _lagrangian(scaled, u - v, exact=False)
        if value > best + 1e-9 * abs(best) if math.isfinite(best) else True:
            best, best_y, stall = value, u - v, 0
        else:
            stall += 1
            if stall >= 20:
                theta, stall = theta / 2, 0
                if theta < 1e-4:
                    break
        activity = scaled.matrix @ x
        g_lo = np.where(np.isinf(scaled.lo) | ~free, 0.0, scaled.lo - activity)
        g_hi = np.where(np.isinf(scaled.hi) | ~free, 0.0, activity - scaled.hi)
        g_lo[(u <= 0) & (g_lo < 0)] = 0.0  # projected: no step out of u >= 0
        g_hi[(v <= 0) & (g_hi < 0)] = 0.0
        norm = float(g_lo @ g_lo + g_hi @ g_hi)
        if norm == 0:  # the subproblem's solution is feasible: L = its value
            break
        step = theta * max(upper - value, 1e-6 * abs(upper) + 1) / norm
        u = np.maximum(0.0, u + step * g_lo)
        v = np.maximum(0.0, v + step * g_hi)
    return best_y * scale
