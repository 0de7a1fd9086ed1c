"""`solver.budget`: every figure recomputed with the independent checker.

The baseline is every active case at its current provider (where that provider exists),
costed by `solver.checker.evaluate`; the proposal is the solver's allocation. Payer rows
plus the not-attributed row must equal the total exactly.
"""

from __future__ import annotations

import json
import random
from fractions import Fraction
from pathlib import Path

import pytest
from bruteforce import RandomChooser, random_instance_dict

from solver import SolveParams, load_instance, solve, validate_instance
from solver.budget import (
    KIND_ORDER,
    NOT_ATTRIBUTED,
    baseline_placement,
    budget_table,
    case_cost_shares,
    placement_of,
    render_budget_table,
    with_closing_active,
)
from solver.checker import evaluate
from solver.instance import Instance

INSTANCES = Path(__file__).resolve().parent.parent / "instances"
PARAMS = SolveParams(time_limit=20, workers=2, seed=0)


def current(inst: Instance) -> dict[str, str]:
    """The baseline, written out independently of `baseline_placement`."""
    ids = [p.id for p in inst.providers]
    return {
        c.id: c.current_provider
        for c in inst.cases
        if c.status == "active" and c.current_provider in ids
    }


def check_table(inst: Instance, placement: dict[str, str], baseline_closing: bool = False) -> dict:
    table = budget_table(inst, placement, exact=True, baseline_closing=baseline_closing)
    base_inst = with_closing_active(inst) if baseline_closing else inst
    base = evaluate(base_inst, current(base_inst))
    prop = evaluate(inst, placement)
    kinds = {p.id: p.kind for p in inst.providers}

    assert [row["kind"] for row in table["by_kind"]] == list(KIND_ORDER)
    for row in table["by_kind"]:
        k = row["kind"]
        b = sum((v for pid, v in base.provider_cost.items() if kinds[pid] == k), Fraction(0))
        p = sum((v for pid, v in prop.provider_cost.items() if kinds[pid] == k), Fraction(0))
        assert (row["baseline"], row["proposal"], row["change"]) == (b, p, p - b)
        assert row["proposal_cases"] == sum(
            n for pid, n in prop.provider_cases.items() if kinds[pid] == k
        )
    assert sum((r["baseline"] for r in table["by_kind"]), Fraction(0)) == base.total_cost
    assert sum((r["proposal"] for r in table["by_kind"]), Fraction(0)) == prop.total_cost
    assert table["total"] == {"baseline": base.total_cost, "proposal": prop.total_cost}
    assert table["saving"] == base.total_cost - prop.total_cost

    for b, row in zip(inst.budgets, table["by_budget"], strict=True):
        counted = {p.id for p in inst.providers if p.kind in b.kinds or p.id in b.providers}
        spent = sum((prop.provider_cost[pid] for pid in counted), Fraction(0))
        assert row["name"] == b.name
        assert row["proposal"] == spent
        assert row["baseline"] == sum((base.provider_cost[pid] for pid in counted), Fraction(0))
        assert row["headroom"] == Fraction(b.max_annual_cost) - spent

    # Payers: the rows and the not-attributed row sum exactly to the total.
    payers = table["by_payer"]
    assert payers[-1]["payer"] is None and payers[-1]["label"] == NOT_ATTRIBUTED
    for side, ev in (("baseline", base), ("proposal", prop)):
        assert sum((row[side] for row in payers), Fraction(0)) == ev.total_cost
    # The not-attributed row: fixed costs of providers without cases.
    unused = sum(
        (prop.provider_cost[p.id] for p in inst.providers if prop.provider_cases[p.id] == 0),
        Fraction(0),
    )
    assert payers[-1]["proposal"] == unused
    active = [c for c in inst.cases if c.status == "active"]
    assert [r["payer"] for r in payers[:-1]] == list(dict.fromkeys(c.payer for c in active))
    for row in payers[:-1]:
        assert row["cases"] == sum(1 for c in active if c.payer == row["payer"])
    assert table["proposal_violations"] == prop.violations
    json.dumps(budget_table(inst, placement))  # the rounded table is JSON
    return table


def check_shares(inst: Instance, placement: dict[str, str]) -> None:
    """Per provider, its cases' shares sum to its cost; an offer case pays its own offer."""
    ev = evaluate(inst, placement)
    shares = case_cost_shares(inst, placement)
    offers = {(o.case, o.provider): Fraction(o.annual_cost) for o in inst.offers}
    for p in inst.providers:
        members = [j for j, pid in placement.items() if pid == p.id]
        if members:
            assert sum(shares[j] for j in members) == ev.provider_cost[p.id]
        for j in members:
            assert shares[j] >= offers.get((j, p.id), 0)
    for c in inst.cases:
        if c.status == "active" and c.id not in placement:
            assert shares[c.id] == 0


