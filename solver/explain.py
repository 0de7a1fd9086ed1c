"""Why each case is where the proposal puts it, and what adding a case would cost.

- `explain(instance, result_or_doc)`: per active case, every provider's eligibility in
  plain words, the relation and continuity at the chosen provider, the case's cost share
  (`solver.budget.case_cost_shares`), its own penalty terms, and its best alternatives, each
  with the exact change in objective: the whole instance is re-solved with the case locked
  at the alternative (`must_provider`, offered only where the case is eligible) or kept
  unassigned (every provider forbidden), and the change is that optimum minus the base
  objective. It is `proven` when both the base and the re-solve are proven optimal.
- `score_breakdown(instance, result_or_doc)`: each objective term's total and what each
  case (and each family) contributes to it.
- `recommend(instance, base, new_case)`: for each provider eligible for a new case, the
  exact increase in objective when the case is added there, with every other case kept
  where it is (`repair=False`) or free to move (`repair=True`), plus leaving it unassigned.

Every figure is an exact `Fraction` internally; the returned documents round money to the
øre unless `exact=True`. Base figures are recomputed by the independent checker.
"""

from __future__ import annotations

import itertools
import math
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np
from ortools.sat.python import cp_model

from solver.arrays import NO, derive
from solver.budget import case_cost_shares, load, placement_of
from solver.checker import Evaluation, evaluate, ineligibility
from solver.conflicts import lock_conflicts
from solver.errors import InstanceError
from solver.heuristic import evaluate as evaluate_units
from solver.instance import Case, Instance, Provider
from solver.io import validate_instance
from solver.model import build_model
from solver.reasons import no_provider_reason
from solver.result import Result, money

PENALTY_TERMS = ("relation", "continuity", "family", "kind", "unassigned")
TERMS = ("cost", *PENALTY_TERMS)
UNASSIGNED = "unassigned"


# --- the base allocation -----------------------------------------------------------------


@dataclass
class Base:
    """The allocation being explained, recomputed by the checker."""

    placement: dict[str, str]
    status: str
    evaluation: Evaluation
    reasons: dict[str, str]  # unassigned case -> reason given by the solver

    @property
    def objective(self) -> Fraction:
        return self.evaluation.objective

    @property
    def optimal(self) -> bool:
        return self.status == "optimal"


def base_of(instance: Instance, result_or_doc: Result | Mapping[str, Any]) -> Base:
    """The placement and status of a `Result` or allocation/1 document, checked."""
    if isinstance(result_or_doc, Mapping):
        status = result_or_doc.get("status")
        unassigned = result_or_doc.get("unassigned") or []
    else:
        status = result_or_doc.status
        unassigned = result_or_doc.unassigned
    if status not in ("optimal", "feasible"):
        raise InstanceError([f"allocation: status is {status!r}: there is no allocation to use"])
    try:
        placement = placement_of(result_or_doc)
    except (KeyError, TypeError):
        raise InstanceError(["allocation: assignments must list case and provider"]) from None
    ev = evaluate(instance, placement)
    if ev.violations:
        raise InstanceError([f"allocation: {v}" for v in ev.violations])
    reasons = {
        str(u.get("case")): str(u.get("reason", "")) for u in unassigned if isinstance(u, Mapping)
    }
    return Base(placement=placement, status=str(status), evaluation=ev, reasons=reasons)


# --- re-solving with cases forced -------------------------------------------------------


@dataclass
class Outcome:
    """The best allocation of an instance with some cases forced, as far as it was solved."""

    status: str  # optimal, feasible, infeasible, unknown
    placement: dict[str, str] | None = None
    objective: Fraction | None = None
    bound: Fraction | None = None  # proven lower bound on the objective
    terms: dict[str, Fraction] | None = None  # cost and the five penalties
    conflicts: list[str] = field(default_factory=list)


