"""Scenarios: documented changes to a base instance (docs/scenario-format.md).

A scenario is a JSON document (`allocation-scenario/1`) with a list of changes, applied in
order to the base instance's records:

    set      target providers|cases|offers|budgets (with `where`), weights or instance:
             give fields new values (null puts a field back to its default)
    add      target providers|cases|offers|budgets: new records
    remove   target providers|cases|offers|budgets (with `where`): records go, and so do
             the references to them (offers, relations, forbidden providers, budgets'
             providers); a case locked to a removed provider is refused
    close    cases (with `where`): status closing
    price_index  factor, providers (`where`), fields: multiply hourly rates, fixed costs
             and the providers' offers, rounded to the øre
    lock     cases (with `where`) to a provider id, or to their current provider
    unlock   cases (with `where`): no must_provider

`where` selects records by field: a value (equal; for a list field: contains; for
relations: has a relation to), a list of values (any of them), or {"min", "max"}
(inclusive range). A `where` that matches no record is refused (a typo in an id must not
silently do nothing). The result is validated as a whole v1 instance, so it gets the same
one-line errors as an instance file, prefixed with the scenario's name.
"""

from __future__ import annotations

import difflib
import os
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from solver.errors import InstanceError, field_name
from solver.instance import Budget, Case, Instance, Offer, Provider, Weights
from solver.io import parse_json, validate_instance, validate_record
from solver.privacy import cpr_problems

FORMAT = "allocation-scenario/1"
RECORDS: dict[str, type[BaseModel]] = {
    "providers": Provider,
    "cases": Case,
    "offers": Offer,
    "budgets": Budget,
}
SINGULAR = {"providers": "provider", "cases": "case", "offers": "offer", "budgets": "budget"}
IDENTITY = {
    "providers": ("id",),
    "cases": ("id",),
    "offers": ("case", "provider"),
    "budgets": ("name",),
}
PRICED = ("hourly_rate", "fixed_cost", "offers")

Scalar = str | int | float | bool | None


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number")
    return value


Bound = Annotated[float, BeforeValidator(_not_bool), Field(allow_inf_nan=False)]