@pytest.fixture(scope="module")
def solved():
    out = {}
    for name in ("tiny.json", "ballerup-2022.json", "ishoj-2018.json"):
        inst = load_instance(INSTANCES / name)
        out[name] = (inst, placement_of(solve(inst, PARAMS)))
    return out


@pytest.mark.parametrize("name", ["tiny.json", "ballerup-2022.json", "ishoj-2018.json"])
def test_bundled_tables_recompute(solved, name):
    inst, placement = solved[name]
    check_table(inst, placement)
    check_table(inst, placement, baseline_closing=True)
    check_shares(inst, placement)
    check_shares(inst, current(inst))
    assert baseline_placement(inst) == current(inst)
    assert render_budget_table(budget_table(inst, placement)).startswith("DKK a year")


def test_tiny_by_hand(solved):
    inst, placement = solved["tiny.json"]
    table = check_table(inst, placement)
    rows = {r["kind"]: r for r in table["by_kind"]}
    # Baseline: U01 (3 h at 450 x 46) and U04 (its offer 95 000) at Ekstern A; the Family
    # House and the club's grant are paid anyway; the corps is optional and unused.
    assert rows["external"]["baseline"] == 450 * 46 * 3 + 95000
    assert rows["family_house"]["baseline"] == 550000
    assert rows["club"]["baseline"] == 120000
    assert rows["internal_corps"]["baseline"] == 0
    assert table["total"] == {"baseline": 827100, "proposal": 778800}
    assert table["saving"] == 48300
    payers = table["by_payer"]
    # In the baseline nobody is at the Family House or the club: their fixed costs are not
    # attributed to a payer.
    assert payers[-1]["baseline"] == 550000 + 120000
    assert payers[-1]["proposal"] == 0
    assert any("U02, U03" in note for note in table["baseline_notes"])
    shares = case_cost_shares(inst, placement)
    # Klub Syd: grant 120 000 + 300 x 46 x (5 - 4) h, split 3 : 2 over U01 and U02.
    assert shares["U01"] == Fraction(133800 * 3, 5)
    assert shares["U02"] == Fraction(133800 * 2, 5)
    assert shares["U03"] == 550000 and shares["U04"] == 95000


def test_ballerup_review_shape(solved):
    """The review's table: external, internal purchase, Family House, clubs, total, saving."""
    inst, placement = solved["ballerup-2022.json"]
    table = check_table(inst, placement)
    rows = {r["kind"]: r for r in table["by_kind"]}
    assert [r["label"] for r in table["by_kind"][:4]] == [
        "external",
        "internal purchase",
        "Family House",
        "clubs",
    ]
    # Proposal: the optimum's figures (instances/README.md).
    assert rows["external"]["proposal"] == 10_899_740
    assert rows["internal_purchase"]["proposal"] == 1_400_000
    assert rows["family_house"]["proposal"] == 2_200_000
    assert rows["club"]["proposal"] == Fraction(3_006_125, 2)
    assert rows["internal_corps"]["proposal"] == 0
    # Baseline of the 54 active cases with a current provider: 36 at the corps (9 mio, its
    # fixed cost), 18 at external providers.
    assert table["baseline_cases"] == 54
    assert rows["internal_corps"]["baseline"] == 9_000_000
    assert rows["external"]["baseline"] == 7_474_300
    assert table["total"]["baseline"] == 19_224_300
    assert any("B010: not eligible at provider korps" in n for n in table["baseline_notes"])
    # Counting the closing cases at their providers too (as the review's 21 mio "old
    # spending" does): 12.3 mio external + 9 mio corps.
    wide = check_table(inst, placement, baseline_closing=True)
    wide_rows = {r["kind"]: r for r in wide["by_kind"]}
    assert wide_rows["external"]["baseline"] == 12_321_780
    assert wide["total"]["baseline"] == 24_071_780
    assert any("24 071 780" in n for n in table["baseline_notes"])
    assert table["by_budget"][0]["headroom"] == 11_000_000 - 10_899_740


def test_ishoj_payer_split(solved):
    """instances/README.md: about 2.65-2.69 / 1.31-1.35 mio (equal-cost optima differ)."""
    inst, placement = solved["ishoj-2018.json"]
    table = check_table(inst, placement)
    payers = {r["payer"]: r for r in table["by_payer"]}
    ishoej = float(payers["ishoej"]["proposal"]) / 1e6
    vallensbaek = float(payers["vallensbaek"]["proposal"]) / 1e6
    assert 2.65 <= round(ishoej, 2) <= 2.69
    assert 1.31 <= round(vallensbaek, 2) <= 1.35
    assert round(ishoej + vallensbaek, 2) == 4.0  # the optimum's cost, 3 998 850
    assert payers[None]["proposal"] == 0