class Resolver:
    """Exact re-solves of one instance with cases forced to a provider or left unassigned.

    Forcing case `j` to provider `p` (a pair the instance allows) is the same as setting
    `must_provider` to `p`; forcing it to None the same as forbidding every provider. The
    model is derived and built once (`solver.model.build_model`) and each re-solve adds its
    constraints to a copy. Three exact reformulations keep the searches short; none changes
    an optimum:

    1. Optional providers with a fixed cost (at most `MAX_SPLIT` of them) are searched open
       and closed separately; the better of the two is the optimum.
    2. First every case that can be placed is placed (the cases without a pair, or forced
       out, are the `m - 1` that must stay unassigned): optimum `V`.
    3. `V` is the optimum when no allocation with `m` or more unassigned cases costs less.
       Every forced allocation is an allocation of the instance itself, so one search of
       the instance, "at least `m` unassigned and objective below `T`", settles that for
       every re-solve with `V <= T` at once (`T` the largest `V` of the batch). Where it
       does not settle it, the plain model is searched.

    One CP-SAT worker per search (deterministic for a seed); `threads` re-solves of a batch
    run side by side.
    """

    MAX_SPLIT = 3

    def __init__(
        self, instance: Instance, hint: Mapping[str, str] | None = None, seed: int = 0
    ) -> None:
        self.instance = instance
        self.a = a = derive(instance)
        self.am = build_model(a)
        self.seed = seed
        self.first = np.searchsorted(a.pair_case, np.arange(a.n_cases + 1))
        self.case_index = {c: j for j, c in enumerate(a.case_ids)}
        self.provider_index = {p: i for i, p in enumerate(a.provider_ids)}
        self.x_index = list(range(self.am.n_pairs))
        self.hint = np.full(a.n_cases, NO, int)
        for case_id, pid in (hint or {}).items():
            if case_id in self.case_index and pid in self.provider_index:
                self.hint[self.case_index[case_id]] = self.provider_index[pid]
        self.constants = self.am.constant
        self.opened = [var for var, _ in self.am.opened]
        self.without_pairs = sum(1 for j in range(a.n_cases) if not len(self.pairs(j)))
        self._lock = threading.Lock()
        self._out_one: list[int | None] | None = None
        self._out_case: list[int] = []

    def pairs(self, j: int) -> range:
        return range(int(self.first[j]), int(self.first[j + 1]))

    def pair(self, case_id: str, provider_id: str) -> int | None:
        j, i = self.case_index[case_id], self.provider_index[provider_id]
        for k in self.pairs(j):
            if self.a.pair_provider[k] == i:
                return k
        return None

    def run(self, forced: Mapping[str, str | None], time_limit: float) -> Outcome:
        """The optimum with `forced` cases placed (provider id) or unassigned (None)."""
        return self.run_many([forced], time_limit)[0]

    def run_many(
        self, batch: Sequence[Mapping[str, str | None]], time_limit: float, threads: int = 1
    ) -> list[Outcome]:
        """`run` for each forcing of the batch; each gets up to `time_limit` seconds."""
        jobs = [self._job(forced) for forced in batch]
        starts = [time.perf_counter() for _ in jobs]

        def first(n: int) -> _Search:
            starts[n] = time.perf_counter()
            job = jobs[n]
            return self._search(job, True, None, starts[n] + time_limit)

        placed = _parallel(first, range(len(jobs)), threads)
        # One search of the instance per number of unassigned cases `m`.
        targets: dict[int, int] = {}
        for job, res in zip(jobs, placed, strict=True):
            if res.status == "optimal":
                targets[job.m] = max(targets.get(job.m, res.objective_units), res.objective_units)
        floors = {
            m: self._floor(m, target, time.perf_counter() + time_limit)
            for m, target in sorted(targets.items())
        }

        def finish(n: int) -> Outcome:
            job, res = jobs[n], placed[n]
            floor = floors.get(job.m)
            if res.status == "optimal" and floor is not None and res.objective_units <= floor:
                return self._outcome(res, batch[n])
            deadline = max(starts[n] + time_limit, time.perf_counter() + time_limit / 4)
            if not job.fix_zero and res.status in ("optimal", "infeasible"):
                # One case more unassigned, split by which case it is.
                best = self._one_more_out(job, res if res.status == "optimal" else None, deadline)
                if best is not None and best.status == "optimal":
                    more = self._floor(job.m + 1, best.objective_units, deadline)
                    if more is not None and best.objective_units <= more:
                        return self._outcome(best, batch[n])
            start = res.assign if res.assign is not None else job.hint
            plain = self._search(job._replace(hint=start), False, None, deadline)
            if plain.status in ("optimal", "infeasible"):
                return self._outcome(plain, batch[n])
            return self._outcome(_merge(res, plain, floor), batch[n])

        return _parallel(finish, range(len(jobs)), threads)

    def _job(self, forced: Mapping[str, str | None]) -> _Job:
        a = self.a
        fix_one: list[int] = []
        fix_zero: list[int] = []
        out_cases: set[int] = set()
        hint = self.hint.copy()
        for case_id, pid in forced.items():
            j = self.case_index[case_id]
            if pid is None:
                fix_zero += list(self.pairs(j))
                out_cases.add(j)
                hint[j] = NO
            else:
                k = self.pair(case_id, pid)
                if k is None:
                    raise ValueError(f"case {case_id} cannot be placed at {pid}")
                fix_one.append(k)
                hint[j] = self.provider_index[pid]
        placeable = tuple(j for j in range(a.n_cases) if len(self.pairs(j)) and j not in out_cases)
        return _Job(
            tuple(fix_one), tuple(fix_zero), placeable, a.n_cases - len(placeable) + 1, hint
        )

    FLOOR_TRY = 1.0  # seconds for the direct search of a floor before splitting it

    def _out_ones(self, deadline: float) -> list[int | None]:
        """Per case that can be placed: the least objective with it unassigned and every other
        case that can be placed placed (money units; None where unknown). Computed once.
        A case without pairs or with a lock is left out (it is never the extra case)."""
        with self._lock:
            if self._out_one is None:
                a = self.a
                placeable = [j for j in range(a.n_cases) if len(self.pairs(j))]
                values: list[int | None] = []
                for j in placeable:
                    if a.case_lock[j] != NO:
                        continue
                    hint = self.hint.copy()
                    hint[j] = NO
                    job = _Job(
                        (), tuple(self.pairs(j)), tuple(i for i in placeable if i != j), 0, hint
                    )
                    res = self._search(job, True, None, deadline)
                    if res.status == "infeasible":
                        values.append(_NEVER)
                    elif res.status == "optimal":
                        values.append(res.objective_units)
                    else:
                        values.append(res.bound_units)
                    self._out_case.append(j)
                self._out_one = values
            return self._out_one

    def _one_more_out(self, job: _Job, best: _Search | None, deadline: float) -> _Search | None:
        """The best allocation of the job with at most one more case unassigned.

        Exact (status optimal) when every search finished. Cases are tried in the order of
        `_out_ones`, a lower bound for each (the job is the instance with more forced), and
        the search stops when that bound reaches the best found.
        """
        lower = self._out_ones(deadline)
        order = sorted(
            (lb if lb is not None else -1, j)
            for lb, j in zip(lower, self._out_case, strict=True)
            if j in job.placeable
        )
        complete = True
        for lb, j in order:
            if best is not None and lb >= best.objective_units:
                break
            hint = np.asarray(job.hint).copy()
            hint[j] = NO
            sub = job._replace(
                fix_zero=tuple(self.pairs(j)),
                placeable=tuple(i for i in job.placeable if i != j),
                hint=hint,
            )
            res = self._search(sub, True, None, deadline)
            if res.status == "optimal":
                if best is None or res.objective_units < best.objective_units:
                    best = res
            elif res.status != "infeasible":
                complete = False
        if best is None or not complete:
            return None
        return _Search("optimal", best.assign, best.objective_units, best.objective_units)

    def _floor(self, m: int, target: int, deadline: float) -> int | None:
        """A lower bound (money units) on allocations with at least `m` unassigned cases.

        It is `target` when a search proves that none costs less than `target`, else the
        least such allocation's objective or a proven bound below it (None: none known).
        The direct search can be slow to prove; for one unassigned case more than must be,
        the allocations are split by which case it is (each case out, all others placed)
        and the rest (yet one more unassigned) searched directly.
        """
        a = self.a
        if m > a.n_cases:
            return target  # no allocation has that many unassigned cases
        direct = self._floor_search(
            _Job((), (), (), m, self.hint), False, target, deadline, m, self.FLOOR_TRY
        )
        if direct is not None and direct >= target or m != self.without_pairs + 1:
            return direct
        parts = [self._floor(m + 1, target, deadline)]
        parts += self._out_ones(deadline)
        if any(part is None for part in parts):
            return direct
        split = min(parts)
        return split if direct is None else max(split, direct)

    def _floor_search(
        self,
        job: _Job,
        place_all: bool,
        target: int,
        deadline: float,
        at_least_out: int | None,
        seconds: float | None,
    ) -> int | None:
        """The least objective below `target` of the job's allocations: `target` if none."""
        if seconds is not None:
            deadline = min(deadline, time.perf_counter() + seconds)
        res = self._search(job, place_all, target, deadline, at_least_out)
        if res.status == "infeasible":
            return target
        if res.status == "optimal":
            return res.objective_units
        return None if res.bound_units is None else min(res.bound_units, target)

    def _search(
        self,
        job: _Job,
        place_all: bool,
        cutoff: int | None,
        deadline: float,
        at_least_out: int | None = None,
    ) -> _Search:
        """Min over the open/closed patterns of the optional providers."""
        a, base = self.a, self.am.model
        split = self.opened if len(self.opened) <= self.MAX_SPLIT else []
        chosen = (np.asarray(job.hint)[a.pair_case] == a.pair_provider).astype(int).tolist()
        results = []
        for pattern in itertools.product((0, 1), repeat=len(split)):
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                results.append(_Search("unknown", None, None, None))
                continue
            m = base.clone()
            xs = [m.get_bool_var_from_proto_index(i) for i in self.x_index]
            for k in job.fix_one:
                m.add(xs[k] == 1)
            for k in job.fix_zero:
                m.add(xs[k] == 0)
            for index, value in zip(split, pattern, strict=True):
                m.add(m.get_bool_var_from_proto_index(index) == value)
            if place_all:
                for j in job.placeable:
                    m.add_exactly_one(xs[k] for k in self.pairs(j))
            if at_least_out is not None:
                m.add(cp_model.LinearExpr.sum(xs) <= a.n_cases - at_least_out)
            if cutoff is not None:
                m.add(self.am.objective_expr() + self.constants <= cutoff - 1)
            m.clear_hints()
            for var, value in zip(xs, chosen, strict=True):
                m.add_hint(var, value)
            solver = cp_model.CpSolver()
            solver.parameters.max_time_in_seconds = remaining
            solver.parameters.num_workers = 1
            solver.parameters.random_seed = self.seed
            code = solver.solve(m)
            if code == cp_model.INFEASIBLE:
                results.append(_Search("infeasible", None, None, None))
                continue
            bound = solver.best_objective_bound
            bound_units = math.ceil(bound - 1e-6) + self.constants if math.isfinite(bound) else None
            if code not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
                results.append(_Search("unknown", None, None, bound_units))
                continue
            values = np.array(solver.response_proto.solution, dtype=np.int64)[self.x_index]
            assign = np.full(a.n_cases, NO, int)
            picked = values.astype(bool)
            assign[a.pair_case[picked]] = a.pair_provider[picked]
            _, terms = evaluate_units(a, assign)
            status = "optimal" if code == cp_model.OPTIMAL else "feasible"
            results.append(_Search(status, assign, sum(terms.values()), bound_units))
        return _combine(results)

    def _outcome(self, search: _Search, forced: Mapping[str, str | None]) -> Outcome:
        a = self.a
        if search.status == "infeasible":
            variant = _variant(self.instance, dict(forced))
            return Outcome("infeasible", conflicts=lock_conflicts(derive(variant)))
        if search.assign is None:
            bound = a.money(search.bound_units) if search.bound_units is not None else None
            return Outcome("unknown", bound=bound)
        _, terms = evaluate_units(a, search.assign)
        objective = a.money(sum(terms.values()))
        if search.status == "optimal":
            bound = objective
        elif search.bound_units is not None:
            bound = min(objective, a.money(search.bound_units))
        else:
            bound = None
        placement = {
            a.case_ids[j]: a.provider_ids[int(i)]
            for j, i in enumerate(search.assign.tolist())
            if i != NO
        }
        return Outcome(
            status=search.status,
            placement=placement,
            objective=objective,
            bound=bound,
            terms={name: a.money(v) for name, v in terms.items()},
        )


