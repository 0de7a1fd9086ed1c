"""`solver.explain` against exhaustive search, and the `explain` / `recommend` commands.

Every objective change is compared, exactly, with a brute force written here: all placements
of the active cases (each unassigned or at a provider it may be placed at) scored by the
independent checker (`solver.checker.evaluate`), the case forced where the alternative puts
it. The base allocations come from `solve` and are optimal.
"""

from __future__ import annotations

import itertools
import json
import random
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from bruteforce import RandomChooser, random_instance_dict

from solver import InstanceError, SolveParams, load_instance, solve, validate_instance
from solver.budget import case_cost_shares
from solver.checker import allowed, eligible, evaluate
from solver.explain import (
    _variant,
    explain,
    recommend,
    score_breakdown,
    with_new_case,
)
from solver.instance import Instance

ROOT = Path(__file__).resolve().parent.parent
TINY = ROOT / "instances" / "tiny.json"
PARAMS = SolveParams(time_limit=20, workers=2, seed=0)
SEEDS = range(120)


# --- brute force --------------------------------------------------------------------------


def feasible_placements(inst: Instance) -> list[tuple[dict[str, str], Fraction]]:
    """Every feasible placement of the active cases with its objective (checker)."""
    active = [c for c in inst.cases if c.active]
    options = []
    for case in active:
        if case.must_provider is not None:
            options.append([case.must_provider])
        else:
            options.append([None, *(p.id for p in inst.providers if allowed(case, p))])
    out = []
    for choice in itertools.product(*options):
        placement = {c.id: p for c, p in zip(active, choice, strict=True) if p is not None}
        ev = evaluate(inst, placement)
        if ev.feasible:
            out.append((placement, ev.objective))
    return out


def forced_optimum(
    inst: Instance, placements: list[tuple[dict[str, str], Fraction]], case_id: str, where: Any
) -> Fraction | None:
    """The least objective with the case at `where` (a provider id, or None: unassigned)."""
    case = inst.case(case_id)
    if case.must_provider is not None and where != case.must_provider:
        # Moving a lock is another instance: the lock at `where`.
        moved = _variant(inst, {case_id: where})
        return min((obj for _, obj in feasible_placements(moved)), default=None)
    values = [obj for placement, obj in placements if placement.get(case_id) == where]
    return min(values, default=None)


def random_docs() -> list[dict]:
    return [random_instance_dict(RandomChooser(random.Random(seed))) for seed in SEEDS]


# --- explain ------------------------------------------------------------------------------


def check_explanations(inst: Instance, top: int = 3) -> int:
    """Explain every active case of the solved instance; compare with brute force."""
    result = solve(inst, PARAMS)
    if result.objective is None:
        return 0
    assert result.status == "optimal"
    placements = feasible_placements(inst)
    best = min(obj for _, obj in placements)
    assert result.objective == best
    entries = explain(inst, result, time_limit=20, top=top, exact=True)
    where = f"instance: {inst.model_dump_json()}"
    checked = 0
    base = {a["case"]: a["provider"] for a in result.assignments}
    for entry in entries:
        case = inst.case(entry["case"])
        chosen = base.get(case.id)
        assert entry["provider"] == chosen
        # Every option the spec allows, its exact change by brute force.
        options: list[Any] = [p.id for p in inst.providers if p.id != chosen and eligible(case, p)]
        if case.must_provider is None and chosen is not None:
            options.append(None)
        truth = {}
        for option in options:
            value = forced_optimum(inst, placements, case.id, option)
            truth[option] = None if value is None else value - best
        assert entry["options_considered"] == len(options), where
        finite = sorted(v for v in truth.values() if v is not None)
        shown = [alt["objective_change"] for alt in entry["alternatives"]]
        assert len(shown) == min(top, len(options)), where
        # The best `top` options, in order (infeasible ones last).
        expected = (finite + [None] * len(options))[:top]
        assert shown == expected[: len(shown)], f"{case.id}: {shown} != {expected}; {where}"
        for alt in entry["alternatives"]:
            assert truth[alt["provider"]] == alt["objective_change"], where
            assert alt["proven"] is True
            if alt["objective_change"] is None:
                assert alt["status"] == "infeasible" and alt["infeasible"]
            checked += 1
    return checked


