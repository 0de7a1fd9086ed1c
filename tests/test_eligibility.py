"""Properties of the derived arrays and the greedy against the independent checker.

- The (case, provider) pairs of `solver.arrays.derive` are exactly the pairs the checker
  allows (`solver.checker.allowed`: the lock if there is one, else eligibility) over the
  active cases.
- `solver.heuristic.evaluate` gives the same provider costs and objective terms as
  `solver.checker.evaluate`, exactly, on random feasible allocations and on arbitrary ones.
- `solver.heuristic.greedy` always returns an allocation the checker finds feasible, with
  every locked case at its lock.

Instances are the tiny ones of tests/bruteforce.py and larger ones (30 cases, 6 providers)
from the generator below, which uses every field of the format.
"""

from __future__ import annotations

import random
from decimal import Decimal as D
from typing import Any

import numpy as np
from bruteforce import RandomChooser, random_instance_dict, to_json

from solver import Instance, validate_instance
from solver.arrays import NO, Arrays, derive
from solver.checker import allowed
from solver.checker import evaluate as check_evaluate
from solver.conflicts import lock_conflicts
from solver.heuristic import Tracker, greedy
from solver.heuristic import evaluate as heuristic_evaluate
from solver.instance import KINDS

NEEDS = ("autism", "psych", "adhd", "crime")
DISTRICTS = ("north", "south", "west")


def large_instance_dict(rng: random.Random, n_cases: int = 30, n_providers: int = 6) -> dict:
    """A larger instance document with every feature of the format."""
    pick = rng.choice
    pids = [f"p{i}" for i in range(n_providers)]
    providers = []
    for pid in pids:
        p: dict[str, Any] = {
            "id": pid,
            "name": pid.upper(),
            "kind": pick(KINDS),
            "capacity_hours": D(pick(["0", "5", "10", "15.5", "20", "40", "80"])),
        }
        if rng.random() < 0.4:
            p["max_cases"] = rng.randint(0, 10)
        if rng.random() < 0.8:
            p["hourly_rate"] = D(pick(["0", "250", "312.75", "480.5", "600"]))
        if rng.random() < 0.4:
            p["included_hours"] = D(pick(["2", "5.5", "9.25", "20"]))
        if rng.random() < 0.5:
            p["fixed_cost"] = D(pick(["0", "10000", "45000.75", "120000"]))
        if rng.random() < 0.4:
            p["optional"] = True
        if rng.random() < 0.7:
            p["competences"] = [n for n in NEEDS if rng.random() < 0.6]
        if rng.random() < 0.3:
            p["districts"] = [d for d in DISTRICTS if rng.random() < 0.6]
        if rng.random() < 0.3:
            p["min_age"] = rng.randint(0, 18)
        if rng.random() < 0.3:
            p["max_age"] = rng.randint(12, 30)
        if rng.random() < 0.15:
            p["accepts_new"] = False
        providers.append(p)

    cases = []
    for j in range(n_cases):
        c: dict[str, Any] = {
            "id": f"U{j:03d}",
            "age": rng.randint(0, 30),
            "hours_per_week": D(pick(["1", "1.5", "2", "2.5", "3", "4", "6.25"])),
        }
        if rng.random() < 0.1:
            c["status"] = pick(["closing", "active"])
        if rng.random() < 0.7:
            c["district"] = pick(DISTRICTS)
        if rng.random() < 0.5:
            c["needs"] = [n for n in NEEDS if rng.random() < 0.3]
        if rng.random() < 0.4:
            c["family"] = f"f{rng.randint(0, 7)}"
        if rng.random() < 0.4:
            c["current_provider"] = pick([*pids, "closed-club"])
        if rng.random() < 0.4:
            c["relations"] = {pid: rng.randint(1, 3) for pid in pids if rng.random() < 0.25}
        if rng.random() < 0.3:
            c["payer"] = pick(["kbh", "frb", "default"])
        if rng.random() < 0.03:
            c["must_provider"] = pick(pids)
        if rng.random() < 0.2:
            c["forbidden_providers"] = [pid for pid in pids if rng.random() < 0.3]
        cases.append(c)

    offers = []
    for c in cases:
        for pid in pids:
            if rng.random() < 0.08:
                o: dict[str, Any] = {
                    "case": c["id"],
                    "provider": pid,
                    "annual_cost": D(pick(["0", "18000", "52340.25", "90000"])),
                }
                if rng.random() < 0.5:
                    o["hours_per_week"] = D(pick(["1", "2.5", "5"]))
                offers.append(o)

    budgets = [
        {
            "name": f"frame {b}",
            "kinds": [k for k in KINDS if rng.random() < 0.3],
            "providers": [pid for pid in pids if rng.random() < 0.25],
            "max_annual_cost": D(pick(["50000", "150000.5", "400000", "2000000", "9000000"])),
        }
        for b in range(rng.randint(0, 2))
    ]
    weights: dict[str, Any] = {
        "relation_per_level": D(pick(["0", "1234.5", "25000"])),
        "continuity": D(pick(["0", "7000.25", "15000"])),
        "family_split": D(pick(["0", "9999.99", "20000"])),
        "kind_penalty": {k: D(pick(["0", "3000", "450.5"])) for k in KINDS if rng.random() < 0.3},
        "unassigned": D(pick(["0", "40000", "123456.78", "10000000"])),
    }
    return {
        "name": "large random",
        "weeks_per_year": D(pick(["45.5", "46", "52", "1"])),
        "providers": providers,
        "cases": cases,
        "offers": offers,
        "budgets": budgets,
        "weights": weights,
    }