_NEVER = 1 << 62  # the objective of an allocation that does not exist


class _Job(NamedTuple):
    fix_one: tuple[int, ...]
    fix_zero: tuple[int, ...]
    placeable: tuple[int, ...]
    m: int  # allocations with this many unassigned cases or more are handled by a floor
    hint: Any


def _merge(placed: _Search, plain: _Search, floor: int | None) -> _Search:
    """Out of time: the better allocation found, and a bound valid for both searches.

    `placed` searched the allocations that place every case they can (below `m`
    unassigned); `floor` bounds the others; `plain` searched all of them.
    """
    best = min(
        (r for r in (placed, plain) if r.assign is not None),
        key=lambda r: r.objective_units,
        default=None,
    )
    bound = plain.bound_units
    placed_bound = placed.objective_units if placed.status == "optimal" else placed.bound_units
    if placed.status == "infeasible":
        placed_bound = floor
    elif placed_bound is not None and floor is not None:
        placed_bound = min(placed_bound, floor)
    else:
        placed_bound = None
    if placed_bound is not None:
        bound = placed_bound if bound is None else max(bound, placed_bound)
    if best is None:
        return _Search("unknown", None, None, bound)
    return _Search("feasible", best.assign, best.objective_units, bound)


def _parallel(fn: Any, items: Iterable[Any], threads: int) -> list[Any]:
    """`[fn(x) for x in items]`, `threads` at a time (CP-SAT releases the GIL while it works)."""
    items = list(items)
    if threads <= 1 or len(items) < 2:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(fn, items))