def test_attribution_rule_on_a_mixed_provider():
    """Offer cases pay their offer and a part of the fixed cost by load; the hourly bill
    goes to the cases billed by the hour, by hours."""
    inst = validate_instance(
        {
            "name": "mixed",
            "weeks_per_year": 10,
            "providers": [
                {
                    "id": "p",
                    "kind": "external",
                    "capacity_hours": 20,
                    "fixed_cost": 1200,
                    "hourly_rate": 100,
                    "included_hours": 1,
                },
                {"id": "idle", "kind": "club", "capacity_hours": 5, "fixed_cost": 700},
                {
                    "id": "shut",
                    "kind": "club",
                    "capacity_hours": 5,
                    "fixed_cost": 900,
                    "optional": True,
                },
            ],
            "cases": [
                {"id": "a", "age": 10, "hours_per_week": 2, "payer": "x"},
                {"id": "b", "age": 10, "hours_per_week": 1, "payer": "y"},
                {"id": "c", "age": 10, "hours_per_week": 5, "payer": "y"},
            ],
            "offers": [{"case": "c", "provider": "p", "annual_cost": 5000, "hours_per_week": 3}],
        }
    )
    placement = {"a": "p", "b": "p", "c": "p"}
    ev = evaluate(inst, placement)
    hourly = 100 * 10 * (2 + 1 - 1)  # 2000: billed hours 3 above 1 included
    assert ev.provider_cost["p"] == 1200 + hourly + 5000
    shares = case_cost_shares(inst, placement)
    loads = {"a": 2, "b": 1, "c": 3}  # c's load is its offer's hours
    assert shares["a"] == Fraction(1200 * 2, 6) + Fraction(hourly * 2, 3)
    assert shares["b"] == Fraction(1200 * 1, 6) + Fraction(hourly * 1, 3)
    assert shares["c"] == 5000 + Fraction(1200 * loads["c"], 6)
    table = check_table(inst, placement)
    payers = {r["payer"]: r["proposal"] for r in table["by_payer"]}
    assert payers == {"x": shares["a"], "y": shares["b"] + shares["c"], None: 700}


def test_baseline_notes_report_broken_rules_and_closed_providers():
    inst = validate_instance(
        {
            "name": "notes",
            "providers": [{"id": "p", "kind": "club", "capacity_hours": 3, "competences": []}],
            "cases": [
                {"id": "a", "age": 10, "hours_per_week": 2, "current_provider": "p"},
                {"id": "b", "age": 10, "hours_per_week": 2, "current_provider": "p"},
                {"id": "c", "age": 10, "hours_per_week": 1, "current_provider": "gone"},
                {"id": "d", "age": 10, "hours_per_week": 1, "needs": ["autism"]},
                {
                    "id": "e",
                    "age": 10,
                    "hours_per_week": 1,
                    "current_provider": "p",
                    "status": "closing",
                },
            ],
        }
    )
    table = check_table(inst, {"a": "p"})
    notes = "\n".join(table["baseline_notes"])
    assert "the baseline breaks a rule: provider p: load 4 h/week exceeds capacity_hours 3" in notes
    assert "case c: current provider gone is not in the instance" in notes
    assert "no current provider (new cases) and are not in the baseline: d" in notes
    assert "1 closing case(s)" in notes
    assert table["baseline_cases"] == 2


def test_random_instances_recompute():
    checked = 0
    for seed in range(150):
        doc = random_instance_dict(RandomChooser(random.Random(seed)))
        for c in doc["cases"]:
            c["payer"] = random.Random(seed * 7 + len(c["id"])).choice(["kbh", "frb", "default"])
        inst = validate_instance(doc)
        result = solve(inst, PARAMS)
        if result.objective is None:
            continue
        placement = placement_of(result)
        check_table(inst, placement)
        check_table(inst, placement, baseline_closing=True)
        check_shares(inst, placement)
        checked += 1
    assert checked > 100


def test_result_workbook_has_the_budget_table():
    from solver.tables import result_workbook

    inst = load_instance(INSTANCES / "ballerup-2022.json")
    result = solve(inst, SolveParams(time_limit=30, workers=2, seed=0))
    table = budget_table(inst, {a["case"]: a["provider"] for a in result.assignments})
    sheet = result_workbook(inst, result)["budget table"]
    rows = {r[0]: r[1:] for r in sheet.iter_rows(min_row=2, values_only=True)}
    for r in table["by_kind"]:
        assert rows[r["label"]] == (r["baseline"], r["proposal"], r["change"])
    assert rows["saving"][1] == table["saving"]
    assert rows["total"][:2] == (table["total"]["baseline"], table["total"]["proposal"])
