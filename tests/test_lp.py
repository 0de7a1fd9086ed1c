"""The LP bound and reduced-cost fixing against exhaustive search; the hint is complete.

The bound must never exceed the true optimum (brute force over the independent checker),
and every pair it marks fixable for an upper value U must be unused by every allocation
worth U or less, in particular by the optimum when U is the optimum.
"""

from __future__ import annotations

import random
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import scipy.sparse as sp
from bruteforce import RandomChooser, brute_force, random_instance_dict, to_json

from solver import SolveParams, load_instance, lp, solve, validate_instance
from solver.arrays import NO, derive
from solver.heuristic import evaluate, greedy
from solver.lp import relax
from solver.model import build_model
from solver.solve import _start_places_all


@pytest.mark.parametrize(
    ("engine", "glop_variables"),
    [("glop", lp.GLOP_VARIABLES), ("glop+lagrangian", 3), ("lagrangian", 0)],
)
@pytest.mark.parametrize("place_all", [False, True])
def test_lp_bound_and_fixing_never_cut_off_the_optimum(
    engine, glop_variables, place_all, monkeypatch
):
    # Parts of the LP above `glop_variables` variables get the subgradient steps instead
    # of GLOP: 0 runs the large-model path on tiny models, 3 mixes both.
    monkeypatch.setattr(lp, "GLOP_VARIABLES", glop_variables)
    rng = random.Random(20261123)
    checked, engines, split = 0, set(), 0
    for _ in range(120):
        doc = random_instance_dict(RandomChooser(rng))
        inst = validate_instance(doc)
        best, placement = brute_force(inst)
        if best is None:
            continue
        a = derive(inst)
        am = build_model(a)
        upper = int(best * a.money_scale)
        where = f"optimum {best}; {to_json(doc)}"
        if place_all:
            # The bound then holds for allocations that place every case with a pair:
            # compare with an optimum that does.
            if not {a.case_ids[j] for j in a.pair_case} <= placement.keys():
                continue
            looser = relax(build_model(a), 10, upper)
            am.place_all()
        relaxation = relax(am, 10, upper)
        assert relaxation is not None, where
        if am.n_pairs:
            engines.add(relaxation.engine)
        where = f"bound {relaxation.bound}, {where}"
        assert Fraction(relaxation.bound, a.money_scale) <= best, where
        if engine == "glop":
            # Solved part by part, the LP has the optimum of the whole LP.
            with monkeypatch.context() as m:
                m.setattr(lp, "_components", _one_part)
                whole = relax(am, 10, upper)
            assert abs(relaxation.lagrangian - whole.lagrangian) < 1e-6 * abs(upper) + 1, where
            if place_all:  # equality rows: an LP at least as tight
                assert relaxation.bound >= looser.bound, where
        # The optimum's own pairs are never fixable at the optimum's value.
        index = {p: i for i, p in enumerate(a.provider_ids)}
        assign = np.array([index.get(placement.get(c, ""), -1) for c in a.case_ids], int)
        assert sum(evaluate(a, assign)[1].values()) == upper, where
        used = assign[a.pair_case] == a.pair_provider
        assert not (relaxation.fixable(upper) & used).any(), where
        rows = lp._rows(am)
        parts = lp._components(sp.vstack([rows.matrix, lp._placement_matrix(rows)]))[1]
        split += len(np.unique(parts[: am.n_pairs])) > 1
        checked += 1
    assert checked >= 40 and split >= 5
    assert engine in engines and engines <= {"glop", "glop+lagrangian", "lagrangian"}


def _one_part(matrix):
    return np.zeros(matrix.shape[0], int), np.zeros(matrix.shape[1], int)


def test_the_lp_bound_proves_the_bundled_optimum():
    inst = load_instance(Path(__file__).resolve().parent.parent / "instances/ballerup-2022.json")
    result = solve(inst, SolveParams(time_limit=20, workers=2))
    a = derive(inst)
    relaxation = relax(build_model(a), 10)
    assert result.status == "optimal"
    assert relaxation is not None
    assert Fraction(relaxation.bound, a.money_scale) <= result.objective


def test_the_hint_sets_every_variable_to_the_allocation_values():
    rng = random.Random(7)
    for _ in range(30):
        inst = validate_instance(random_instance_dict(RandomChooser(rng)))
        a = derive(inst)
        am = build_model(a)
        start = greedy(a)
        am.set_hint(start)
        hint = am.model.proto.solution_hint
        variables = len(am.model.proto.variables)
        assert sorted(hint.vars) == list(range(variables))
        values = np.zeros(variables, np.int64)
        values[list(hint.vars)] = list(hint.values)
        # The hinted values are the model's reading of the allocation: same objective.
        assert am.value(values) == sum(evaluate(a, start)[1].values())
        assert (am.assignment_of(values) == start).all()


def test_cases_are_forced_in_only_when_leaving_one_out_costs_more_than_the_start():
    def instance(unassigned: int):
        return validate_instance(
            {
                "name": "place-all",
                "providers": [{"id": "p", "kind": "external", "capacity_hours": 10}],
                "cases": [{"id": "c1", "age": 15, "hours_per_week": 2}],
                "offers": [{"case": "c1", "provider": "p", "annual_cost": 50000}],
                "weights": {"unassigned": unassigned},
            }
        )

    params = SolveParams(time_limit=10, workers=1)
    # Leaving the case out (40 000) beats placing it (50 000): it must stay out.
    cheap = solve(instance(40000), params)
    assert cheap.status == "optimal" and cheap.objective == 40000
    assert [u["case"] for u in cheap.unassigned] == ["c1"]
    assert not _start_places_all(build_model(derive(instance(40000))), np.array([0]), 5000000)
    # With the default weight a start that places it lets every case be required in;
    # a start that leaves it out does not.
    a = derive(instance(10_000_000))
    am = build_model(a)
    start, out = greedy(a), np.array([NO])
    assert (start == 0).all()
    assert _start_places_all(am, start, sum(evaluate(a, start)[1].values()))
    assert not _start_places_all(am, out, sum(evaluate(a, out)[1].values()))
    assert am.place_all() == 1
    placed = solve(instance(10_000_000), params)
    assert placed.status == "optimal" and placed.objective == 50000