@dataclass
class _Search:
    status: str
    assign: Any
    objective_units: int | None
    bound_units: int | None


def _combine(results: list[_Search]) -> _Search:
    """The best of searches over a partition of the allocations."""
    found = [r for r in results if r.assign is not None]
    best = min(found, key=lambda r: r.objective_units, default=None)
    if all(r.status == "infeasible" for r in results):
        return _Search("infeasible", None, None, None)
    if all(r.status in ("optimal", "infeasible") for r in results):
        assert best is not None
        return _Search("optimal", best.assign, best.objective_units, best.objective_units)
    bounds = []
    for r in results:
        if r.status == "infeasible":
            continue
        if r.status == "optimal":
            bounds.append(r.objective_units)
        elif r.bound_units is None:
            bounds = [None]
            break
        else:
            bounds.append(r.bound_units)
    bound = None if None in bounds else min(bounds)
    if best is None:
        return _Search("unknown", None, None, bound)
    return _Search("feasible", best.assign, best.objective_units, bound)


def _pin(case: Case, provider_id: str | None, all_ids: tuple[str, ...]) -> Case:
    """The case locked at `provider_id`, or (None) kept unassigned: every provider forbidden."""
    if provider_id is not None:
        return case.model_copy(update={"must_provider": provider_id})
    return case.model_copy(update={"must_provider": None, "forbidden_providers": all_ids})


def _variant(instance: Instance, pins: Mapping[str, str | None]) -> Instance:
    """The instance with the pinned cases locked (`must_provider`) or kept unassigned."""
    all_ids = tuple(p.id for p in instance.providers)
    cases = tuple(_pin(c, pins[c.id], all_ids) if c.id in pins else c for c in instance.cases)
    return instance.model_copy(update={"cases": cases})


def _moves(
    before: Mapping[str, str], after: Mapping[str, str], skip: Iterable[str], order: list[str]
) -> list[dict[str, str | None]]:
    skipped = set(skip)
    return [
        {"case": j, "from": before.get(j), "to": after.get(j)}
        for j in order
        if j not in skipped and before.get(j) != after.get(j)
    ]


def _term_changes(base: Evaluation, terms: Mapping[str, Fraction]) -> dict[str, Fraction]:
    out = {"cost": terms["cost"] - base.total_cost}
    for name in PENALTY_TERMS:
        out[name] = terms[name] - base.penalties[name]
    return {k: v for k, v in out.items() if v}


# --- plain-language rules ----------------------------------------------------------------


def _q(text: str) -> str:
    return f'"{text}"'


def dkk(value: Fraction | Decimal | int | float | None) -> str:
    """Money for people: `1 503 062.50`, `13 800`."""
    if value is None:
        return "-"
    v = Fraction(value) if not isinstance(value, float) else Fraction(str(value))
    if v.denominator == 1:
        text = f"{v.numerator:,}"
    else:
        text = f"{float(v):,.2f}"
    return text.replace(",", " ")


def _hours(value: Fraction | Decimal) -> str:
    return f"{float(value):g}"


def _age_range(p: Provider) -> str:
    if p.min_age is not None and p.max_age is not None:
        return f"{p.min_age}-{p.max_age}"
    if p.min_age is not None:
        return f"from {p.min_age}"
    return f"up to {p.max_age}"


def provider_rules(
    instance: Instance, case: Case, provider: Provider
) -> tuple[bool, list[str], list[str]]:
    """(eligible, every rule result in words, the rules that make the pair ineligible).

    The rules are the spec's eligibility rules in its order (needs, age, district,
    forbidden, accepts_new), followed by facts that do not decide eligibility: the offer or
    hourly price, a known adult, the current provider, a lock.
    """
    rules: list[str] = []
    fails: list[str] = []

    def rule(ok: bool, yes: str, no: str) -> None:
        rules.append(yes if ok else no)
        if not ok:
            fails.append(no)

    for need in case.needs:
        has = need in provider.competences
        rule(has, f"has competence {_q(need)}", f"lacks competence {_q(need)}")
    if provider.min_age is not None or provider.max_age is not None:
        ok = (provider.min_age is None or case.age >= provider.min_age) and (
            provider.max_age is None or case.age <= provider.max_age
        )
        span = _age_range(provider)
        rule(ok, f"serves age {case.age} ({span})", f"does not serve age {case.age} ({span})")
    if provider.districts:
        if case.district is None:
            listed = ", ".join(provider.districts)
            rule(False, "", f"serves only districts {listed}; the case has no district")
        else:
            rule(
                case.district in provider.districts,
                f"serves district {case.district}",
                f"does not serve district {case.district}",
            )
    if provider.id in case.forbidden_providers:
        rule(False, "", "forbidden for this case")
    if not provider.accepts_new:
        rule(
            case.current_provider == provider.id,
            "takes no new cases, but holds this case today",
            "takes no new cases",
        )

    if not rules:
        rules.append("no need, age or district rule applies")
    offer = next(
        (o for o in instance.offers if o.case == case.id and o.provider == provider.id), None
    )
    hours = load(instance, case, provider.id)
    if offer is not None:
        rules.append(f"offer: {dkk(offer.annual_cost)} DKK a year for {_hours(hours)} h/week")
    elif provider.hourly_rate:
        above = f" above {_hours(provider.included_hours)} included h/week" * bool(
            provider.included_hours
        )
        rules.append(f"{dkk(provider.hourly_rate)} DKK an hour{above}; {_hours(hours)} h/week")
    if provider.fixed_cost:
        paid = "paid only if it has cases" if provider.optional else "paid anyway"
        rules.append(f"fixed cost {dkk(provider.fixed_cost)} DKK a year ({paid})")
    level = case.relations.get(provider.id)
    if level:
        rules.append(f"known adult here (relation {level})")
    if case.current_provider == provider.id:
        rules.append("holds the case today")
    if case.must_provider == provider.id:
        rules.append("locked here by the committee")
    return not fails, rules, fails