def test_tiny_alternatives_match_brute_force():
    inst = load_instance(TINY)
    assert check_explanations(inst) > 0
    entry = explain(inst, solve(inst, PARAMS), case_ids=["U01"], exact=True)[0]
    # By hand (instances/README.md): at the Family House U01 joins its sibling there and
    # loses its relation 3 to the club: +75 000 relation, -13 800 club hours.
    first = entry["alternatives"][0]
    assert first["provider"] == "familiehuset"
    assert first["objective_change"] == 61200
    assert first["moves"] == [{"case": "U02", "from": "klub-syd", "to": "familiehuset"}]
    assert first["changes"] == {"cost": -13800, "relation": 75000}


def test_random_alternatives_match_brute_force():
    checked = sum(check_explanations(validate_instance(doc)) for doc in random_docs())
    assert checked > 200


def test_all_options_when_top_is_large():
    """With top=99 every option is listed: each one's change equals brute force."""
    inst = validate_instance(random_docs()[3])
    check_explanations(inst, top=99)


def test_eligibility_rules_match_checker():
    for doc in [json.loads(TINY.read_text()), *random_docs()[:20]]:
        inst = validate_instance(doc)
        result = solve(inst, PARAMS)
        if result.objective is None:
            continue
        for entry in explain(inst, result, exact=True):
            case = inst.case(entry["case"])
            rows = {row["provider"]: row for row in entry["eligibility"]}
            assert list(rows) == [p.id for p in inst.providers]
            for p in inst.providers:
                row = rows[p.id]
                assert row["eligible"] == eligible(case, p), (case.id, p.id, row)
                assert row["locked"] == (case.must_provider == p.id)
                assert bool(row["blocking"]) == (not row["eligible"])
                assert set(row["blocking"]) <= set(row["rules"])


def test_tiny_rules_in_words():
    inst = load_instance(TINY)
    entries = {e["case"]: e for e in explain(inst, solve(inst, PARAMS))}
    u03 = {r["provider"]: r for r in entries["U03"]["eligibility"]}
    assert u03["klub-syd"]["blocking"] == [
        'lacks competence "autism"',
        "does not serve district Nord",
    ]
    assert 'has competence "autism"' in u03["familiehuset"]["rules"]
    assert "known adult here (relation 2)" in u03["familiehuset"]["rules"]
    u01 = {r["provider"]: r for r in entries["U01"]["eligibility"]}
    assert "serves age 14 (10-18)" in u01["klub-syd"]["rules"]
    u04 = {r["provider"]: r for r in entries["U04"]["eligibility"]}
    assert "offer: 95 000 DKK a year for 4 h/week" in u04["ekstern-a"]["rules"]
    assert entries["U04"]["continuity"] == {"current_provider": "ekstern-a", "outcome": "kept"}
    assert entries["U01"]["continuity"]["outcome"] == "moved"
    assert entries["U01"]["relation"] == {"level": 3, "strongest": 3, "strongest_at": ["klub-syd"]}
    assert entries["U01"]["terms"]["continuity"] == 15000
    assert entries["U04"]["terms"]["kind"] == 5000
    family = entries["U02"]["terms"]["family"]
    assert family["members"] == {"U01": "klub-syd", "U02": "klub-syd"}
    assert family["split_penalty"] == 0


