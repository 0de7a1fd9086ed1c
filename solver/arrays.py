"""Numeric arrays derived once from an `Instance`: eligible pairs, loads, costs, scales.

Hours and money are decimals with at most 2 places. The model works in integers, so
`derive` picks an hour unit (the largest that divides every load and `included_hours`)
and a money scale `money_scale` (units per DKK, the smallest that makes every objective
coefficient whole). Both are exact: an optimum of the integer model is the true optimum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction

import numpy as np

from solver.instance import KINDS, Instance

NO = -1  # "none" in index arrays


@dataclass(frozen=True)
class Arrays:
    """Index arrays of one instance. Cases are the active ones only, in file order."""

    instance: Instance
    provider_ids: list[str]
    case_ids: list[str]  # active cases
    case_index: np.ndarray  # index of each active case in instance.cases
    # per pair (eligible or locked), sorted by case then provider
    pair_case: np.ndarray
    pair_provider: np.ndarray
    pair_load: np.ndarray  # hour units
    pair_offer: np.ndarray  # bool: priced by an offer
    pair_offer_cost: np.ndarray  # money units (0 where no offer)
    pair_level: np.ndarray  # relation level 0..3 the provider gives the case
    # per active case
    case_lock: np.ndarray  # provider index of must_provider, or NO
    case_current: np.ndarray  # provider index of an existing current provider, or NO
    case_max_level: np.ndarray
    case_family: np.ndarray  # family index (families of >= 2 active cases), or NO
    n_families: int
    # per provider
    kind_index: np.ndarray  # index into KINDS
    capacity: np.ndarray  # hour units, rounded down
    max_cases: np.ndarray  # NO when unlimited
    included: np.ndarray  # hour units
    hour_price: np.ndarray  # money units per hour unit above included hours
    fixed: np.ndarray  # money units
    optional: np.ndarray  # bool
    # budgets: counted providers and caps (money units, rounded down: costs are whole units)
    budget_members: list[np.ndarray]
    budget_cap: np.ndarray
    # weights in money units: relation_per_level, continuity, family_split, unassigned
    weight: dict[str, int]
    pair_kind_penalty: np.ndarray  # money units per pair
    # scales
    hour_unit: Fraction  # hours per unit
    money_scale: int  # units per DKK

    @property
    def n_providers(self) -> int:
        return len(self.provider_ids)

    @property
    def n_cases(self) -> int:
        return len(self.case_ids)

    def money(self, units: int | Fraction) -> Fraction:
        """Money units -> DKK, exactly."""
        return Fraction(units) / self.money_scale

    def hours(self, units: int | Fraction) -> Fraction:
        return Fraction(units) * self.hour_unit


def _cents(value: Decimal) -> int:
    return int(value * 100)


def derive(inst: Instance) -> Arrays:
    providers = inst.providers
    pid = {p.id: i for i, p in enumerate(providers)}
    active = [n for n, c in enumerate(inst.cases) if c.active]
    cases = [inst.cases[n] for n in active]
    P, C = len(providers), len(cases)

    eligible = _eligibility(inst, cases, pid)
    lock = np.array([pid[c.must_provider] if c.must_provider else NO for c in cases], int)
    locked = lock != NO
    eligible[locked, :] = False
    eligible[np.flatnonzero(locked), lock[locked]] = True
    pair_case, pair_provider = np.nonzero(eligible)

    # Loads and offers (hundredths of an hour and cents first, scaled below).
    load_c = np.array([_cents(c.hours_per_week) for c in cases], np.int64)[pair_case]
    cid = {c.id: j for j, c in enumerate(cases)}
    offers = [o for o in inst.offers if o.case in cid]
    # Each offer's pair, found by its key case * P + provider among the sorted pair keys.
    keys = np.array([cid[o.case] * P + pid[o.provider] for o in offers], np.int64)
    pos = np.minimum(np.searchsorted(pair_case * P + pair_provider, keys), len(pair_case) - 1)
    hit = np.zeros(len(keys), bool)
    if len(pair_case):
        hit = pair_case[pos] * P + pair_provider[pos] == keys
    pair_offer = np.zeros(len(pair_case), bool)
    offer_dkk = [Fraction(0)] * len(pair_case)
    for o, k, found in zip(offers, pos.tolist(), hit.tolist(), strict=True):
        if found:  # an offer for an ineligible pair is not used
            pair_offer[k] = True
            offer_dkk[k] = Fraction(o.annual_cost)
            if o.hours_per_week is not None:
                load_c[k] = _cents(o.hours_per_week)

    included_c = np.array([_cents(p.included_hours) for p in providers], np.int64)
    g = math.gcd(*load_c.tolist(), *included_c.tolist()) or 100
    hour_unit = Fraction(g, 100)

    weeks = Fraction(inst.weeks_per_year)
    hour_price = [Fraction(p.hourly_rate) * weeks * hour_unit for p in providers]
    w = inst.weights
    money = [
        *hour_price,
        *(Fraction(p.fixed_cost) for p in providers),
        *(Fraction(v) for v in w.kind_penalty.values()),
        Fraction(w.relation_per_level),
        Fraction(w.continuity),
        Fraction(w.family_split),
        Fraction(w.unassigned),
        *offer_dkk,
    ]
    scale = math.lcm(*(f.denominator for f in money))

    def units(values: list[Fraction]) -> np.ndarray:
        return np.array([int(v * scale) for v in values], np.int64)

    # Relations, sparse: level per (case, provider) key, looked up for the pairs.
    rel_keys, rel_levels = [], []
    for j, c in enumerate(cases):
        for p_id, level in c.relations.items():
            rel_keys.append(j * P + pid[p_id])
            rel_levels.append(level)
    rel_keys_arr = np.array(rel_keys, np.int64)
    order = np.argsort(rel_keys_arr)
    rel_keys_arr, rel_levels_arr = rel_keys_arr[order], np.array(rel_levels, np.int64)[order]
    pair_keys = pair_case * P + pair_provider
    at = np.minimum(np.searchsorted(rel_keys_arr, pair_keys), max(len(rel_keys_arr) - 1, 0))
    pair_level = np.zeros(len(pair_case), np.int64)
    if len(rel_keys_arr):
        found = rel_keys_arr[at] == pair_keys
        pair_level[found] = rel_levels_arr[at[found]]
    case_max_level = np.array([max(c.relations.values(), default=0) for c in cases], np.int64)
    current = np.array(
        [pid.get(c.current_provider, NO) if c.current_provider else NO for c in cases], int
    )
    families: dict[str, list[int]] = {}
    for j, c in enumerate(cases):
        if c.family is not None:
            families.setdefault(c.family, []).append(j)
    case_family = np.full(C, NO, int)
    shared = [members for members in families.values() if len(members) > 1]
    for f, members in enumerate(shared):
        case_family[members] = f

    kind_index = np.array([KINDS.index(p.kind) for p in providers], int)
    per_kind = units([Fraction(w.kind_penalty.get(k, 0)) for k in KINDS])
    members = [
        np.array(
            [i for i, p in enumerate(providers) if p.kind in b.kinds or p.id in b.providers], int
        )
        for b in inst.budgets
    ]
    return Arrays(
        instance=inst,
        provider_ids=[p.id for p in providers],
        case_ids=[c.id for c in cases],
        case_index=np.array(active, int),
        pair_case=pair_case,
        pair_provider=pair_provider,
        pair_load=load_c // g,
        pair_offer=pair_offer,
        pair_offer_cost=units(offer_dkk),
        pair_level=pair_level,
        case_lock=lock,
        case_current=current,
        case_max_level=case_max_level,
        case_family=case_family,
        n_families=len(shared),
        kind_index=kind_index,
        capacity=np.array([_cents(p.capacity_hours) // g for p in providers], np.int64),
        max_cases=np.array([NO if p.max_cases is None else p.max_cases for p in providers]),
        included=included_c // g,
        hour_price=units(hour_price),
        fixed=units([Fraction(p.fixed_cost) for p in providers]),
        optional=np.array([p.optional for p in providers], bool),
        budget_members=members,
        budget_cap=np.array(
            [math.floor(b.max_annual_cost * scale) for b in inst.budgets], np.int64
        ),
        weight={
            name: int(getattr(w, name) * scale)
            for name in ("relation_per_level", "continuity", "family_split", "unassigned")
        },
        pair_kind_penalty=per_kind[kind_index[pair_provider]],
        hour_unit=hour_unit,
        money_scale=scale,
    )


def _eligibility(inst: Instance, cases: list, pid: dict[str, int]) -> np.ndarray:
    """C x P booleans: the spec's eligibility rules, before locks."""
    providers = inst.providers
    C, P = len(cases), len(providers)
    ok = np.ones((C, P), bool)
    # needs: every need must be among the provider's competences
    for need in {n for c in cases for n in c.needs}:
        has = np.array([need in p.competences for p in providers], bool)
        rows = np.array([need in c.needs for c in cases], bool)
        ok[rows] &= has
    # ages
    age = np.array([c.age for c in cases])[:, None]
    lo = np.array([-1 if p.min_age is None else p.min_age for p in providers])[None, :]
    hi = np.array([99 if p.max_age is None else p.max_age for p in providers])[None, :]
    ok &= (age >= lo) & (age <= hi)
    # districts: empty means all; a case without a district fits only those
    names = sorted({c.district for c in cases if c.district is not None})
    code = {d: n for n, d in enumerate(names)}
    case_code = np.array([code.get(c.district, len(names)) for c in cases], int)
    serves = np.ones((P, len(names) + 1), bool)  # last column: no district
    for i, p in enumerate(providers):
        if p.districts:
            serves[i] = False
            serves[i, [code[d] for d in p.districts if d in code]] = True
    ok &= serves[:, case_code].T
    for j, c in enumerate(cases):
        for p_id in c.forbidden_providers:
            ok[j, pid[p_id]] = False
    # providers that accept no new cases keep only their current ones
    closed = np.array([not p.accepts_new for p in providers], bool)
    if closed.any():
        current = np.array([pid.get(c.current_provider or "", NO) for c in cases], int)
        ok[:, closed] &= current[:, None] == np.flatnonzero(closed)[None, :]
    return ok