def tiny(seed: int) -> dict:
    return random_instance_dict(RandomChooser(random.Random(seed)))


def large(seed: int) -> dict:
    return large_instance_dict(random.Random(10_000 + seed))


def instances(n_tiny: int, n_large: int) -> list[tuple[str, dict]]:
    return [(f"tiny {s}", tiny(s)) for s in range(n_tiny)] + [
        (f"large {s}", large(s)) for s in range(n_large)
    ]


def pair_set(a: Arrays) -> set[tuple[str, str]]:
    return {
        (a.case_ids[j], a.provider_ids[i])
        for j, i in zip(a.pair_case.tolist(), a.pair_provider.tolist(), strict=True)
    }


def placement_of(a: Arrays, assign: np.ndarray) -> dict[str, str]:
    return {a.case_ids[j]: a.provider_ids[int(assign[j])] for j in np.flatnonzero(assign != NO)}


def random_feasible(a: Arrays, rng: random.Random) -> np.ndarray:
    """Locks first, then each case in random order at a random fitting pair or unassigned."""
    st = Tracker(a)
    first = np.searchsorted(a.pair_case, np.arange(a.n_cases + 1))
    for j in np.flatnonzero(a.case_lock != NO).tolist():
        st.apply(int(first[j]), +1)
    for j in rng.sample(range(a.n_cases), a.n_cases):
        if a.case_lock[j] != NO:
            continue
        fitting = [k for k in range(first[j], first[j + 1]) if st.fits(k)]
        if fitting and rng.random() < 0.85:
            st.apply(rng.choice(fitting), +1)
    return st.assign.copy()


def random_any(a: Arrays, rng: random.Random) -> np.ndarray:
    """Any allowed pair per case (or unassigned), limits ignored; locks kept."""
    first = np.searchsorted(a.pair_case, np.arange(a.n_cases + 1))
    assign = np.full(a.n_cases, NO, int)
    for j in range(a.n_cases):
        ks = list(range(first[j], first[j + 1]))
        if a.case_lock[j] != NO or (ks and rng.random() < 0.8):
            assign[j] = int(a.pair_provider[rng.choice(ks)])
    return assign


def assert_same_figures(inst: Instance, a: Arrays, assign: np.ndarray, where: str) -> None:
    cost_units, terms = heuristic_evaluate(a, assign)
    ev = check_evaluate(inst, placement_of(a, assign))
    got_costs = {pid: a.money(int(u)) for pid, u in zip(a.provider_ids, cost_units, strict=True)}
    assert got_costs == ev.provider_cost, where
    assert a.money(terms["cost"]) == ev.total_cost, where
    for name in ("relation", "continuity", "family", "kind", "unassigned"):
        assert a.money(terms[name]) == ev.penalties[name], f"{name}; {where}"
    assert a.money(sum(terms.values())) == ev.objective, where