def test_cost_share_and_terms_sum_to_the_objective():
    for doc in [json.loads(TINY.read_text()), *random_docs()]:
        inst = validate_instance(doc)
        result = solve(inst, PARAMS)
        if result.objective is None:
            continue
        placement = {a["case"]: a["provider"] for a in result.assignments}
        ev = evaluate(inst, placement)
        score = score_breakdown(inst, result, exact=True)
        assert score["objective"] == ev.objective
        assert score["terms"] == {"cost": ev.total_cost, **ev.penalties}
        per_case = sum((row["total"] for row in score["cases"]), Fraction(0))
        families = sum((f["split_penalty"] for f in score["families"]), Fraction(0))
        assert per_case + families + score["not_attributed"] == ev.objective
        for name in ("relation", "continuity", "kind", "unassigned"):
            assert sum((row[name] for row in score["cases"]), Fraction(0)) == ev.penalties[name]
            assert score["given_up"][name]["total"] == ev.penalties[name]
        assert families == ev.penalties["family"]
        shares = case_cost_shares(inst, placement)
        for entry in explain(inst, result, exact=True, top=1):
            assert entry["cost_share"] == shares[entry["case"]]


def test_not_optimal_base_is_said_and_nothing_is_proven():
    inst = load_instance(TINY)
    doc = json.loads(json.dumps(solve(inst, PARAMS).to_dict()))
    doc["status"] = "feasible"
    entries = explain(inst, doc)
    assert all("not proven optimal" in e["note"] for e in entries)
    assert not any(a["proven"] for e in entries for a in e["alternatives"])


def test_unknown_case_and_broken_allocation_are_refused():
    inst = load_instance(TINY)
    result = solve(inst, PARAMS)
    with pytest.raises(InstanceError, match="--case: no active case U999 in the instance"):
        explain(inst, result, case_ids=["U999"])
    with pytest.raises(InstanceError, match="no active case U05"):
        explain(inst, result, case_ids=["U05"])  # closing
    doc = json.loads(json.dumps(result.to_dict()))
    doc["assignments"] = [a for a in doc["assignments"] if a["case"] != "U03"]
    doc["assignments"].append({"case": "U03", "provider": "klub-syd"})
    with pytest.raises(InstanceError, match="allocation: case U03: not eligible at provider"):
        explain(inst, doc)
    doc["status"] = "infeasible"
    with pytest.raises(InstanceError, match="status is 'infeasible'"):
        explain(inst, doc)


def test_ballerup_explain_is_complete_and_proven():
    """The whole Ballerup instance: every alternative proven (measured: about 10 s)."""
    inst = load_instance(ROOT / "instances" / "ballerup-2022.json")
    result = solve(inst, PARAMS)
    entries = explain(inst, result, workers=2)
    assert len(entries) == 67
    assert sum(e["options_considered"] for e in entries) == 348
    assert all(a["proven"] for e in entries for a in e["alternatives"])
    by_case = {e["case"]: e for e in entries}
    # Moving B001 off its club: the cheapest way is to reopen the corps (measured with a
    # separate 60 s solve of the instance with B001 locked at korps).
    first = by_case["B001"]["alternatives"][0]
    assert (first["provider"], first["objective_change"]) == ("korps", 5325482.5)


# --- recommend ----------------------------------------------------------------------------

NEW_CASES = [
    {"id": "N1", "age": 15, "district": "Syd", "hours_per_week": 3},
    {"id": "N2", "age": 12, "district": "Syd", "hours_per_week": 2, "relations": {"klub-syd": 2}},
    {"id": "N3", "age": 16, "hours_per_week": 9, "needs": ["autism"], "family": "F1"},
    {"id": "N4", "age": 17, "hours_per_week": 4, "needs": ["crime"], "current_provider": "korps"},
]


