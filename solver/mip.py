"""HiGHS beside the search: a MIP solver on the model's own rows, from the search's start.

On models of 400 cases or more and up to 100 000 pairs (`solver.solve.beside`), HiGHS
takes the second core in place of CP-SAT's prover: at that size CP-SAT does not prove
optimality in a minute, and HiGHS's heuristics (RINS, RENS, feasibility pump on its LP)
find allocations that the neighbourhood search misses (docs/model.md, "HiGHS beside the
search"). The model is exact: every constraint of the CP-SAT model is a linear row
(`solver.lp.model_rows`), every variable an integer within its bounds, and the objective
the same. HiGHS starts from the search's start (a solution hint) and runs until its
deadline (`solver.solve.MIP_SHARE` of the time) or `stop()`.

Its allocation is only a candidate: `solver.heuristic.greedy` keeps its placements that
satisfy every rule (HiGHS works in floating point) and the spec's objective (`evaluate`)
values it; `solver.solve` continues the search from it when it beats the search's.
HiGHS's own bound is not reported: it is a floating-point figure, not a proof (the LP's
bound is, see `solver.lp`). HiGHS stops on the wall clock, and the search goes on from its
allocation when better, so runs with HiGHS are not reproducible, as with CP-SAT's own
search on the wall clock.

HiGHS runs through math_opt, not pywraplp (which drops HiGHS's incumbent at the time
limit, google/or-tools#5016), from a model proto filled from numpy arrays in bulk.
"""

from __future__ import annotations

import datetime
import logging
import threading
import time
from collections.abc import Callable

import numpy as np
from ortools.math_opt import (
    callback_pb2,
    model_parameters_pb2,
    model_pb2,
    parameters_pb2,
    result_pb2,
    solution_pb2,
)
from ortools.math_opt.core.python import solver as mathopt_solver
from ortools.math_opt.python import init_arguments
from ortools.sat.python import cp_model
from ortools.util.python import solve_interrupter

from solver.arrays import NO
from solver.heuristic import evaluate, greedy
from solver.lp import model_rows
from solver.model import AllocationModel

log = logging.getLogger(__name__)

READ_SECONDS = 0.5  # of the time left, kept for reading the model and the answer


class Mip:
    """HiGHS in a thread of its own; the same calls as `solver.solve._Prover`, whose place
    it takes. `solution` holds every variable's value of its allocation (after `join`)."""

    def __init__(
        self,
        am: AllocationModel,
        start: np.ndarray,
        seed: int,
        deadline: float,
        report: Callable[[int], None],
    ):
        self.am, self.start_assign = am, start
        self.seed, self.deadline, self.report = seed, deadline, report
        self.interrupter = solve_interrupter.SolveInterrupter()
        self.cancelled = False
        self.thread: threading.Thread | None = None
        self.started = False
        self.code = cp_model.UNKNOWN
        self.solution: np.ndarray | None = None
        self.units: int | None = None  # its allocation's objective, money units

    def start(self, workers: int = 1) -> None:
        """HiGHS in a thread (one thread: math_opt cannot set HiGHS's thread count). The
        model is read here, in the caller's thread (its rows and the variables' bounds as
        built: neither the search's domains nor the reduced-cost fixing)."""
        model = _model(self.am, self.start_assign)
        self.thread = threading.Thread(target=self._solve, args=model, daemon=True)
        self.started = True
        self.thread.start()

    def bound(self) -> int | None:
        return None  # HiGHS's bound is not a proof

    def stop(self) -> None:
        """The answer is no longer wanted (the search proved optimality): `join` returns at
        once and the thread reports nothing more. HiGHS itself may run on to its time limit
        in the background (OR-Tools 9.15 passes math_opt's interrupter to HiGHS but HiGHS
        does not check it)."""
        self.cancelled = True
        self.interrupter.interrupt()

    def join(self) -> None:
        if self.thread is not None and not self.cancelled:
            self.thread.join()

    def _solve(
        self,
        proto: model_pb2.ModelProto,
        hint: model_parameters_pb2.ModelSolveParametersProto,
    ) -> None:
        try:  # a failure (HiGHS, or reading its answer) only loses the candidate
            # HiGHS's clock starts after it has read the model; reading its answer back
            # (greedy, evaluate) takes a moment too.
            seconds = max(0.05, self.deadline - time.perf_counter() - READ_SECONDS)
            params = parameters_pb2.SolveParametersProto(
                random_seed=self.seed, relative_gap_tolerance=0.0, absolute_gap_tolerance=0.5
            )
            params.time_limit.FromTimedelta(datetime.timedelta(seconds=seconds))
            response = mathopt_solver.solve(
                proto,
                parameters_pb2.SOLVER_TYPE_HIGHS,
                init_arguments.StreamableSolverInitArguments().to_proto(),
                params,
                hint,
                None,
                callback_pb2.CallbackRegistrationProto(),
                None,
                self.interrupter.pybind_interrupter,
            )
            self._read(response)
        except Exception as error:
            log.warning("HiGHS failed: %s", error)

    def _read(self, response: result_pb2.SolveResultProto) -> None:
        a = self.am.arrays
        for solution in response.solutions:
            primal = solution.primal_solution
            if primal.feasibility_status != solution_pb2.SOLUTION_STATUS_FEASIBLE:
                continue
            ids = np.array(primal.variable_values.ids, int)
            values = np.array(primal.variable_values.values)
            on = ids[(ids < self.am.n_pairs) & (values > 0.5)]  # the pairs come first
            assign = np.full(a.n_cases, NO, int)
            assign[a.pair_case[on]] = a.pair_provider[on]
            assign = greedy(a, assign)
            units = sum(evaluate(a, assign)[1].values())
            if self.cancelled:
                return
            if self.units is None or units < self.units:
                self.units = units
                self.solution = self.am.solution_of(assign)
                self.code = cp_model.FEASIBLE
        log.info("HiGHS: %s money units", self.units)
        if self.units is not None and not self.cancelled:
            self.report(self.units)


def _model(
    am: AllocationModel, start: np.ndarray
) -> tuple[model_pb2.ModelProto, model_parameters_pb2.ModelSolveParametersProto]:
    """The model as a math_opt MIP (every variable an integer) and `start` as its hint."""
    rows = model_rows(am)
    csr = rows.matrix.tocsr()
    csr.sum_duplicates()  # canonical: row-major, columns sorted, no duplicates
    csr.eliminate_zeros()
    coo = csr.tocoo()
    m, n = csr.shape
    proto = model_pb2.ModelProto()
    v = proto.variables
    v.ids.extend(range(n))
    v.lower_bounds.extend(rows.var_lo.tolist())
    v.upper_bounds.extend(rows.var_hi.tolist())
    v.integers.extend([True] * n)
    costs = np.flatnonzero(rows.cost)
    proto.objective.offset = float(rows.constant)
    proto.objective.linear_coefficients.ids.extend(costs.tolist())
    proto.objective.linear_coefficients.values.extend(rows.cost[costs].tolist())
    c = proto.linear_constraints
    c.ids.extend(range(m))
    c.lower_bounds.extend(rows.lo.tolist())
    c.upper_bounds.extend(rows.hi.tolist())
    matrix = proto.linear_constraint_matrix
    matrix.row_ids.extend(coo.row.tolist())
    matrix.column_ids.extend(coo.col.tolist())
    matrix.coefficients.extend(coo.data.tolist())
    hint = model_parameters_pb2.ModelSolveParametersProto()
    values = hint.solution_hints.add().variable_values
    values.ids.extend(range(n))
    values.values.extend(am.solution_of(start).astype(float).tolist())
    return proto, hint