# --- per-case figures --------------------------------------------------------------------


def _case_terms(instance: Instance, case: Case, placement: Mapping[str, str]) -> dict[str, Any]:
    """The case's own penalty terms (DKK) under `placement`; the family's is per family."""
    w = instance.weights
    providers = {p.id: p for p in instance.providers}
    chosen = placement.get(case.id)
    strongest = max(case.relations.values(), default=0)
    given = case.relations.get(chosen, 0) if chosen is not None else 0
    terms: dict[str, Any] = {
        "relation": Fraction(w.relation_per_level) * (strongest - given),
        "continuity": Fraction(w.continuity)
        if case.current_provider in providers and chosen != case.current_provider
        else Fraction(0),
        "kind": Fraction(w.kind_penalty.get(providers[chosen].kind, 0))
        if chosen is not None
        else Fraction(0),
        "unassigned": Fraction(w.unassigned) if chosen is None else Fraction(0),
        "family": None,
    }
    if case.family is not None:
        terms["family"] = _family(instance, case.family, placement)
    return terms


def _family(instance: Instance, family: str, placement: Mapping[str, str]) -> dict[str, Any]:
    members = {c.id: placement.get(c.id) for c in instance.cases if c.active and c.family == family}
    used = {p for p in members.values() if p is not None}
    return {
        "family": family,
        "members": members,
        "providers": len(used),
        "split_penalty": Fraction(instance.weights.family_split) * max(0, len(used) - 1),
    }


def _relation(case: Case, chosen: str | None) -> dict[str, Any]:
    strongest = max(case.relations.values(), default=0)
    return {
        "level": case.relations.get(chosen, 0) if chosen is not None else 0,
        "strongest": strongest,
        "strongest_at": [p for p, lvl in case.relations.items() if lvl == strongest],
    }


def _continuity(instance: Instance, case: Case, chosen: str | None) -> dict[str, Any]:
    current = case.current_provider
    if current is None:
        outcome = "new case"
    elif current not in {p.id for p in instance.providers}:
        outcome = "current provider is gone"
    elif chosen == current:
        outcome = "kept"
    elif chosen is None:
        outcome = "left unassigned"
    else:
        outcome = "moved"
    return {"current_provider": current, "outcome": outcome}


def _jsonable(value: Any, exact: bool) -> Any:
    if exact:
        return value
    if isinstance(value, Fraction):
        return money(value)
    if isinstance(value, Mapping):
        return {k: _jsonable(v, exact) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v, exact) for v in value]
    return value


# --- explain -----------------------------------------------------------------------------


def explain(
    instance: Instance,
    result_or_doc: Result | Mapping[str, Any],
    case_ids: Sequence[str] | None = None,
    time_limit: float = 10,
    workers: int = 2,
    seed: int = 0,
    top: int = 3,
    exact: bool = False,
) -> list[dict[str, Any]]:
    """Per active case (all, or `case_ids`): where it is, why, and its `top` alternatives.

    Each alternative is an exact re-solve of the whole instance with the case forced there
    (`Resolver`), up to `time_limit` seconds each, `workers` re-solves side by side (one
    CP-SAT worker each). Raises `InstanceError` for a case id that is not an active case of
    the instance, or an allocation that breaks a rule of the instance.
    """
    base = base_of(instance, result_or_doc)
    active = [c for c in instance.cases if c.active]
    by_id = {c.id: c for c in active}
    if case_ids is None:
        chosen_cases = active
    else:
        missing = [j for j in case_ids if j not in by_id]
        if missing:
            raise InstanceError([f"--case: no active case {j} in the instance" for j in missing])
        chosen_cases = [by_id[j] for j in dict.fromkeys(case_ids)]

    resolver = Resolver(instance, base.placement, seed)
    free: list[tuple[str, str | None]] = []
    moved_locks: list[tuple[str, str | None]] = []
    for case in chosen_cases:
        for option in _options(instance, case, base.placement):
            (free if case.must_provider is None else moved_locks).append((case.id, option))
    outcomes = resolver.run_many([{j: p} for j, p in free], time_limit, workers)
    solved = dict(zip(free, outcomes, strict=True))

    # A locked case has only its lock's pair in the model: moving the lock is another
    # instance (`must_provider` changed).
    def move_lock(job: tuple[str, str | None]) -> Outcome:
        variant = _variant(instance, {job[0]: job[1]})
        return Resolver(variant, base.placement, seed).run({}, time_limit)

    solved.update(zip(moved_locks, _parallel(move_lock, moved_locks, workers), strict=True))

    shares = case_cost_shares(instance, base.placement)
    order = [c.id for c in active]
    out = []
    for case in chosen_cases:
        alternatives = [
            _alternative(instance, base, case.id, option, solved[(case.id, option)], order)
            for option in _options(instance, case, base.placement)
        ]
        alternatives.sort(key=_rank)
        entry = _entry(instance, base, case, shares[case.id], alternatives[:top])
        entry["options_considered"] = len(alternatives)
        out.append(_jsonable(entry, exact))
    return out