# --- tests -----------------------------------------------------------------------------------


def test_derived_pairs_are_the_allowed_pairs():
    for label, doc in instances(300, 60):
        inst = validate_instance(doc)
        a = derive(inst)
        expected = {
            (c.id, p.id)
            for c in inst.cases
            if c.status == "active"
            for p in inst.providers
            if allowed(c, p)
        }
        where = f"{label}: {to_json(doc)}"
        assert pair_set(a) == expected, where
        assert a.case_ids == [c.id for c in inst.cases if c.status == "active"], where
        # pairs sorted by case then provider, as the heuristic and the model rely on
        order = np.lexsort((a.pair_provider, a.pair_case))
        assert (order == np.arange(len(order))).all(), where


def test_derived_pairs_cover_locks_and_nothing_else_for_locked_cases():
    found = 0
    for label, doc in instances(200, 40):
        inst = validate_instance(doc)
        a = derive(inst)
        for j in np.flatnonzero(a.case_lock != NO).tolist():
            ks = np.flatnonzero(a.pair_case == j)
            assert a.pair_provider[ks].tolist() == [a.case_lock[j]], label
            found += 1
    assert found >= 20


def test_heuristic_evaluate_matches_checker_on_feasible_allocations():
    compared = 0
    for label, doc in instances(150, 50):
        inst = validate_instance(doc)
        a = derive(inst)
        if lock_conflicts(a):
            continue
        rng = random.Random(label)
        for _ in range(3):
            assign = random_feasible(a, rng)
            where = f"{label}: {placement_of(a, assign)}; {to_json(doc)}"
            ev = check_evaluate(inst, placement_of(a, assign))
            assert ev.feasible, f"{ev.violations}; {where}"
            assert_same_figures(inst, a, assign, where)
            compared += 1
    assert compared >= 450


def test_heuristic_evaluate_matches_checker_on_any_allocation():
    for label, doc in instances(100, 30):
        inst = validate_instance(doc)
        a = derive(inst)
        rng = random.Random(f"any {label}")
        for _ in range(2):
            assign = random_any(a, rng)
            assert_same_figures(inst, a, assign, f"{label}: {to_json(doc)}")


def test_greedy_is_always_feasible():
    checked = 0
    for label, doc in instances(200, 100):
        inst = validate_instance(doc)
        a = derive(inst)
        if lock_conflicts(a):
            continue
        assign = greedy(a)
        placement = placement_of(a, assign)
        where = f"{label}: {placement}; {to_json(doc)}"
        ev = check_evaluate(inst, placement)
        assert ev.feasible, f"{ev.violations}; {where}"
        for j in np.flatnonzero(a.case_lock != NO).tolist():
            assert assign[j] == a.case_lock[j], where
        # the greedy never does worse than leaving every unlocked case unassigned
        locks_only = np.where(a.case_lock != NO, a.case_lock, NO)
        baseline = check_evaluate(inst, placement_of(a, locks_only))
        assert ev.objective <= baseline.objective, where
        checked += 1
    assert checked >= 200


def test_large_generator_uses_every_feature():
    docs = [large(s) for s in range(20)]
    providers = [p for d in docs for p in d["providers"]]
    cases = [c for d in docs for c in d["cases"]]
    for key in ("max_cases", "included_hours", "optional", "districts", "min_age", "max_age"):
        assert any(key in p for p in providers), key
    assert any(p.get("accepts_new") is False for p in providers)
    for key in ("family", "current_provider", "relations", "must_provider", "forbidden_providers"):
        assert any(key in c for c in cases), key
    assert any(c.get("status") == "closing" for c in cases)
    assert any(d["offers"] for d in docs) and any(d["budgets"] for d in docs)
    inst = validate_instance(docs[0])
    assert len(inst.cases) == 30 and len(inst.providers) == 6