def check_recommend(inst: Instance, new_case: dict, repair: bool) -> int:
    result = solve(inst, PARAMS)
    if result.objective is None:
        return 0
    base = {a["case"]: a["provider"] for a in result.assignments}
    base_obj = evaluate(inst, base).objective
    rec = recommend(inst, result, new_case, repair=repair, exact=True)
    grown, case = with_new_case(inst, new_case)
    if case.must_provider is not None:
        options: list[Any] = [case.must_provider]
    else:
        options = [p.id for p in grown.providers if eligible(case, p)] + [None]
    placements = feasible_placements(grown) if repair else []
    truth = {}
    for option in options:
        if repair:
            value = forced_optimum(grown, placements, case.id, option)
        else:
            placement = dict(base)
            if option is not None:
                placement[case.id] = option
            ev = evaluate(grown, placement)
            value = ev.objective if ev.feasible else None
        truth[option] = None if value is None else value - base_obj
    listed = {o["provider"]: o["increase"] for o in rec["options"]}
    listed.update({x["provider"]: None for x in rec["infeasible"]})
    where = f"{new_case} repair={repair}; {inst.model_dump_json()}"
    assert listed == truth, where
    increases = [o["increase"] for o in rec["options"]]
    assert increases == sorted(increases)
    for o in rec["options"]:
        assert o["proven"]
        if not repair:
            assert o["moves"] == []
    ineligible = {x["provider"] for x in rec["ineligible"]}
    assert ineligible == {
        p.id for p in grown.providers if not eligible(case, p) and p.id != case.must_provider
    }
    return len(truth)


@pytest.mark.parametrize("repair", [False, True])
def test_tiny_recommend_matches_brute_force(repair):
    inst = load_instance(TINY)
    assert sum(check_recommend(inst, case, repair) for case in NEW_CASES) >= 10


@pytest.mark.parametrize("repair", [False, True])
def test_random_recommend_matches_brute_force(repair):
    checked = 0
    for seed, doc in enumerate(random_docs()[:25]):
        inst = validate_instance(doc)
        if sum(c.active for c in inst.cases) > 4:
            continue  # keeps the brute force with the new case small
        rng = random.Random(seed)
        new = {"id": "new", "age": rng.randint(5, 25), "hours_per_week": rng.choice([1, 2, 4])}
        if rng.random() < 0.5:
            new["district"] = rng.choice(["north", "south"])
        if rng.random() < 0.3:
            new["relations"] = {inst.providers[0].id: 2}
        if rng.random() < 0.3:
            new["family"] = "f1"
        if rng.random() < 0.3:
            new["current_provider"] = rng.choice([p.id for p in inst.providers])
        if rng.random() < 0.1:
            new["must_provider"] = rng.choice([p.id for p in inst.providers])
        checked += check_recommend(inst, new, repair)
    assert checked > 20


def test_tiny_recommend_moves_with_repair():
    inst = load_instance(TINY)
    result = solve(inst, PARAMS)
    rec = recommend(inst, result, NEW_CASES[0], repair=True, exact=True)
    club = next(o for o in rec["options"] if o["provider"] == "klub-syd")
    # N1 takes U02's place at the club; U02 moves to the Family House (paid anyway).
    assert club["increase"] == 33800
    assert club["moves"] == [{"case": "U02", "from": "klub-syd", "to": "familiehuset"}]
    pinned = recommend(inst, result, NEW_CASES[0], repair=False, exact=True)
    club = next(o for o in pinned["options"] if o["provider"] == "klub-syd")
    assert club["increase"] == 300 * 46 * 3  # 3 more hours above the included ones
    unassigned = next(o for o in pinned["options"] if o["provider"] is None)
    assert unassigned["increase"] == 10_000_000


def test_recommend_infeasible_candidates_have_reasons():
    inst = load_instance(TINY)
    big = {"id": "N9", "age": 15, "hours_per_week": 30, "needs": ["autism"]}
    rec = recommend(inst, solve(inst, PARAMS), big)
    reasons = {x["provider"]: x["reason"] for x in rec["infeasible"]}
    assert "familiehuset has 12 h/week" in reasons["familiehuset"]
    assert "budget 'external purchase'" in reasons["ekstern-a"]
    assert [o["provider"] for o in rec["options"]] == ["korps", None]