def _options(instance: Instance, case: Case, placement: Mapping[str, str]) -> list[str | None]:
    """The eligible providers other than the chosen one, and unassigned for a free placed case."""
    chosen = placement.get(case.id)
    options: list[str | None] = [
        p.id for p in instance.providers if p.id != chosen and not ineligibility(case, p)
    ]
    if case.must_provider is None and chosen is not None:
        options.append(None)
    return options


def _rank(alt: dict[str, Any]) -> tuple:
    change = alt["objective_change"]
    return (change is None, change if change is not None else 0, alt["provider"] or "~")


def _alternative(
    instance: Instance,
    base: Base,
    case_id: str,
    option: str | None,
    res: Outcome,
    order: list[str],
) -> dict[str, Any]:
    alt: dict[str, Any] = {
        "provider": option,
        "name": instance.provider(option).display_name if option else UNASSIGNED,
        "status": res.status,
    }
    if res.objective is None or res.placement is None or res.terms is None:
        alt.update(
            objective_change=None,
            lower_bound_change=None,
            proven=res.status == "infeasible",
            infeasible="; ".join(res.conflicts) or "no allocation found in the time limit",
            moves=[],
            changes={},
        )
        return alt
    alt.update(
        objective_change=res.objective - base.objective,
        lower_bound_change=None if res.bound is None else res.bound - base.objective,
        proven=base.optimal and res.status == "optimal",
        moves=_moves(base.placement, res.placement, [case_id], order),
        changes=_term_changes(base.evaluation, res.terms),
    )
    return alt


def _entry(
    instance: Instance,
    base: Base,
    case: Case,
    share: Fraction,
    alternatives: list[dict[str, Any]],
) -> dict[str, Any]:
    chosen = base.placement.get(case.id)
    eligibility = []
    for p in instance.providers:
        ok, rules, fails = provider_rules(instance, case, p)
        eligibility.append(
            {
                "provider": p.id,
                "eligible": ok,
                "locked": case.must_provider == p.id,
                "chosen": chosen == p.id,
                "rules": rules,
                "blocking": fails,
            }
        )
    entry: dict[str, Any] = {
        "case": case.id,
        "provider": chosen,
        "status": base.status,
        "locked": case.must_provider is not None,
        "hours_per_week": Fraction(case.hours_per_week),
        "eligibility": eligibility,
        "relation": _relation(case, chosen),
        "continuity": _continuity(instance, case, chosen),
        "cost_share": share,
        "terms": _case_terms(instance, case, base.placement),
        "alternatives": alternatives,
    }
    if chosen is None:
        entry["unassigned_reason"] = base.reasons.get(case.id) or (
            no_provider_reason(case, instance.providers)
            if not any(e["eligible"] for e in eligibility)
            else None
        )
    entry["why"] = _why(instance, case, entry)
    notes = []
    if not base.optimal:
        notes.append(
            f"the allocation is {base.status}, not proven optimal: a change can be negative, "
            "and no change is proven"
        )
    if case.must_provider is not None:
        notes.append(
            f"locked to {case.must_provider} by the committee: each alternative lifts the lock"
        )
    entry["note"] = "; ".join(notes) or None
    return entry


def _why(instance: Instance, case: Case, entry: Mapping[str, Any]) -> list[str]:
    chosen = entry["provider"]
    ok = [e["provider"] for e in entry["eligibility"] if e["eligible"]]
    lines = []
    if case.must_provider is not None:
        lines.append(f"locked to {case.must_provider} by the committee")
    lines.append(
        f"eligible at {len(ok)} of {len(instance.providers)} providers"
        + (f": {', '.join(ok)}" if ok else "")
    )
    if chosen is not None:
        here = next(e for e in entry["eligibility"] if e["provider"] == chosen)
        kept = [r for r in here["rules"] if r not in here["blocking"]]
        if kept:
            lines.append(f"at {chosen}: " + "; ".join(kept))
    rel = entry["relation"]
    terms = entry["terms"]
    if rel["strongest"]:
        if rel["level"] == rel["strongest"]:
            lines.append(f"keeps its strongest relation (level {rel['strongest']})")
        else:
            lines.append(
                f"strongest relation {rel['strongest']} at {', '.join(rel['strongest_at'])}, "
                f"{rel['level']} here (relation penalty {dkk(terms['relation'])})"
            )
    cont = entry["continuity"]
    if cont["outcome"] == "kept":
        lines.append(f"stays with its current provider {cont['current_provider']}")
    elif cont["outcome"] in ("moved", "left unassigned"):
        lines.append(
            f"leaves its current provider {cont['current_provider']} "
            f"(continuity penalty {dkk(terms['continuity'])})"
        )
    elif cont["outcome"] == "current provider is gone":
        lines.append(f"its current provider {cont['current_provider']} is no longer there")
    fam = terms["family"]
    if fam is not None and len(fam["members"]) > 1:
        others = ", ".join(
            f"{j} at {p or UNASSIGNED}" for j, p in fam["members"].items() if j != case.id
        )
        split = f" (family split penalty {dkk(fam['split_penalty'])})" * bool(fam["split_penalty"])
        lines.append(f"family {fam['family']}: {others}{split}")
    if chosen is None and entry.get("unassigned_reason"):
        lines.append(f"unassigned: {entry['unassigned_reason']}")
    return lines


# --- score breakdown ---------------------------------------------------------------------


