"""Synthetic instances with the structure of real ones, pooled across municipalities.

`generate(cases, providers, seed)` builds a valid allocation-instance/1 instance
(docs/instance-format.md), from 50 cases x 10 providers to 100 000 x 1 000 (README,
"Generated instances"):

- municipalities (payers `m01`, ...), each with districts (`m01-d1`, ...) and its own
  providers, all serving only its districts: clubs (one or two per district, ages 10-17/18,
  a base grant for the included hours and an hourly rate above), a Family House (permanent
  staff: fixed cost, included hours = capacity), an internal corps (optional, a large fixed
  cost), internal purchase units (school, youth house; hourly) and a jobcentre programme
  (labour market, 18+, free for this budget);
- regions of about seven municipalities, each with external providers (specialist
  competences, hourly rates, quotes as offers) serving five to seven of the region's
  municipalities. A case is thus eligible at a bounded number of providers (about 20)
  whatever the size of the instance;
- cases drawn as a *planned allocation*: each case is made for one provider (its kind from
  a fixed mix, then age, needs and hours drawn to fit that provider). Capacities (1.1-1.3 x
  the planned load), `max_cases` and budgets (1.00-1.05 x the planned cost) are set from it,
  and locks are placed at the planned provider. The planned allocation keeps every rule, so
  every instance is feasible with no case unassigned; the optimum is cheaper.

Deterministic per seed: all randomness comes from one numpy Generator, consumed in a fixed
order. Ids are pseudonymous (`C000123`, `klub-m03-d2`) with at most seven digits in a run,
so none can look like a CPR number (six date digits and four more).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from itertools import accumulate
from typing import Any

import numpy as np

from solver.checker import eligible
from solver.instance import FORMAT, KINDS, Instance
from solver.io import validate_instance

MIN_PROVIDERS = len(KINDS)  # one of each kind
MAX_PROVIDERS = 100_000
MAX_CASES = 1_000_000  # case ids keep at most 7 digits
MAX_SEED = 10**9 - 1  # the seed is in the instance's name: at most 9 digits

WEEKS = 46
POST = 550_000  # a full-time post a year: Family House staff
CORPS_SALARY = 600_000
PROVIDERS_PER_MUNICIPALITY = 12
CASES_PER_MUNICIPALITY = 100  # at least
REGION_SIZE = 7  # municipalities sharing external providers
FAMILY_START = 0.047  # chance that a case starts a sibling group: about 10% in families

AUT, PSY, SUB, CRI, LAC = "autism", "psychiatry", "substance abuse", "crime", "language and culture"
FAM, SCH, ISO = "family work", "school absence", "social isolation"
SPECIALIST = (AUT, PSY, SUB, CRI, LAC)
SUPPORT = (FAM, SCH, ISO)
NEED_ORDER = {need: n for n, need in enumerate(SPECIALIST + SUPPORT)}


@dataclass(frozen=True)
class Plan:
    """How cases planned for one provider kind are drawn."""

    share: float  # of all cases
    hours: tuple[int, int]  # hours a week, inclusive
    need_counts: tuple[float, ...]  # probability of 0, 1, 2 needs (from the competences)


PLANS: dict[str, Plan] = {
    "club": Plan(0.30, (2, 6), (1.0,)),
    "family_house": Plan(0.08, (4, 10), (0.25, 0.65, 0.10)),
    "internal_corps": Plan(0.14, (3, 10), (0.70, 0.30)),
    "internal_purchase": Plan(0.10, (4, 12), (0.20, 0.80)),
    "external": Plan(0.30, (4, 15), (0.15, 0.65, 0.20)),
    "labour_market": Plan(0.08, (3, 8), (1.0,)),
}
PLAN_KINDS = tuple(PLANS)
PLAN_CUMULATIVE = list(accumulate(plan.share for plan in PLANS.values()))
NEED_CUMULATIVE = {kind: list(accumulate(plan.need_counts)) for kind, plan in PLANS.items()}
AGES = range(6, 24)
AGE_WEIGHTS = (1, 1, 2, 2, 3, 4, 6, 8, 10, 11, 11, 10, 7, 5, 4, 3, 2, 2)  # teenagers most
LEVEL_CUMULATIVE = [0.40, 0.75, 1.0]  # relation levels 1, 2, 3
EXTERNAL_AGES = ((6, 17), (10, 23), (12, 23), (14, 23), (None, None))
PURCHASE_UNITS = (("skole", SCH, 6, 17), ("ungehus", ISO, 14, 23))  # id, competence, ages
KIND_PENALTY = {"external": 20000, "internal_corps": 10000}


class _Random:
    """Scalar draws from one numpy Generator, taken in blocks (its scalar calls are slow)."""

    def __init__(self, seed: int, block: int = 1 << 16):
        self._rng = np.random.default_rng(seed)
        self._block = block
        self._buffer: list[float] = []
        self._pos = 0

    def __call__(self) -> float:
        if self._pos == len(self._buffer):
            self._buffer = self._rng.random(self._block).tolist()
            self._pos = 0
        self._pos += 1
        return self._buffer[self._pos - 1]

    def chance(self, p: float) -> bool:
        return self() < p

    def between(self, lo: int, hi: int) -> int:
        """Uniform in lo..hi, inclusive."""
        return lo + int(self() * (hi - lo + 1))

    def pick(self, items: list | tuple) -> Any:
        return items[int(self() * len(items))]

    def weighted(self, cumulative: list[float]) -> int:
        """An index drawn with the weights whose running sums are `cumulative`."""
        return bisect.bisect_right(cumulative, self() * cumulative[-1])

    def sample(self, items: list | tuple, k: int) -> list:
        """k distinct items (all if fewer), by a partial Fisher-Yates shuffle."""
        pool = list(items)
        for n in range(min(k, len(pool))):
            m = n + int(self() * (len(pool) - n))
            pool[n], pool[m] = pool[m], pool[n]
        return pool[:k]


@dataclass
class _Provider:
    id: str
    kind: str
    districts: tuple[str, ...]
    competences: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    accepts_new: bool = True
    home: int = 0  # municipality index
    # the planned allocation's active cases
    count: int = 0
    load_q: int = 0  # quarter hours, offers' hours included
    billed_q: int = 0  # quarter hours of cases without an offer
    offer_cost: int = 0  # DKK a year

    def fits(self, needs: tuple[str, ...], age: int) -> bool:
        """Needs and age (the district is known to fit)."""
        return (
            all(need in self.competences for need in needs)
            and (self.min_age is None or age >= self.min_age)
            and (self.max_age is None or age <= self.max_age)
        )


@dataclass
class _Municipality:
    key: str
    region: int
    districts: list[str]
    clubs: dict[str, list[int]] = field(default_factory=dict)  # district -> clubs
    own: dict[str, list[int]] = field(default_factory=dict)  # kind -> its providers
    externals: list[int] = field(default_factory=list)  # serving it


@dataclass
class _World:
    municipalities: list[_Municipality]
    providers: list[_Provider]
    size_cumulative: list[float]  # municipalities' shares of the cases
    n_regions: int
    closing: float  # share of closing cases
    index: dict[str, int] = field(default_factory=dict)  # provider id -> index
    _fitting: dict[tuple, list[int]] = field(default_factory=dict)

    def externals_for(self, m: _Municipality, needs: tuple[str, ...], age: int) -> list[int]:
        """The externals accepting new cases that are eligible for such a case in m."""
        key = (m.key, needs, age)
        if key not in self._fitting:
            self._fitting[key] = [
                e
                for e in m.externals
                if self.providers[e].accepts_new and self.providers[e].fits(needs, age)
            ]
        return self._fitting[key]


@dataclass
class _Case:
    id: str
    municipality: _Municipality
    district: str
    planned: int  # provider index
    age: int
    needs: tuple[str, ...]
    hours_q: int
    active: bool
    current: str | None = None
    relations: dict[str, int] = field(default_factory=dict)
    family: str | None = None
    must_provider: str | None = None
    forbidden: str | None = None


@dataclass(frozen=True)
class Generated:
    """A generated instance document and its planned allocation (active case -> provider),
    which keeps every rule of the instance."""

    document: dict[str, Any]
    plan: dict[str, str]


def generate(cases: int, providers: int, seed: int) -> Instance:
    """A valid, feasible instance of `cases` cases (active and closing) and `providers`
    providers, the same for the same arguments."""
    return validate_instance(build(cases, providers, seed).document)


def build(cases: int, providers: int, seed: int) -> Generated:
    """The instance document (not yet validated) and its planned allocation."""
    _check_arguments(cases, providers, seed)
    r = _Random(seed)
    world = _world(r, cases, providers)
    width = max(6, len(str(cases)))
    drawn = [_case(r, world, f"C{n + 1:0{width}d}") for n in range(cases)]
    offers = [offer for case in drawn for offer in _offers(r, world, case)]
    _families(r, drawn)
    records = [_provider_record(r, p) for p in world.providers]
    document = {
        "format": FORMAT,
        "name": f"Generated {cases} cases x {providers} providers (seed {seed})",
        "weeks_per_year": WEEKS,
        "providers": records,
        "cases": [_case_record(c) for c in drawn],
        "offers": offers,
        "budgets": _budgets(r, world, records),
        "weights": {"kind_penalty": KIND_PENALTY},
    }
    plan = {c.id: world.providers[c.planned].id for c in drawn if c.active}
    return Generated(document, plan)


def _check_arguments(cases: int, providers: int, seed: int) -> None:
    for name, value, lo, hi in (
        ("cases", cases, 1, MAX_CASES),
        ("providers", providers, MIN_PROVIDERS, MAX_PROVIDERS),
        ("seed", seed, 0, MAX_SEED),
    ):
        if not lo <= value <= hi:
            raise ValueError(f"{name} must be from {lo} to {hi}, not {value}")


# --- municipalities and providers ---------------------------------------------------------


def _apportion(total: int, weights: list[float], minimum: int) -> list[int]:
    """`total` split into whole parts of at least `minimum`, in proportion to `weights`
    (largest remainders; ties to the first)."""
    extra = total - minimum * len(weights)
    assert extra >= 0, "too few to give each part its minimum"
    share = np.array(weights) / sum(weights) * extra
    parts = np.floor(share).astype(int)
    order = np.argsort(parts - share, kind="stable")  # largest remainder first
    parts[order[: extra - parts.sum()]] += 1
    return (parts + minimum).tolist()


def _world(r: _Random, n_cases: int, n_providers: int) -> _World:
    """Municipalities with their own providers, then the regions' external providers."""
    k = max(1, min(n_providers // PROVIDERS_PER_MUNICIPALITY, n_cases // CASES_PER_MUNICIPALITY))
    sizes = [math.exp(2 * r()) for _ in range(k)]  # the largest up to 7 x the smallest
    rest = n_providers - 3 * k  # after a Family House, corps and jobcentre each
    n_clubs = max(k, round(0.38 * rest))
    n_purchase = max(k, round(0.14 * rest))
    clubs = _apportion(n_clubs, sizes, 1)
    purchase = _apportion(n_purchase, sizes, 1)
    externals = _apportion(rest - n_clubs - n_purchase, sizes, 1)

    n_regions = max(1, k // REGION_SIZE)
    width = max(2, len(str(k)))
    municipalities: list[_Municipality] = []
    providers: list[_Provider] = []
    for m in range(k):
        key = f"m{m + 1:0{width}d}"
        n_districts = (3 * clubs[m] + 3) // 4  # some districts get two clubs
        districts = [f"{key}-d{d + 1}" for d in range(n_districts)]
        muni = _Municipality(key, min(m // REGION_SIZE, n_regions - 1), districts)
        for p in _own_providers(r, muni, clubs[m], purchase[m]):
            p.home = m
            muni.own.setdefault(p.kind, []).append(len(providers))
            if p.kind == "club":
                muni.clubs.setdefault(p.districts[0], []).append(len(providers))
            providers.append(p)
        municipalities.append(muni)
    number = 0
    for m, count in enumerate(externals):
        for _ in range(count):
            number += 1
            served = _served(r, municipalities, m)
            for s in served:
                municipalities[s].externals.append(len(providers))
            providers.append(_external(r, number, m, served, municipalities))
    index = {p.id: i for i, p in enumerate(providers)}
    closing = 0.1 + 0.2 * r()
    return _World(municipalities, providers, list(accumulate(sizes)), n_regions, closing, index)


def _own_providers(
    r: _Random, m: _Municipality, n_clubs: int, n_purchase: int
) -> Iterator[_Provider]:
    """A municipality's clubs, Family House, corps, internal purchase units and jobcentre."""
    everywhere = tuple(m.districts)
    per_district: dict[str, int] = {}
    for c in range(n_clubs):
        district = m.districts[c % len(m.districts)]
        per_district[district] = per_district.get(district, 0) + 1
        suffix = "" if per_district[district] == 1 else f"-{chr(96 + per_district[district])}"
        max_age = 18 if r.chance(0.3) else 17
        yield _Provider(f"klub-{district}{suffix}", "club", (district,), (), 10, max_age)
    yield _Provider(f"familiehus-{m.key}", "family_house", everywhere, (FAM, PSY), None, 17)
    yield _Provider(f"korps-{m.key}", "internal_corps", everywhere, (CRI, LAC))
    for u in range(n_purchase):
        stem, competence, lo, hi = PURCHASE_UNITS[u % len(PURCHASE_UNITS)]
        suffix = "" if u < len(PURCHASE_UNITS) else f"-{u // len(PURCHASE_UNITS) + 1}"
        yield _Provider(
            f"{stem}-{m.key}{suffix}", "internal_purchase", everywhere, (competence,), lo, hi
        )
    yield _Provider(f"jobcenter-{m.key}", "labour_market", everywhere, (), 18, 25)


def _served(r: _Random, municipalities: list[_Municipality], home: int) -> list[int]:
    """Five to seven consecutive municipalities of home's region, home first."""
    own = municipalities[home].region
    region = [m for m, muni in enumerate(municipalities) if muni.region == own]
    start = region.index(home)
    width = min(len(region), r.between(5, 7))
    return [region[(start + n) % len(region)] for n in range(width)]


def _external(
    r: _Random, number: int, home: int, served: list[int], municipalities: list[_Municipality]
) -> _Provider:
    competences = r.sample(SPECIALIST, r.between(2, 4))
    if r.chance(0.3):
        competences.append(r.pick(SUPPORT))
    lo, hi = r.pick(EXTERNAL_AGES)
    return _Provider(
        id=f"ekstern-{number:04d}",
        kind="external",
        districts=tuple(d for s in sorted(served) for d in municipalities[s].districts),
        competences=tuple(sorted(competences, key=NEED_ORDER.__getitem__)),
        min_age=lo,
        max_age=hi,
        accepts_new=not r.chance(0.04),
        home=home,
    )


def _provider_record(r: _Random, p: _Provider) -> dict[str, Any]:
    """The provider's record: capacity 1.1-1.3 x its planned load, prices by kind."""
    needed = math.ceil(Fraction(p.load_q, 4) * Fraction(110 + r.between(0, 20), 100))
    record: dict[str, Any] = {"id": p.id, "kind": p.kind}
    if p.kind == "club":
        capacity = max(4, needed)
        included_q = 2 * round(capacity * (0.6 + 0.6 * r()))  # 30-60%, in half hours
        rate = 5 * r.between(60, 70)
        grant = int(round(included_q * WEEKS * rate / 4, -2))
        record |= _prices(capacity, rate=rate, included_q=included_q, fixed=grant)
    elif p.kind == "family_house":  # posts of 11 h a week of contact time
        posts = max(1, math.ceil(needed / 11))
        record |= _prices(11 * posts, included_q=44 * posts, fixed=posts * POST)
    elif p.kind == "internal_corps":  # staff of 20 h a week of contact time, can close
        staff = max(1, math.ceil(needed / 20))
        record |= _prices(20 * staff, included_q=80 * staff, fixed=staff * CORPS_SALARY)
        record["optional"] = True
    elif p.kind == "internal_purchase":
        record |= _prices(max(4, needed), rate=5 * r.between(80, 95))
    elif p.kind == "labour_market":  # paid by the jobcentre
        record |= _prices(max(8, needed), max_cases=p.count + math.ceil(p.count / 5) + 1)
    else:
        limit = p.count + math.ceil(p.count / 5) + 1 if r.chance(0.3) else None
        record |= _prices(max(8, needed), max_cases=limit, rate=10 * r.between(65, 90))
    for name, value, default in (
        ("competences", list(p.competences), []),
        ("districts", list(p.districts), []),
        ("min_age", p.min_age, None),
        ("max_age", p.max_age, None),
        ("accepts_new", p.accepts_new, True),
    ):
        if value != default:
            record[name] = value
    return record


def _prices(
    capacity: int,
    max_cases: int | None = None,
    rate: int = 0,
    included_q: int = 0,
    fixed: int = 0,
) -> dict[str, Any]:
    fields = {
        "capacity_hours": capacity,
        "max_cases": max_cases,
        "hourly_rate": rate,
        "included_hours": _hours_number(included_q),
        "fixed_cost": fixed,
    }
    return {name: value for name, value in fields.items() if value}


def _hours_number(quarters: int) -> int | float:
    """Quarter hours as a JSON number of hours (at most 2 decimals, exact as a float)."""
    return quarters // 4 if quarters % 4 == 0 else quarters / 4


# --- cases --------------------------------------------------------------------------------


def _case(r: _Random, world: _World, case_id: str) -> _Case:
    """A case made for one provider (the planned allocation), with its history."""
    m = world.municipalities[r.weighted(world.size_cumulative)]
    kind = PLAN_KINDS[r.weighted(PLAN_CUMULATIVE)]
    district = r.pick(m.districts)
    if kind == "club":
        planned = r.pick(m.clubs[district])
    else:
        planned = r.pick(m.externals if kind == "external" else m.own[kind])
    p = world.providers[planned]
    needs = r.sample(p.competences, r.weighted(NEED_CUMULATIVE[kind]))
    case = _Case(
        id=case_id,
        municipality=m,
        district=district,
        planned=planned,
        age=_age(r, p.min_age, p.max_age),
        needs=tuple(sorted(needs, key=NEED_ORDER.__getitem__)),
        hours_q=_hours(r, *PLANS[kind].hours),
        active=not r.chance(world.closing),
    )
    case.current = _current(r, world, case)
    case.relations = _relations(r, world, case)
    if r.chance(0.02):  # never there again; not the planned provider
        other = _corps_or_external(r, world, m)
        case.forbidden = other if other != p.id else None
    if case.active and r.chance(0.01):
        case.must_provider = p.id
    return case


_AGE_CUMULATIVE: dict[tuple[int | None, int | None], list[float]] = {}


def _age(r: _Random, lo: int | None, hi: int | None) -> int:
    """An age in lo..hi (within 6..23), teenagers most likely."""
    key = (lo, hi)
    if key not in _AGE_CUMULATIVE:
        weights = [
            w if (lo is None or a >= lo) and (hi is None or a <= hi) else 0
            for a, w in zip(AGES, AGE_WEIGHTS, strict=True)
        ]
        _AGE_CUMULATIVE[key] = list(accumulate(weights))
    return AGES[r.weighted(_AGE_CUMULATIVE[key])]


def _hours(r: _Random, lo: int, hi: int) -> int:
    """Quarter hours in lo..hi: mostly whole hours, a quarter half hours, a few quarters."""
    q = 4 * r.between(lo, hi)
    u = r()
    if u < 0.25:
        q += 2
    elif u < 0.30:
        q += r.pick((1, 3))
    return q - 4 if q > 4 * hi else q


def _current(r: _Random, world: _World, case: _Case) -> str | None:
    """Who holds the case today: mostly the planned provider, some the corps or an external
    provider, a few a provider that has closed; about a fifth are new cases."""
    p = world.providers[case.planned]
    u = r()
    if u < 0.55 or not p.accepts_new:  # a provider closed to new cases keeps its own
        return p.id
    m = case.municipality
    if u < 0.78:
        return _corps_or_external(r, world, m)
    if u < 0.82:
        return f"lukket-{m.key}-{r.between(1, 3)}"
    return None


def _corps_or_external(r: _Random, world: _World, m: _Municipality) -> str:
    """The municipality's corps or an external provider serving it."""
    return world.providers[r.pick(m.externals + m.own["internal_corps"])].id


def _relations(r: _Random, world: _World, case: _Case) -> dict[str, int]:
    """Known adults: at the planned provider (most club cases), at today's provider."""
    p = world.providers[case.planned]
    relations: dict[str, int] = {}
    if r.chance(0.8 if p.kind == "club" else 0.35):
        relations[p.id] = 1 + r.weighted(LEVEL_CUMULATIVE)
    if case.current != p.id and case.current in world.index and r.chance(0.4):
        relations[case.current] = 1 + r.weighted(LEVEL_CUMULATIVE)
    return relations


def _offers(r: _Random, world: _World, case: _Case) -> list[dict[str, Any]]:
    """Quotes: for a case planned at an external provider, often that one's and a few from
    other eligible externals; for a case held by an external today, often that one's.
    Adds the planned load and cost to the planned provider."""
    p = world.providers[case.planned]
    quoted: dict[int, dict[str, Any]] = {}
    if p.kind == "external":
        if r.chance(0.6):
            quoted[case.planned] = _offer(r, case, p)
        others = [
            e
            for e in world.externals_for(case.municipality, case.needs, case.age)
            if e != case.planned
        ]
        for e in r.sample(others, r.between(0, 3)):
            quoted[e] = _offer(r, case, world.providers[e])
    today = world.index.get(case.current or "")
    holder = None if today is None or today in quoted else world.providers[today]
    if holder is not None and holder.kind == "external" and holder.fits(case.needs, case.age):
        if r.chance(0.5):
            quoted[today] = _offer(r, case, holder)
    if case.active:
        _count_planned(p, case, quoted.get(case.planned))
    return [quoted[e] for e in sorted(quoted)]


def _offer(r: _Random, case: _Case, p: _Provider) -> dict[str, Any]:
    """A price per year for the case's hours (sometimes other hours) at 480-820 DKK an hour."""
    offer: dict[str, Any] = {"case": case.id, "provider": p.id}
    hours_q = case.hours_q
    if r.chance(0.15):
        hours_q = max(4, hours_q + 2 * r.pick((-2, -1, 1, 2)))
        offer["hours_per_week"] = _hours_number(hours_q)
    rate = r.between(480, 820)
    offer["annual_cost"] = (hours_q * WEEKS * rate + 1000) // 2000 * 500  # to 500 DKK
    return offer


def _count_planned(p: _Provider, case: _Case, offer: dict[str, Any] | None) -> None:
    p.count += 1
    if offer is None:
        p.load_q += case.hours_q
        p.billed_q += case.hours_q
    else:
        p.load_q += round(4 * offer.get("hours_per_week", case.hours_q / 4))
        p.offer_cost += offer["annual_cost"]


def _families(r: _Random, cases: list[_Case]) -> None:
    """Sibling groups of 2-3 cases living in the same district (about 10% of cases)."""
    by_district: dict[str, list[_Case]] = {}
    for c in cases:
        by_district.setdefault(c.district, []).append(c)
    number = 0
    for members in by_district.values():  # in order of first appearance: deterministic
        n = 0
        while n < len(members) - 1:
            if r.chance(FAMILY_START):
                size = 3 if r.chance(0.3) else 2
                number += 1
                for sibling in members[n : n + size]:
                    sibling.family = f"F{number:06d}"
                n += size
            else:
                n += 1


def _case_record(c: _Case) -> dict[str, Any]:
    """The case's record with the fields that differ from their defaults."""
    record: dict[str, Any] = {
        "id": c.id,
        "age": c.age,
        "district": c.district,
        "hours_per_week": _hours_number(c.hours_q),
    }
    for name, value in (
        ("needs", list(c.needs)),
        ("family", c.family),
        ("current_provider", c.current),
        ("relations", c.relations),
        ("payer", c.municipality.key),
        ("status", None if c.active else "closing"),
        ("must_provider", c.must_provider),
        ("forbidden_providers", [c.forbidden] if c.forbidden else None),
    ):
        if value:
            record[name] = value
    return record


# --- budgets ------------------------------------------------------------------------------


def _planned_cost(record: dict[str, Any], p: _Provider) -> Fraction:
    """The provider's annual cost under the planned allocation (the spec's formula)."""
    paid = p.count > 0 or not record.get("optional", False)
    fixed = Fraction(record.get("fixed_cost", 0)) if paid else 0
    above = max(Fraction(0), Fraction(p.billed_q, 4) - Fraction(record.get("included_hours", 0)))
    return fixed + Fraction(record.get("hourly_rate", 0)) * WEEKS * above + p.offer_cost


def _budgets(r: _Random, world: _World, records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """External purchase per region and a frame per municipality for its own providers,
    each 0-5% above the planned allocation's cost (rounded up to 1 000 DKK)."""
    groups: list[tuple[str, list[int]]] = []
    for region in range(world.n_regions):
        members = [
            i
            for i, p in enumerate(world.providers)
            if p.kind == "external" and world.municipalities[p.home].region == region
        ]
        groups.append((f"external purchase r{region + 1:02d}", members))
    for m in world.municipalities:
        groups.append((f"frame {m.key}", sorted(i for ids in m.own.values() for i in ids)))
    budgets = []
    for name, members in groups:
        cost = sum(_planned_cost(records[i], world.providers[i]) for i in members)
        cap = math.ceil(cost * Fraction(100 + r.between(0, 5), 100) / 1000) * 1000
        budgets.append(
            {
                "name": name,
                "providers": [world.providers[i].id for i in members],
                "max_annual_cost": cap,
            }
        )
    return budgets


# --- eligible pairs -----------------------------------------------------------------------


def eligible_pairs(instance: Instance) -> int:
    """The (active case, provider) pairs the model gets a variable for, counted as
    `solver.arrays.derive` does (a locked case has one pair), through a district index
    instead of a cases x providers matrix."""
    everywhere = [p for p in instance.providers if not p.districts]
    by_district: dict[str, list] = {}
    for p in instance.providers:
        for district in dict.fromkeys(p.districts):
            by_district.setdefault(district, []).append(p)
    total = 0
    for c in instance.cases:
        if not c.active:
            continue
        if c.must_provider is not None:
            total += 1
            continue
        candidates = everywhere + by_district.get(c.district, []) if c.district else everywhere
        total += sum(eligible(c, p) for p in candidates)
    return total
