"""The data model of the allocation-instance/1 format (docs/instance-format.md).

Every record is a frozen pydantic model with the spec's defaults. Field-level rules
(types, signs, decimals, ranges, unknown fields) live on the fields; rules that span
records (unique ids, references, relation levels, kinds in budgets) live in
`Instance._check_references`. Parsing JSON and turning pydantic's errors into one line per
problem is `solver.io`'s job.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from solver.errors import InstanceError
from solver.privacy import cpr_problems

FORMAT = "allocation-instance/1"
Kind = Literal[
    "club",
    "family_house",
    "internal_corps",
    "internal_purchase",
    "external",
    "labour_market",
]
KINDS: tuple[str, ...] = get_args(Kind)


def _to_decimal(value: object) -> Decimal:
    """Accept JSON numbers (int, Decimal, float) as exact decimals with at most 2 places."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise PydanticCustomError("number_type", "must be a number")
    number = value if isinstance(value, Decimal) else Decimal(str(value))
    if not number.is_finite():
        raise PydanticCustomError("finite_number", "must be a finite number")
    if number.as_tuple().exponent < -2 and number != number.quantize(Decimal("0.01")):
        raise PydanticCustomError("decimals", "has more than 2 decimals")
    return number


def _number(schema: dict[str, object]) -> object:
    return WithJsonSchema({"type": "number", "multipleOf": 0.01, **schema})


Number = Annotated[Decimal, BeforeValidator(_to_decimal), _number({})]
NonNegative = Annotated[Decimal, BeforeValidator(_to_decimal), Field(ge=0), _number({"minimum": 0})]
Positive = Annotated[
    Decimal, BeforeValidator(_to_decimal), Field(gt=0), _number({"exclusiveMinimum": 0})
]
# Lax mode would turn "3" into 3 and "yes" into True: ints, bools and strings are strict.
Int = Annotated[int, Strict()]
Count = Annotated[Int, Field(ge=0)]
Age = Annotated[Int, Field(ge=0, le=30)]
Level = Annotated[Int, Field(ge=1, le=3)]
Text = Annotated[str, Strict()]
Flag = Annotated[bool, Strict()]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Provider(_Record):
    id: Text
    name: Text | None = None
    kind: Kind
    capacity_hours: NonNegative
    max_cases: Count | None = None
    hourly_rate: NonNegative = Decimal(0)
    included_hours: NonNegative = Decimal(0)
    fixed_cost: NonNegative = Decimal(0)
    optional: Flag = False
    competences: tuple[Text, ...] = ()
    districts: tuple[Text, ...] = ()
    min_age: Int | None = None
    max_age: Int | None = None
    accepts_new: Flag = True

    @property
    def display_name(self) -> str:
        return self.name if self.name is not None else self.id


class Case(_Record):
    id: Text
    age: Age
    district: Text | None = None
    hours_per_week: Positive
    needs: tuple[Text, ...] = ()
    family: Text | None = None
    current_provider: Text | None = None
    relations: dict[Text, Level] = Field(default_factory=dict)
    payer: Text = "default"
    status: Literal["active", "closing"] = "active"
    must_provider: Text | None = None
    forbidden_providers: tuple[Text, ...] = ()

    @property
    def active(self) -> bool:
        return self.status == "active"


class Offer(_Record):
    case: Text
    provider: Text
    annual_cost: NonNegative
    hours_per_week: Positive | None = None


class Budget(_Record):
    name: Text
    kinds: tuple[Kind, ...] = ()
    providers: tuple[Text, ...] = ()
    max_annual_cost: NonNegative


class Weights(_Record):
    relation_per_level: NonNegative = Decimal(25000)
    continuity: NonNegative = Decimal(15000)
    family_split: NonNegative = Decimal(20000)
    kind_penalty: dict[Kind, NonNegative] = Field(default_factory=dict)
    unassigned: NonNegative = Decimal(10000000)


class Instance(_Record):
    format: Literal["allocation-instance/1"] = FORMAT
    name: Text
    weeks_per_year: Positive = Decimal(46)
    providers: Annotated[tuple[Provider, ...], Field(min_length=1)]
    cases: tuple[Case, ...]
    offers: tuple[Offer, ...] = ()
    budgets: tuple[Budget, ...] = ()
    weights: Weights = Weights()

    @model_validator(mode="before")
    @classmethod
    def _refuse_cpr(cls, data: object) -> object:
        problems = cpr_problems(data)
        if problems:
            raise InstanceError(problems)
        return data

    @model_validator(mode="after")
    def _check_references(self) -> Instance:
        problems = reference_problems(self)
        if problems:
            raise InstanceError(problems)
        return self

    # Convenience look-ups (not stored: the model stays a plain record of the file).
    def provider(self, provider_id: str) -> Provider:
        return next(p for p in self.providers if p.id == provider_id)

    def case(self, case_id: str) -> Case:
        return next(c for c in self.cases if c.id == case_id)


def reference_problems(inst: Instance) -> list[str]:
    """Every broken cross-record rule of the spec's Validation section, in file order."""
    problems: list[str] = []
    provider_ids: set[str] = set()
    for p in inst.providers:
        if p.id in provider_ids:
            problems.append(f"provider {p.id}: id is used by another provider")
        provider_ids.add(p.id)

    def unknown(record: str, field: str, ids: object) -> None:
        for pid in [ids] if isinstance(ids, str) else ids:
            if pid not in provider_ids:
                problems.append(f"{record}: {field} names unknown provider '{pid}'")

    case_ids: set[str] = set()
    for c in inst.cases:
        record = f"case {c.id}"
        if c.id in case_ids:
            problems.append(f"{record}: id is used by another case")
        case_ids.add(c.id)
        unknown(record, "relations", c.relations)
        if c.must_provider is not None:
            unknown(record, "must_provider", c.must_provider)
        unknown(record, "forbidden_providers", c.forbidden_providers)

    pairs: set[tuple[str, str]] = set()
    for n, o in enumerate(inst.offers, start=1):
        record = f"offer #{n} ({o.case} at {o.provider})"
        if o.case not in case_ids:
            problems.append(f"{record}: case names unknown case '{o.case}'")
        unknown(record, "provider", o.provider)
        if (o.case, o.provider) in pairs:
            problems.append(f"{record}: provider has a second offer for this case")
        pairs.add((o.case, o.provider))

    for b in inst.budgets:
        unknown(f"budget {b.name}", "providers", b.providers)
    return problems