def score_breakdown(
    instance: Instance, result_or_doc: Result | Mapping[str, Any], exact: bool = False
) -> dict[str, Any]:
    """Each objective term's total and each case's (and family's) contribution to it.

    `cases` holds per active case its cost share and its relation, continuity, kind and
    unassigned penalties; `families` the family split penalties; `not_attributed` the fixed
    costs of providers with no case. Together they sum exactly to the objective.
    `given_up` lists, per penalty term, the contributions that are not zero, largest first:
    the soft goals the proposal gives up and what each costs.
    """
    base = base_of(instance, result_or_doc)
    ev = base.evaluation
    shares = case_cost_shares(instance, base.placement)
    cases = []
    given_up: dict[str, list[dict[str, Any]]] = {name: [] for name in PENALTY_TERMS}
    families: dict[str, dict[str, Any]] = {}
    for c in instance.cases:
        if not c.active:
            continue
        chosen = base.placement.get(c.id)
        terms = _case_terms(instance, c, base.placement)
        row = {"case": c.id, "provider": chosen, "cost": shares[c.id]}
        for name in ("relation", "continuity", "kind", "unassigned"):
            row[name] = terms[name]
            if terms[name]:
                given_up[name].append(
                    {
                        "case": c.id,
                        "amount": terms[name],
                        "detail": _detail(instance, c, chosen, name),
                    }
                )
        row["total"] = sum(
            (row[t] for t in ("cost", "relation", "continuity", "kind", "unassigned")), Fraction(0)
        )
        cases.append(row)
        if c.family is not None and c.family not in families:
            families[c.family] = terms["family"]
    for fam in families.values():
        if fam["split_penalty"]:
            used = sorted({p for p in fam["members"].values() if p is not None})
            given_up["family"].append(
                {
                    "family": fam["family"],
                    "amount": fam["split_penalty"],
                    "detail": f"{len(used)} providers: {', '.join(used)}",
                }
            )
    for items in given_up.values():
        items.sort(key=lambda item: -item["amount"])
    not_attributed = ev.total_cost - sum(shares.values(), Fraction(0))
    terms_total = {"cost": ev.total_cost, **ev.penalties}
    doc = {
        "objective": ev.objective,
        "status": base.status,
        "terms": terms_total,
        "cases": cases,
        "families": [f for f in families.values() if len(f["members"]) > 1],
        "not_attributed": not_attributed,
        "given_up": {
            name: {"total": ev.penalties[name], "items": given_up[name]} for name in PENALTY_TERMS
        },
    }
    return _jsonable(doc, exact)


def _detail(instance: Instance, case: Case, chosen: str | None, term: str) -> str:
    where = chosen or UNASSIGNED
    if term == "relation":
        rel = _relation(case, chosen)
        return (
            f"relation {rel['strongest']} at {', '.join(rel['strongest_at'])}, "
            f"{rel['level']} at {where}"
        )
    if term == "continuity":
        return f"from {case.current_provider} to {where}"
    if term == "kind":
        return f"at {where} ({instance.provider(where).kind})" if chosen else where
    return "left without a provider"


# --- recommend ---------------------------------------------------------------------------


def _raw(instance: Instance) -> dict[str, Any]:
    """The instance as a raw document (lists, exact decimals) for `validate_instance`."""

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: plain(v) for k, v in value.items() if v is not None}
        if isinstance(value, list | tuple):
            return [plain(v) for v in value]
        return value

    return plain(instance.model_dump())


def with_new_case(
    instance: Instance, new_case: Any, offers: Sequence[Any] = ()
) -> tuple[Instance, Case]:
    """The instance with `new_case` (and its offers) added, validated like any instance."""
    if not isinstance(new_case, Mapping):
        raise InstanceError(["case: the new case must be a JSON object"])
    raw = _raw(instance)
    raw["cases"].append(dict(new_case))
    raw.setdefault("offers", []).extend(offers)
    grown = validate_instance(raw)
    case = grown.cases[-1]
    if not case.active:
        raise InstanceError([f"case {case.id}: status must be active to place the case"])
    return grown, case


def recommend(
    instance: Instance,
    base_result: Result | Mapping[str, Any],
    new_case: Mapping[str, Any],
    repair: bool = False,
    time_limit: float = 10,
    workers: int = 2,
    seed: int = 0,
    offers: Sequence[Mapping[str, Any]] = (),
    exact: bool = False,
) -> dict[str, Any]:
    """Where to put a new case: the exact increase in objective at each eligible provider.

    `repair=False`: every other case stays where `base_result` puts it (placed cases are
    locked there, unplaced ones kept unassigned); `repair=True`: they may move, and the moves
    are listed. Leaving the new case unassigned is an option too (unless it is locked).
    Increases are against the base allocation's objective; with `repair=True` they are
    `proven` when the base and the re-solve are both proven optimal, with `repair=False`
    when the re-solve is (it only checks that the fixed placement fits). Infeasible
    candidates are listed with the rules that clash; ineligible providers with the reasons.
    """
    base = base_of(instance, base_result)
    grown, case = with_new_case(instance, new_case, offers)
    if case.must_provider is not None:
        candidates: list[str | None] = [case.must_provider]
    else:
        candidates = [p.id for p in grown.providers if not ineligibility(case, p)]
        candidates.append(None)

    pins: dict[str, str | None] = {}
    if not repair:
        for c in instance.cases:
            if c.active:
                pins[c.id] = base.placement.get(c.id)
    resolver = Resolver(grown, base.placement, seed)
    batch = [{**pins, case.id: option} for option in candidates]
    results = resolver.run_many(batch, time_limit, workers)

    order = [c.id for c in instance.cases if c.active]
    options, infeasible = [], []
    for option, res in zip(candidates, results, strict=True):
        name = grown.provider(option).display_name if option else "leave unassigned"
        if res.objective is None or res.placement is None or res.terms is None:
            infeasible.append(
                {
                    "provider": option,
                    "name": name,
                    "status": res.status,
                    "reason": ("" if repair else "with the other cases kept where they are: ")
                    + ("; ".join(res.conflicts) or "no allocation found in the time limit"),
                }
            )
            continue
        after = res.placement
        item: dict[str, Any] = {
            "provider": option,
            "name": name,
            "kind": grown.provider(option).kind if option else None,
            "increase": res.objective - base.objective,
            "objective": res.objective,
            "status": res.status,
            "proven": res.status == "optimal" and (base.optimal or not repair),
            "case_cost": case_cost_shares(grown, after)[case.id],
            "case_terms": _case_terms(grown, case, after),
            "changes": _term_changes(base.evaluation, res.terms),
            "moves": _moves(base.placement, after, [case.id], order),
        }
        options.append(item)
    options.sort(key=lambda o: (o["increase"], o["provider"] or "~"))
    ineligible = [
        {"provider": p.id, "name": p.display_name, "reasons": ineligibility(case, p)}
        for p in grown.providers
        if ineligibility(case, p) and p.id != case.must_provider
    ]
    notes = []
    if repair and not base.optimal:
        notes.append(
            f"the base allocation is {base.status}, not proven optimal: an increase can be "
            "negative when the re-solve also improves the other cases"
        )
    doc = {
        "case": case.id,
        "repair": repair,
        "base_status": base.status,
        "base_objective": base.objective,
        "options": options,
        "infeasible": infeasible,
        "ineligible": ineligible,
        "note": "; ".join(notes) or None,
    }
    return _jsonable(doc, exact)


