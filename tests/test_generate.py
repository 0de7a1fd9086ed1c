"""Generated instances (solver/generate.py): valid, deterministic, structured, feasible."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from decimal import Decimal

import pytest
from test_cli import assert_error_lines, run_cli

from solver import SolveParams, solve
from solver.arrays import derive
from solver.checker import check, evaluate
from solver.generate import build, eligible_pairs, generate
from solver.instance import KINDS, Instance
from solver.io import parse_instance, validate_instance
from solver.tables import instance_json

SIZES = [(50, 10, 0), (300, 20, 1), (2000, 60, 2), (40, 6, 3), (20, 200, 4)]


@pytest.fixture(scope="module")
def medium() -> Instance:
    return generate(3000, 80, 1)


@pytest.mark.parametrize(("cases", "providers", "seed"), SIZES)
def test_valid_with_every_kind_and_a_plan_that_keeps_every_rule(cases, providers, seed):
    generated = build(cases, providers, seed)
    inst = validate_instance(generated.document)
    assert len(inst.cases) == cases and len(inst.providers) == providers
    assert {p.kind for p in inst.providers} == set(KINDS)
    # The planned allocation places every active case within capacity, max_cases,
    # eligibility, locks and budgets: the instance is feasible with no case unassigned.
    assert set(generated.plan) == {c.id for c in inst.cases if c.active}
    assert evaluate(inst, generated.plan).violations == []
    for c in inst.cases:
        if c.must_provider is not None:
            assert c.must_provider == generated.plan[c.id]


def test_same_seed_same_instance_other_seed_other_instance():
    first = instance_json(generate(500, 30, 7))
    assert instance_json(generate(500, 30, 7)) == first
    assert instance_json(generate(500, 30, 8)) != first


def test_structure_of_real_instances(medium):
    cases, providers = medium.cases, medium.providers
    active = [c for c in cases if c.active]
    assert 0.10 <= 1 - len(active) / len(cases) <= 0.30  # closing
    assert 6 <= min(c.age for c in cases) and max(c.age for c in cases) <= 23
    assert 14 <= statistics.median(c.age for c in cases) <= 16  # teenagers most
    hours = [c.hours_per_week for c in cases]
    assert 2 <= min(hours) and max(hours) <= 15 and all(h % Decimal("0.25") == 0 for h in hours)
    assert sum(h % 1 == 0 for h in hours) > len(hours) / 2  # mostly whole hours
    needs = Counter(len(c.needs) for c in cases)
    assert needs[0] > needs[1] > needs[2] > 0 and set(needs) == {0, 1, 2}
    families = Counter(c.family for c in cases if c.family is not None)
    assert set(families.values()) <= {2, 3}
    assert 0.05 <= sum(families.values()) / len(cases) <= 0.15
    assert 0.003 <= sum(c.must_provider is not None for c in active) / len(active) <= 0.02
    assert any(c.forbidden_providers for c in cases)
    assert sum(c.current_provider is not None for c in active) > len(active) / 2
    assert sum(bool(c.relations) for c in active) > len(active) / 3
    assert len({c.payer for c in cases}) > 1  # pooled across municipalities
    assert medium.weights.kind_penalty == {"external": 20000, "internal_corps": 10000}
    capacity = sum(p.capacity_hours for p in providers)
    assert 1.1 <= capacity / sum(c.hours_per_week for c in active) <= 1.4
    assert all(p.min_age == 18 for p in providers if p.kind == "labour_market")
    assert all(p.optional for p in providers if p.kind == "internal_corps")
    offered = {o.case for o in medium.offers}
    assert 0.1 * len(cases) < len(offered) < 0.6 * len(cases)  # offers for part of the cases
    assert len(medium.budgets) > 1


def test_pairs_per_case_are_bounded_and_counted_as_derive_does(medium):
    active = sum(c.active for c in medium.cases)
    assert 5 <= eligible_pairs(medium) / active <= 40
    small = generate(400, 25, 5)
    assert eligible_pairs(small) == len(derive(small).pair_case)


def test_solves_with_locks_and_the_checker_accepts():
    seed = next(s for s in range(100) if _locks(build(30, 8, s).document))
    inst = generate(30, 8, seed)
    result = solve(inst, SolveParams(time_limit=10, workers=2))
    assert result.status in ("optimal", "feasible")
    document = json.loads(json.dumps(result.to_dict()))
    assert check(inst, document).ok
    placed = {a["case"]: a["provider"] for a in document["assignments"]}
    assert all(placed[c.id] == c.must_provider for c in inst.cases if c.must_provider)
    assert document["unassigned"] == []


def _locks(document: dict) -> list[str]:
    return [c["must_provider"] for c in document["cases"] if "must_provider" in c]


@pytest.mark.parametrize(
    ("cases", "providers", "seed"), [(10, 5, 0), (0, 10, 0), (10, 10, -1), (10, 10, 10**9)]
)
def test_bad_arguments_are_refused(cases, providers, seed):
    with pytest.raises(ValueError):
        build(cases, providers, seed)


def test_cli_writes_the_instance(tmp_path):
    out = tmp_path / "generated.json"
    proc = run_cli("generate", "--cases", 200, "--providers", 12, "--seed", 5, "--out", out)
    assert proc.returncode == 0, proc.stderr
    # The same bytes as in this process (another hash seed): no dependence on set order.
    text = out.read_text(encoding="utf-8")
    assert text == instance_json(generate(200, 12, 5))
    assert len(parse_instance(text).cases) == 200


@pytest.mark.parametrize(
    "args",
    [
        ["--cases", "100", "--providers", "5"],
        ["--cases", "0", "--providers", "10"],
        ["--providers", "10"],
    ],
)
def test_cli_refuses_bad_arguments_and_writes_nothing(tmp_path, args):
    out = tmp_path / "generated.json"
    proc = run_cli("generate", *args, "--out", out)
    assert proc.returncode == 2
    assert_error_lines(proc)
    assert len(proc.stderr.splitlines()) == 1
    assert list(tmp_path.iterdir()) == []
