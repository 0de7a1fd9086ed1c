"""The LP relaxation of the model: a proven lower bound and reduced costs.

The relaxation is the model's own rows (`AllocationModel.rows` and `implied`) with every
variable continuous within its bounds, solved by GLOP (dual simplex) or PDLP (first-order,
for very large models), both bundled with OR-Tools.

The LP solver works in floating point, so its objective is not itself a proof. The bound
reported is the Lagrangian value of the LP's duals `y`, which is a valid lower bound for
any `y` (weak duality, computed with the model's exact data):

    for every x with var_lo <= x <= var_hi and row_lo <= A x <= row_hi:
    c.x = y.(A x) + d.x  with d = c - A'y
        >= sum_r (y_r row_lo_r if y_r > 0 else y_r row_hi_r)
         + sum_k (d_k var_lo_k if d_k > 0 else d_k var_hi_k)  =: L(y)

A row side that is infinite takes no dual weight. The sum is taken in float64 and lowered
by a margin that covers its rounding error, then rounded up to whole money units (every
objective value is a whole number of units).

Reduced-cost fixing: any x with x_k = 1 has c.x >= L(y) + d_k (for d_k > 0, var_lo_k = 0),
so a pair with L(y) + d_k > U can be fixed to 0 without losing any allocation worth U or
less, e.g. the starting allocation. Optimality proven for the fixed model is optimality
for the full one.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from ortools.linear_solver.python import model_builder_helper as mbh

from solver.model import INF, NEG_INF, AllocationModel


@dataclass(frozen=True)
class Relaxation:
    bound: int  # proven lower bound on the objective, money units (constant included)
    lagrangian: float  # L(y) less its rounding margin, constant included (bound = ceil)
    lp_value: float  # the LP solver's own objective (not a proof)
    reduced_costs: np.ndarray  # d_k per pair variable, money units
    values: np.ndarray  # the LP's x per pair variable
    engine: str
    seconds: float

    def fixable(self, upper: int) -> np.ndarray:
        """Pairs that no allocation worth `upper` or less uses (safe to fix to 0)."""
        margin = _margin(abs(self.lagrangian) + np.abs(self.reduced_costs))
        return self.lagrangian + self.reduced_costs - margin > upper


def _margin(size: float) -> float:
    """Rounding error allowance of a float64 sum whose terms' magnitudes sum to `size`
    (each term carries a relative error near 1e-16; this allows 10 000 times that)."""
    return 1e-12 * abs(size) + 1e-6


def _matrix(am: AllocationModel):
    """The rows as a CSR matrix with lower and upper sides (inf for none)."""
    n = len(am.model.proto.variables)
    parts_r, parts_v, parts_c, lo, hi = [], [], [], [], []
    for r, row in enumerate(am.rows):
        parts_r.append(np.full(len(row.vars), r))
        parts_v.append(row.vars)
        parts_c.append(row.coeffs)
        lo.append(-math.inf if row.lo == NEG_INF else row.lo)
        hi.append(math.inf if row.hi == INF else row.hi)
    r = len(am.rows)
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
    return matrix, np.array(lo, float), np.array(hi, float)


def relax(am: AllocationModel, time_limit: float, engine: str = "glop") -> Relaxation | None:
    """Solve the LP relaxation; None when the LP solver gives no usable duals in time."""
    started = time.perf_counter()
    matrix, row_lo, row_hi = _matrix(am)
    var_lo, var_hi = (b.astype(float) for b in am.bounds())
    cost = np.zeros(matrix.shape[1])
    cost[am.objective_vars] = am.objective_coeffs
    builder = mbh.ModelBuilderHelper()
    builder.fill_model_from_sparse_data(var_lo, var_hi, cost, row_lo, row_hi, matrix)
    solver = mbh.ModelSolverHelper(engine)
    solver.set_time_limit_in_seconds(max(0.1, time_limit))
    solver.solve(builder)
    if not solver.has_response() or len(solver.dual_values()) != matrix.shape[0]:
        return None
    y = np.nan_to_num(np.asarray(solver.dual_values(), float))
    # A dual on an infinite side is worthless: drop it (the bound stays valid).
    y[(y > 0) & np.isinf(row_lo)] = 0.0
    y[(y < 0) & np.isinf(row_hi)] = 0.0
    d = cost - matrix.T @ y
    rows = np.where(y > 0, y * np.where(np.isinf(row_lo), 0, row_lo), 0.0) + np.where(
        y < 0, y * np.where(np.isinf(row_hi), 0, row_hi), 0.0
    )
    cols = np.where(d > 0, d * var_lo, d * var_hi)
    value = math.fsum(rows.tolist()) + math.fsum(cols.tolist())
    scale = math.fsum(np.abs(rows).tolist()) + math.fsum(np.abs(cols).tolist())
    value -= _margin(scale)
    if not math.isfinite(value):
        return None
    n = am.n_pairs
    return Relaxation(
        bound=math.ceil(value) + am.constant,
        lagrangian=value + am.constant,
        lp_value=float(solver.objective_value()) + am.constant,
        reduced_costs=d[:n],
        values=np.asarray(solver.variable_values(), float)[:n],
        engine=engine,
        seconds=time.perf_counter() - started,
    )