# --- text --------------------------------------------------------------------------------


def _signed(value: Any) -> str:
    v = Fraction(str(value)) if isinstance(value, float) else Fraction(value)
    return ("+" if v >= 0 else "-") + dkk(abs(v))


def _moves_text(moves: Sequence[Mapping[str, Any]], limit: int = 6) -> str:
    parts = [f"{m['case']} {m['from'] or UNASSIGNED} -> {m['to'] or UNASSIGNED}" for m in moves]
    more = f" and {len(parts) - limit} more" if len(parts) > limit else ""
    return ", ".join(parts[:limit]) + more


def render_explanation(entries: Sequence[Mapping[str, Any]]) -> str:
    """Readable blocks, one per case, from `explain`'s output."""
    blocks = []
    for e in entries:
        where = e["provider"] or "unassigned"
        lines = [f"{e['case']} -> {where}   ({e['status']})"]
        lines += [f"  why: {line}" for line in e["why"]]
        lines.append(f"  cost share: {dkk(e['cost_share'])} DKK a year")
        terms = e["terms"]
        parts = [
            f"{name} {dkk(terms[name])}"
            for name in ("relation", "continuity", "kind", "unassigned")
            if terms[name]
        ]
        fam = terms["family"]
        if fam is not None and fam["split_penalty"]:
            parts.append(f"family {fam['family']} split {dkk(fam['split_penalty'])} (shared)")
        lines.append("  penalties: " + (", ".join(parts) if parts else "none"))
        blocked = [
            f"{x['provider']} ({'; '.join(x['blocking'])})"
            for x in e["eligibility"]
            if not x["eligible"] and not x["locked"]
        ]
        if blocked:
            lines.append("  not eligible: " + ", ".join(blocked))
        if e["alternatives"]:
            lines.append("  alternatives (change in objective, DKK a year):")
            for alt in e["alternatives"]:
                name = alt["provider"] or UNASSIGNED
                if alt["objective_change"] is None:
                    lines.append(f"    {name:<24} infeasible: {alt['infeasible']}")
                    continue
                proof = "" if alt["proven"] else " (not proven)"
                moves = f"; moves {_moves_text(alt['moves'])}" if alt["moves"] else ""
                lines.append(f"    {name:<24} {_signed(alt['objective_change']):>14}{proof}{moves}")
        else:
            lines.append("  alternatives: none (no other eligible provider)")
        if e.get("note"):
            lines.append(f"  note: {e['note']}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def render_recommendation(rec: Mapping[str, Any]) -> str:
    """Readable ranking from `recommend`'s output."""
    mode = "other cases may move" if rec["repair"] else "other cases stay where they are"
    lines = [
        f"new case {rec['case']}: increase in objective per option, DKK a year ({mode})",
        f"base allocation: {rec['base_status']}, objective {dkk(rec['base_objective'])}",
    ]
    for n, o in enumerate(rec["options"], start=1):
        proof = "" if o["proven"] else " (not proven)"
        lines.append(
            f"  {n:>2}. {o['name'] if o['provider'] is None else o['provider']:<24} "
            f"{_signed(o['increase']):>14}{proof}   case cost {dkk(o['case_cost'])}"
        )
        if o["moves"]:
            lines.append(f"      moves: {_moves_text(o['moves'], limit=20)}")
    for x in rec["infeasible"]:
        lines.append(f"  --  {x['provider'] or 'leave unassigned':<24} infeasible: {x['reason']}")
    for x in rec["ineligible"]:
        lines.append(f"  --  {x['provider']:<24} not eligible: {'; '.join(x['reasons'])}")
    if rec.get("note"):
        lines.append(f"note: {rec['note']}")
    return "\n".join(lines)


def render_score(breakdown: Mapping[str, Any], limit: int = 5) -> str:
    """The objective term by term, and the soft goals given up, largest first."""
    terms = breakdown["terms"]
    lines = [
        f"objective {dkk(breakdown['objective'])} DKK a year ({breakdown['status']}) = "
        + " + ".join(
            f"{name} {dkk(terms[name])}" for name in TERMS if terms[name] or name == "cost"
        )
    ]
    for name in PENALTY_TERMS:
        items = breakdown["given_up"][name]["items"]
        if not items:
            continue
        shown = "; ".join(
            f"{item.get('case') or 'family ' + str(item.get('family'))} {dkk(item['amount'])}"
            f" ({item['detail']})"
            for item in items[:limit]
        )
        more = f"; and {len(items) - limit} more" if len(items) > limit else ""
        lines.append(f"  {name} {dkk(breakdown['given_up'][name]['total'])}: {shown}{more}")
    return "\n".join(lines)