class Range(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    min: Bound | None = None
    max: Bound | None = None


Condition = Scalar | list[Scalar] | Range
Where = dict[str, Condition]


class _Change(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    note: str | None = Field(None, description="why: shown in listings")


class SetChange(_Change):
    op: Literal["set"]
    target: Literal["providers", "cases", "offers", "budgets", "weights", "instance"]
    where: Where = Field(default_factory=dict)
    fields: dict[str, Any]


class AddChange(_Change):
    op: Literal["add"]
    target: Literal["providers", "cases", "offers", "budgets"]
    records: list[dict[str, Any]] = Field(min_length=1)


class RemoveChange(_Change):
    op: Literal["remove"]
    target: Literal["providers", "cases", "offers", "budgets"]
    where: Where


class CloseChange(_Change):
    op: Literal["close"]
    where: Where


class PriceChange(_Change):
    op: Literal["price_index"]
    factor: float = Field(gt=0, allow_inf_nan=False)
    where: Where = Field(default_factory=dict, description="providers whose prices change")
    fields: list[Literal["hourly_rate", "fixed_cost", "offers"]] = list(PRICED)


class LockChange(_Change):
    op: Literal["lock"]
    where: Where
    provider: str = Field(description="a provider id, or 'current' for the current provider")


class UnlockChange(_Change):
    op: Literal["unlock"]
    where: Where = Field(default_factory=dict)


Change = Annotated[
    SetChange | AddChange | RemoveChange | CloseChange | PriceChange | LockChange | UnlockChange,
    Field(discriminator="op"),
]


class Scenario(BaseModel):
    """Changes to a base instance, applied in order."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    format: Literal["allocation-scenario/1"] = FORMAT
    name: str
    description: str | None = None
    changes: list[Change] = Field(default_factory=list)


def load_scenario(path: str | os.PathLike[str]) -> Scenario:
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = "is not UTF-8 text" if isinstance(exc, UnicodeDecodeError) else "cannot be read"
        raise InstanceError([f"{path}: {reason}"]) from None
    return parse_scenario(parse_json(text, str(path)), str(path))


def parse_scenario(raw: Any, source: str = "scenario") -> Scenario:
    """Validate a raw scenario document, one line per problem naming the change and field."""
    if not isinstance(raw, dict):
        raise InstanceError([f"{source}: a scenario must be a JSON object"])
    cpr = cpr_problems(raw)
    if cpr:
        lines = [re.sub(r"^instance: changes\[(\d+)\]\.", r"change #\1: ", x) for x in cpr]
        raise InstanceError([f"{source}: {line}" for line in lines])
    try:
        return Scenario.model_validate(raw)
    except ValidationError as exc:
        lines: list[str] = []
        for err in exc.errors():
            loc = list(err["loc"])
            where = "scenario"
            if loc[:1] == ["changes"] and len(loc) > 1 and isinstance(loc[1], int):
                where, loc = f"change #{loc[1] + 1}", loc[2:]
                if loc and loc[0] in _OPS:  # pydantic names the union member: drop it
                    loc = loc[1:]
            kind, ctx = err["type"], err.get("ctx", {})
            message = str(err["msg"]).rstrip(".")
            if kind == "extra_forbidden":
                message = "is not a field of the scenario format"
            elif kind == "union_tag_invalid":
                loc, message = ["op"], f"must be one of {', '.join(_OPS)}"
            elif kind in _MESSAGES:
                message = _MESSAGES[kind].format(**ctx)
            if loc[:1] == ["where"] and len(loc) > 2:  # one line per condition, not per type
                loc, message = loc[:2], 'must be a value, a list of values or {"min", "max"}'
            field = field_name(loc)
            line = f"{source}: {where}: {field} {message}"
            if line not in lines:
                lines.append(line)
        raise InstanceError(lines) from None


_OPS = ("set", "add", "remove", "close", "price_index", "lock", "unlock")
_MESSAGES = {  # pydantic's error types in the words of the instance errors
    "missing": "is required",
    "greater_than": "must be > {gt:g}",
    "float_parsing": "must be a number",
    "float_type": "must be a number",
    "finite_number": "must be a finite number",
    "string_type": "must be a text string",
    "dict_type": "must be an object",
    "model_type": "must be an object",
    "list_type": "must be a list",
    "too_short": "must not be empty",
    "literal_error": "must be one of {expected}",
}


def apply(base: Instance, scenario: Scenario) -> Instance:
    """The base instance with the scenario's changes: a validated v1 instance."""
    doc = _plain(base.model_dump())
    doc["name"] = f"{base.name} / {scenario.name}"
    for n, change in enumerate(scenario.changes, start=1):
        label = f"scenario {scenario.name}: change #{n} ({change.op}"
        label += f" {change.target})" if hasattr(change, "target") else ")"
        try:
            _APPLY[change.op](doc, change)
        except _Refused as exc:
            raise InstanceError([f"{label}: {exc}"]) from None
        except InstanceError as exc:  # a record it added or set is not valid on its own
            raise InstanceError([f"scenario {scenario.name}: {x}" for x in exc.lines]) from None
    try:
        return validate_instance(doc)
    except InstanceError as exc:
        raise InstanceError([f"scenario {scenario.name}: {line}" for line in exc.lines]) from None


class _Refused(Exception):
    pass


def _plain(value: Any) -> Any:
    """model_dump's tuples as lists, so records can be edited in place."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _select(doc: dict, target: str, where: Where, required: bool = True) -> list[dict]:
    model = RECORDS[target]
    for name in where:
        if name not in model.model_fields:
            close = difflib.get_close_matches(name, list(model.model_fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _Refused(f"where.{name} is not a field of a {SINGULAR[target]}{hint}")
    chosen = [r for r in doc[target] if all(_matches(r.get(k), c) for k, c in where.items())]
    if required and not chosen:
        raise _Refused(f"where matches no {SINGULAR[target]}")
    return chosen


def _matches(value: Any, condition: Condition) -> bool:
    if isinstance(condition, Range):
        if value is None or isinstance(value, list | dict | str | bool):
            return False
        low = condition.min is None or value >= Decimal(str(condition.min))
        return low and (condition.max is None or value <= Decimal(str(condition.max)))
    options = condition if isinstance(condition, list) else [condition]
    if isinstance(value, list | dict):  # a list field contains, relations has a key
        return any(o in value for o in options)
    return any(_equal(value, o) for o in options)


def _equal(value: Any, option: Scalar) -> bool:
    if _is_number(value) and _is_number(option):  # 18 == 18.0 == Decimal("18.00")
        return Decimal(str(value)) == Decimal(str(option))
    return type(value) is type(option) and value == option or (value is None and option is None)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _whole(doc: dict, target: str, records: list[dict]) -> None:
    """Replace the records by their validated dumps (defaults filled in, values checked),
    so later changes see whole records; `InstanceError` for one that is not valid."""
    at = {id(r): n for n, r in enumerate(doc[target])}
    for record in records:
        n = at[id(record)]
        doc[target][n] = _plain(validate_record(doc, target, n).model_dump())


def _set(doc: dict, change: SetChange) -> None:
    if change.target in ("weights", "instance"):
        if change.where:
            raise _Refused("where is for records; weights and instance are one each")
        record = doc["weights"] if change.target == "weights" else doc
        model = Weights if change.target == "weights" else Instance
        records = [record]
    else:
        records = _select(doc, change.target, change.where)
        model = RECORDS[change.target]
    fixed = {"instance": ("providers", "cases", "offers", "budgets", "weights", "format")}
    for key, value in change.fields.items():
        if key not in model.model_fields or key in fixed.get(change.target, ()):
            close = difflib.get_close_matches(key, list(model.model_fields), n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise _Refused(f"fields.{key} cannot be set on {change.target}{hint}")
        if key in IDENTITY.get(change.target, ()):
            raise _Refused(f"fields.{key} is the record's identity: remove and add instead")
        default = model.model_fields[key].get_default(call_default_factory=True)
        for record in records:
            record[key] = _plain(default) if value is None else value
    if change.target in RECORDS:
        _whole(doc, change.target, records)


def _add(doc: dict, change: AddChange) -> None:
    added = [dict(r) for r in change.records]
    doc[change.target].extend(added)
    _whole(doc, change.target, added)


def _remove(doc: dict, change: RemoveChange) -> None:
    gone = _select(doc, change.target, change.where)
    chosen = {id(r) for r in gone}
    doc[change.target] = [r for r in doc[change.target] if id(r) not in chosen]
    if change.target == "providers":
        ids = {r["id"] for r in gone}
        locked = [c["id"] for c in doc["cases"] if c.get("must_provider") in ids]
        if locked:
            raise _Refused(f"case {locked[0]} is locked to a removed provider (unlock it first)")
        doc["offers"] = [o for o in doc["offers"] if o["provider"] not in ids]
        for c in doc["cases"]:
            c["relations"] = {p: v for p, v in c["relations"].items() if p not in ids}
            c["forbidden_providers"] = [p for p in c["forbidden_providers"] if p not in ids]
        for b in doc["budgets"]:
            b["providers"] = [p for p in b["providers"] if p not in ids]
    elif change.target == "cases":
        ids = {r["id"] for r in gone}
        doc["offers"] = [o for o in doc["offers"] if o["case"] not in ids]


def _close(doc: dict, change: CloseChange) -> None:
    for case in _select(doc, "cases", change.where):
        case["status"] = "closing"


def _price(doc: dict, change: PriceChange) -> None:
    factor = Decimal(str(change.factor))
    providers = _select(doc, "providers", change.where)
    for p in providers:
        for key in ("hourly_rate", "fixed_cost"):
            if key in change.fields:
                p[key] = _scaled(p[key], factor)
    if "offers" in change.fields:
        ids = {p["id"] for p in providers}
        for o in doc["offers"]:
            if o["provider"] in ids:
                o["annual_cost"] = _scaled(o["annual_cost"], factor)


def _scaled(value: Decimal, factor: Decimal) -> Decimal:
    return (value * factor).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def _lock(doc: dict, change: LockChange) -> None:
    ids = {p["id"] for p in doc["providers"]}
    for case in _select(doc, "cases", change.where):
        provider = case["current_provider"] if change.provider == "current" else change.provider
        if provider not in ids:
            what = "its current provider" if change.provider == "current" else "provider"
            raise _Refused(f"case {case['id']}: {what} is not in the instance")
        case["must_provider"] = provider


def _unlock(doc: dict, change: UnlockChange) -> None:
    for case in _select(doc, "cases", change.where):
        case["must_provider"] = None


_APPLY = {
    "set": _set,
    "add": _add,
    "remove": _remove,
    "close": _close,
    "price_index": _price,
    "lock": _lock,
    "unlock": _unlock,
}


def schema() -> dict[str, Any]:
    """The scenario format's JSON Schema."""
    document = Scenario.model_json_schema()
    document["$id"] = "allocation-scenario/1"
    document["title"] = "Allocation scenario, version 1"
    return document