@pytest.mark.parametrize(
    ("new_case", "message"),
    [
        ({"id": "N1", "age": 31, "hours_per_week": 2}, "case N1: age must be <= 30"),
        ({"id": "N1", "age": 10, "hours_per_week": 0}, "case N1: hours_per_week must be > 0"),
        ({"id": "N1", "age": 10, "hours_per_week": 2, "must_providr": "korps"}, "must_providr"),
        ({"id": "N1", "age": 10, "hours_per_week": 2, "must_provider": "x"}, "must_provider"),
        ({"id": "U01", "age": 10, "hours_per_week": 2}, "case U01: id is used by another case"),
        ({"id": "N1", "age": 10, "hours_per_week": 2, "status": "closing"}, "must be active"),
        ({"age": 10, "hours_per_week": 2}, "id is required"),
    ],
)
def test_recommend_refuses_bad_cases(new_case, message):
    inst = load_instance(TINY)
    with pytest.raises(InstanceError, match=message):
        recommend(inst, solve(inst, PARAMS), new_case)


# --- command line -------------------------------------------------------------------------


def run_cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "cli", *map(str, args)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


@pytest.fixture(scope="module")
def tiny_allocation(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("explain") / "tiny-allocation.json"
    proc = run_cli("solve", TINY, "--out", path, "--quiet")
    assert proc.returncode == 0, proc.stderr
    return path


def test_cli_explain(tiny_allocation, tmp_path):
    out = tmp_path / "explain.json"
    proc = run_cli("explain", TINY, tiny_allocation, "--json", out)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    text = proc.stdout
    assert "objective 798 800 DKK a year (optimal)" in text
    assert "U01 -> klub-syd" in text
    block = text[text.index("U01 -> klub-syd") :].split("\n\n")[0]
    assert "familiehuset" in block and "+61 200" in block and "+133 300" in block
    assert "(not proven)" not in text
    doc = json.loads(out.read_text())
    assert [c["case"] for c in doc["cases"]] == ["U01", "U02", "U03", "U04"]
    assert doc["cases"][0]["alternatives"][0]["objective_change"] == 61200


def test_cli_explain_one_case(tiny_allocation):
    proc = run_cli("explain", TINY, tiny_allocation, "--case", "U04", "--time-limit", "5")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("U04 -> ekstern-a")
    assert "korps" in proc.stdout and "+515 000" in proc.stdout
    assert "U01 ->" not in proc.stdout


def test_cli_explain_unknown_case(tiny_allocation):
    proc = run_cli("explain", TINY, tiny_allocation, "--case", "U999")
    assert proc.returncode == 2
    assert proc.stderr == "error: --case: no active case U999 in the instance\n"
    assert proc.stdout == ""


def test_cli_recommend(tiny_allocation, tmp_path):
    case = tmp_path / "case.json"
    case.write_text(json.dumps(NEW_CASES[0]))
    out = tmp_path / "rec.json"
    proc = run_cli(
        "recommend", TINY, "--case", case, "--allocation", tiny_allocation, "--json", out
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    ranked = [line.split()[1] for line in lines if line[:4].strip().rstrip(".").isdigit()]
    assert ranked == ["familiehuset", "klub-syd", "ekstern-a", "korps", "leave"]
    assert "+41 400" in proc.stdout
    doc = json.loads(out.read_text())
    assert doc["format"] == "recommendation/1"
    assert doc["options"][1]["increase"] == 41400


def test_cli_recommend_repair_solves_first(tmp_path):
    case = tmp_path / "case.json"
    case.write_text(json.dumps({"case": NEW_CASES[0], "offers": []}))
    proc = run_cli("recommend", TINY, "--case", case, "--repair")
    assert proc.returncode == 0, proc.stderr
    assert "other cases may move" in proc.stdout
    assert "moves: U02 klub-syd -> familiehuset" in proc.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"id": "N1", "age": 31, "hours_per_week": 2}, "error: case N1: age must be <= 30"),
        ([1, 2], "a case must be a JSON object"),
        ({"case": {"id": "N1", "age": 3, "hours_per_week": 2}, "offer": []}, "offer"),
    ],
)
def test_cli_recommend_bad_case(tiny_allocation, tmp_path, content, message):
    case = tmp_path / "case.json"
    case.write_text(json.dumps(content))
    proc = run_cli("recommend", TINY, "--case", case, "--allocation", tiny_allocation)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert all(line.startswith("error: ") for line in proc.stderr.splitlines())
