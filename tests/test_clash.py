"""Clash reports on deliberately broken instances: each reported set is infeasible on its
own, and dropping any one of its rules makes it feasible (minimal)."""

from __future__ import annotations

import pytest

from solver import SolveParams, solve, validate_instance
from solver.arrays import derive
from solver.conflicts import broken_limits, feasible, minimal_clashes


def provider(pid, kind="club", capacity=100, **fields):
    return {"id": pid, "kind": kind, "capacity_hours": capacity, **fields}


def case(cid, hours=5, **fields):
    return {"id": cid, "age": 14, "hours_per_week": hours, **fields}


def inst(providers, cases, **top):
    return validate_instance({"name": "broken", "providers": providers, "cases": cases, **top})


BROKEN = {
    # three locks of 5 h on 9 h: any two clash; the third is not needed
    "capacity-any-two": inst(
        [provider("a", capacity=9), provider("b")],
        [case(f"L{n}", must_provider="a") for n in range(3)] + [case("free")],
    ),
    # one big lock alone exceeds the capacity; the small ones are innocent
    "capacity-one-big": inst(
        [provider("a", capacity=10)],
        [case("big", hours=12, must_provider="a"), case("s1", hours=1, must_provider="a")],
    ),
    "max-cases": inst(
        [provider("a", max_cases=1)],
        [case("L1", must_provider="a"), case("L2", must_provider="a"), case("L3")],
    ),
    "fixed-cost-over-budget": inst(
        [provider("e", kind="external", fixed_cost=5000), provider("c")],
        [case("U1")],
        budgets=[{"name": "ext", "kinds": ["external"], "max_annual_cost": 4000}],
    ),
    "two-providers-one-budget": inst(
        [
            provider("e1", kind="external", hourly_rate=100),
            provider("e2", kind="external", hourly_rate=100),
        ],
        [case("L1", must_provider="e1"), case("L2", must_provider="e2"), case("L3")],
        budgets=[{"name": "ext", "kinds": ["external"], "max_annual_cost": 30000}],
    ),
    "lock-overrides-forbidden-but-not-capacity": inst(
        [provider("a", capacity=4), provider("b")],
        [case("L1", must_provider="a", forbidden_providers=["a"])],
    ),
    "independent-clashes": inst(
        [provider("a", capacity=4, max_cases=1), provider("b", capacity=3)],
        [
            case("A1", hours=3, must_provider="a"),
            case("A2", hours=3, must_provider="a"),
            case("B1", hours=4, must_provider="b"),
        ],
    ),
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_every_reported_clash_is_minimal(name):
    a = derive(BROKEN[name])
    clashes = minimal_clashes(a)
    assert clashes, "a broken instance must report at least one clash"
    assert len(clashes) == len(broken_limits(a))
    for clash in clashes:
        assert not feasible(a, set(clash)), f"{clash} is not a clash"
        for rule in clash:
            assert feasible(a, set(clash) - {rule}), f"{clash} is not minimal: {rule}"


def test_the_innocent_locks_are_left_out():
    assert minimal_clashes(derive(BROKEN["capacity-one-big"])) == [["lock:big", "capacity:a"]]
    (clash,) = minimal_clashes(derive(BROKEN["capacity-any-two"]))
    assert len([r for r in clash if r.startswith("lock:")]) == 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("capacity-one-big", ["case big is locked to a and needs 12 h/week; a has 10 h/week"]),
        ("max-cases", ["cases L1 and L2 are locked to a; a takes at most 1 case"]),
        (
            "fixed-cost-over-budget",
            [
                "budget 'ext' allows 4 000 DKK a year, but fixed costs alone cost 5 000 DKK "
                "(e 5 000 DKK)"
            ],
        ),
        (
            "independent-clashes",
            [
                "cases A1 and A2 are locked to a and need 6 h/week; a has 4 h/week",
                "cases A1 and A2 are locked to a; a takes at most 1 case",
                "case B1 is locked to b and needs 4 h/week; b has 3 h/week",
            ],
        ),
    ],
)
def test_solve_reports_the_clashes_in_words(name, expected):
    result = solve(BROKEN[name], SolveParams(time_limit=10, workers=2))
    assert result.status == "infeasible"
    assert result.objective is None
    assert result.conflicts == expected


def test_a_feasible_instance_has_no_clash():
    ok = inst([provider("a", capacity=10)], [case("L1", must_provider="a"), case("U2")])
    assert broken_limits(derive(ok)) == []
    assert minimal_clashes(derive(ok)) == []
    assert solve(ok, SolveParams(time_limit=10, workers=2)).status == "optimal"


def test_no_eligible_provider_names_the_rule_for_each_kind():
    from solver.reasons import no_provider_reason

    i = inst(
        [
            provider("club", max_age=17),
            provider("ext", kind="external", competences=["crime"]),
            provider("fh", kind="family_house", competences=["autism"], districts=["Syd"]),
        ],
        [case("U1", needs=["autism"], district="Nord") | {"age": 19}],
    )
    assert no_provider_reason(i.cases[0], i.providers) == (
        'no provider with competence "autism" for age 19 serves district Nord'
        ' (by kind: club: lacks "autism"; family_house: does not serve district Nord;'
        ' external: lacks "autism")'
    )
