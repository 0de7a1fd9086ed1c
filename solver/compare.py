"""Scenarios side by side: the base and each scenario solved alike, their figures in columns
and the cases that move between the base's allocation and each scenario's.

Each column is `solver.figures.figures` plus `saving` (base objective - column objective)
and `cost_saving` (base total cost - column total cost), DKK a year, exact until rounded
to the øre; None when either side has no allocation.

A case moves when its provider in the base allocation differs from the scenario's (None:
unassigned, closing, or not in that instance). Why, in one phrase: the first rule that
applies, where b is the case's provider in the base and s in the scenario:

1. the case is not in the scenario: "case is removed in the scenario"; not in the base:
   "new case in the scenario"; active in the base and closing in the scenario: "case closes
   in the scenario";
2. b is not in the scenario: "<b> is removed in the scenario"; s is not in the base:
   "<s> is new in the scenario";
3. the case's own record changed (references to removed providers aside): "the case's own
   data changed (<fields>)";
4. b's, then s's record or its offer for the case changed: "<p> is now paid in any case (not
   optional)" / "<p> is now optional (paid only when used)"; "new offer from <p>" / "<p>'s
   offer is withdrawn"; only prices (hourly_rate, fixed_cost, the offer's annual_cost), all by
   one percentage: "<p>'s prices rise 3%" (or fall; else "<p>'s prices change"); only
   capacity_hours and max_cases: "more capacity at <p>" / "less capacity at <p>" (both ways:
   "capacity changes at <p>"); otherwise "<p>'s terms change (<fields>)";
5. the weights changed: "weights changed (<fields>)"; weeks_per_year: "weeks per year
   changed";
6. a budget that counts b or s (in either instance) changed, appeared or went: "budget
   <name> changed";
7. s is optional with a fixed cost and takes no case in the base's allocation but some in
   the scenario's: "<s> takes cases in the scenario, so its fixed cost is paid anyway"; b
   is optional with a fixed cost and takes cases in the base's allocation but none in the
   scenario's: "<b> takes no case in the scenario (its fixed cost is saved)";
8. otherwise: "cheapest overall after the other changes" (placed elsewhere), "frees room for
   other cases after the other changes" (now unassigned), "room for it after the other
   changes" (now placed).

<p> is the provider's display name; only case ids, never case attributes, are shown.
Output: `render_text` (the terminal), `write_comparison` (.csv, .xlsx, .html or .json).
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

from solver.errors import InstanceError
from solver.figures import figures
from solver.instance import Case, Instance, Offer, Provider
from solver.io import dump_json, write_atomic
from solver.result import KIND_LABELS, Result, money
from solver.solve import SolveParams, solve

BASE = "base"
SUFFIXES = (".csv", ".xlsx", ".html", ".json")
PRICES = ("hourly_rate", "fixed_cost")
CAPACITY = ("capacity_hours", "max_cases")
MOVE_FIELDS = ("case", "base", "scenario", "why")


@dataclass
class Column:
    """One solved run: the base or a scenario (`moves` is None for the base, or when either
    side has no allocation)."""

    name: str
    instance: Instance
    result: Result
    figures: dict[str, Any]
    moves: list[dict[str, str | None]] | None = None


@dataclass
class Comparison:
    columns: list[Column]  # the base first
    params: SolveParams

    @property
    def base(self) -> Column:
        return self.columns[0]

    @property
    def scenarios(self) -> list[Column]:
        return self.columns[1:]

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "comparison/1",
            "base": self.base.instance.name,
            "params": {
                "time_limit": self.params.time_limit,
                "workers": self.params.workers,
                "seed": self.params.seed,
            },
            "columns": [
                {"name": c.name, "instance": c.instance.name, "figures": c.figures}
                | ({} if c is self.base else {"moves": c.moves})
                for c in self.columns
            ],
        }


def compare(
    base: Instance,
    scenarios: Sequence[tuple[str, Instance]],
    params: SolveParams,
    on_solve: Callable[[str], None] | None = None,
) -> Comparison:
    """Solve the base once and each (name, applied scenario instance) with the same params."""
    names = [BASE] + [name for name, _ in scenarios]
    for n, name in enumerate(names):
        if name in names[:n]:
            raise InstanceError([f"scenario name '{name}' is used twice (names head columns)"])
    columns = []
    for name, instance in [(BASE, base), *scenarios]:
        if on_solve is not None:
            on_solve(name)
        result = solve(instance, params)
        columns.append(Column(name, instance, result, figures(instance, result)))
    first = columns[0]
    for column in columns:
        column.figures["saving"] = _difference(first.result.objective, column.result.objective)
        column.figures["cost_saving"] = _difference(
            first.result.total_cost if first.result.objective is not None else None,
            column.result.total_cost if column.result.objective is not None else None,
        )
        if column is not first and None not in (first.result.objective, column.result.objective):
            column.moves = moves(first.instance, first.result, column.instance, column.result)
    return Comparison(columns, params)


def _difference(before: Fraction | None, after: Fraction | None) -> float | None:
    return None if before is None or after is None else money(before - after)


# --- moves and why ---------------------------------------------------------------------


def moves(
    base: Instance, base_result: Result, scenario: Instance, result: Result
) -> list[dict[str, str | None]]:
    """Every case (base order, then the scenario's new cases) whose provider differs."""
    before = {a["case"]: a["provider"] for a in base_result.assignments}
    after = {a["case"]: a["provider"] for a in result.assignments}
    old, new = _Records(base, set(before.values())), _Records(scenario, set(after.values()))
    ids = list(dict.fromkeys([*old.cases, *new.cases]))
    return [
        {"case": cid, "base": before.get(cid), "scenario": after.get(cid)}
        | {"why": _why(old, new, cid, before.get(cid), after.get(cid))}
        for cid in ids
        if before.get(cid) != after.get(cid)
    ]


class _Records:
    """An instance's records by id, looked up once per comparison, and the providers its
    allocation uses (`used`; empty when there is none)."""

    def __init__(self, instance: Instance, used: set[str] | None = None):
        self.instance = instance
        self.used = used or set()
        self.cases: dict[str, Case] = {c.id: c for c in instance.cases}
        self.providers: dict[str, Provider] = {p.id: p for p in instance.providers}
        self.offers: dict[tuple[str, str], Offer] = {
            (o.case, o.provider): o for o in instance.offers
        }


def why(
    base: Instance,
    scenario: Instance,
    case_id: str,
    b: str | None,
    s: str | None,
    used: tuple[set[str], set[str]] = (set(), set()),
) -> str:
    """Why the case moves from b to s, in one phrase (the module docstring's rules);
    `used`: the providers with cases in the base's and in the scenario's allocation."""
    return _why(_Records(base, used[0]), _Records(scenario, used[1]), case_id, b, s)


def _why(base: _Records, scenario: _Records, case_id: str, b: str | None, s: str | None) -> str:
    old_case, new_case = base.cases.get(case_id), scenario.cases.get(case_id)
    if new_case is None:
        return "case is removed in the scenario"
    if old_case is None:
        return "new case in the scenario"
    if old_case.active and not new_case.active:
        return "case closes in the scenario"
    old_providers, new_providers = base.providers, scenario.providers
    if b is not None and b not in new_providers:
        return f"{old_providers[b].display_name} is removed in the scenario"
    if s is not None and s not in old_providers:
        return f"{new_providers[s].display_name} is new in the scenario"
    changed = _case_changes(old_case, new_case, set(new_providers))
    if changed:
        return f"the case's own data changed ({', '.join(changed)})"
    for pid in (b, s):
        if pid is not None:
            phrase = _provider_change(base, scenario, case_id, pid)
            if phrase is not None:
                return phrase
    weights = _changed(base.instance.weights, scenario.instance.weights)
    if weights:
        return f"weights changed ({', '.join(weights)})"
    if base.instance.weeks_per_year != scenario.instance.weeks_per_year:
        return "weeks per year changed"
    budget = _budget_change(base, scenario, {b, s} - {None})
    if budget is not None:
        return f"budget {budget} changed"
    if s is not None and s in scenario.used - base.used and _opens(new_providers[s]):
        name = new_providers[s].display_name
        return f"{name} takes cases in the scenario, so its fixed cost is paid anyway"
    if b is not None and b in base.used - scenario.used and _opens(old_providers[b]):
        name = old_providers[b].display_name
        return f"{name} takes no case in the scenario (its fixed cost is saved)"
    if s is None:
        return "frees room for other cases after the other changes"
    if b is None:
        return "room for it after the other changes"
    return "cheapest overall after the other changes"


def _opens(provider: Provider) -> bool:
    """Whether the provider's fixed cost is paid only while it takes cases."""
    return bool(provider.optional and provider.fixed_cost)


def _changed(old: Any, new: Any) -> list[str]:
    return [f for f in type(old).model_fields if getattr(old, f) != getattr(new, f)]


def _case_changes(old: Case, new: Case, providers: set[str]) -> list[str]:
    """The case's changed fields, not counting references a provider removal dropped."""
    kept = old.model_copy(
        update={
            "relations": {p: v for p, v in old.relations.items() if p in providers},
            "forbidden_providers": tuple(p for p in old.forbidden_providers if p in providers),
        }
    )
    return _changed(kept, new)


def _provider_change(base: _Records, scenario: _Records, case_id: str, pid: str) -> str | None:
    old, new = base.providers[pid], scenario.providers[pid]
    name = new.display_name
    changed = _changed(old, new)
    if "optional" in changed:
        return (
            f"{name} is now optional (paid only when used)"
            if new.optional
            else f"{name} is now paid in any case (not optional)"
        )
    old_offer, new_offer = base.offers.get((case_id, pid)), scenario.offers.get((case_id, pid))
    if old_offer is None and new_offer is not None:
        return f"new offer from {name}"
    if old_offer is not None and new_offer is None:
        return f"{name}'s offer is withdrawn"
    prices = [(getattr(old, f), getattr(new, f)) for f in changed if f in PRICES]
    if old_offer is not None and new_offer is not None:
        if old_offer.annual_cost != new_offer.annual_cost:
            changed.append("offer")
            prices.append((old_offer.annual_cost, new_offer.annual_cost))
        if old_offer.hours_per_week != new_offer.hours_per_week:
            changed.append("offer hours")
    if not changed:
        return None
    if len(prices) == len(changed):
        steps = {_percent(before, after) for before, after in prices}
        step = steps.pop() if len(steps) == 1 else None
        if step:  # one percentage, not zero
            return f"{name}'s prices {'rise' if step > 0 else 'fall'} {abs(step)}%"
        return f"{name}'s prices change"
    if all(f in CAPACITY for f in changed):
        ups = {_more(getattr(old, f), getattr(new, f)) for f in changed}
        if ups == {True}:
            return f"more capacity at {name}"
        if ups == {False}:
            return f"less capacity at {name}"
        return f"capacity changes at {name}"
    return f"{name}'s terms change ({', '.join(changed)})"


def _percent(before: Decimal, after: Decimal) -> Decimal | None:
    """The change in percent to one decimal (trailing zero dropped); None from zero."""
    if before == 0:
        return None
    step = ((after / before - 1) * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return step.quantize(Decimal(1)) if step == step.to_integral_value() else step


def _more(before: Any, after: Any) -> bool:
    """More capacity after the change (None, no limit on cases, is the most)."""
    if before is None or after is None:
        return before is not None
    return after > before


def _budget_change(base: _Records, scenario: _Records, providers: set[str]) -> str | None:
    """The first budget that counts one of the providers and differs between the two."""

    def counted(records: _Records) -> list[str]:
        kinds = {p: records.providers[p].kind for p in providers if p in records.providers}
        return [
            b.name
            for b in records.instance.budgets
            if any(p in b.providers or kinds.get(p) in b.kinds for p in providers)
        ]

    old = {b.name: b for b in base.instance.budgets}
    new = {b.name: b for b in scenario.instance.budgets}
    names = counted(base) + counted(scenario)
    return next((name for name in names if old.get(name) != new.get(name)), None)


# --- figures as rows -------------------------------------------------------------------

LABELS = {
    "status": "status",
    "objective": "objective (DKK a year)",
    "bound": "bound",
    "saving": "saving against the base",
    "total_cost": "total cost",
    "cost_saving": "cost saving against the base",
    "active_cases": "active cases",
    "closing_cases": "closing cases",
    "placed": "placed",
    "unassigned": "unassigned",
    "with_relation": "with a known adult",
    "relations_kept": "known adult kept",
    "with_current": "with a current provider",
    "moves": "moved from the current provider",
}
GROUPS = {
    "penalties": "penalty",
    "cost_by_kind": "cost",
    "cost_by_budget": "budget",
    "cases_by_kind": "cases",
}
MONEY = {"objective", "bound", "saving", "total_cost", "cost_saving"}
MONEY_GROUPS = {"penalties", "cost_by_kind", "cost_by_budget"}
ORDER = {"saving": "bound", "cost_saving": "total_cost"}  # shown right after these


def rows(comparison: Comparison) -> list[tuple[str, str, bool, list[Any]]]:
    """(key, label, money?, one value per column): every figure, groups flattened to
    `group.item` (the union over the columns, in first-seen order)."""
    keys: dict[str, None] = {}
    for column in comparison.columns:
        for key, value in column.figures.items():
            if key in ORDER:
                continue
            if isinstance(value, dict):
                keys.update(dict.fromkeys(f"{key}.{item}" for item in value))
            else:
                keys[key] = None
            if key in ORDER.values():
                keys.update(dict.fromkeys(k for k, after in ORDER.items() if after == key))
    out = []
    for key in keys:
        group, _, item = key.partition(".")
        values = [
            column.figures.get(group, {}).get(item) if item else column.figures.get(key)
            for column in comparison.columns
        ]
        if item:
            shown = KIND_LABELS.get(item, item) if group.endswith("_by_kind") else item
            label = f"{GROUPS.get(group, group)}: {shown}"
        else:
            label = LABELS.get(key, key.replace("_", " "))
        out.append((key, label, key in MONEY or group in MONEY_GROUPS and bool(item), values))
    return out


def move_rows(comparison: Comparison) -> list[list[str | None]]:
    """[scenario, case, base provider, scenario provider, why] for every move."""
    return [
        [column.name, *(m[f] for f in MOVE_FIELDS)]
        for column in comparison.scenarios
        for m in column.moves or []
    ]


def _text(value: Any, is_money: bool) -> str:
    if value is None:
        return "-"
    if is_money:
        return f"{value:,.2f}".replace(",", " ")
    return str(value)


def render_text(comparison: Comparison) -> str:
    """The figures, one column per run, then the moves per scenario."""
    table = [["", *(c.name for c in comparison.columns)]]
    table += [[label, *(_text(v, m) for v in values)] for _, label, m, values in rows(comparison)]
    widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
    lines = [
        "  ".join(
            [r[0].ljust(widths[0]), *(v.rjust(w) for v, w in zip(r[1:], widths[1:], strict=True))]
        )
        for r in table
    ]
    for column in comparison.scenarios:
        lines.append("")
        if column.moves is None:
            lines.append(f"{column.name}: no allocation on one side, so no moves to list")
            continue
        lines.append(f"{column.name}: {len(column.moves)} case(s) move")
        moved = [[m["case"], m["base"] or "-", m["scenario"] or "-"] for m in column.moves]
        width = [max([0, *(len(r[i]) for r in moved)]) for i in range(3)]
        for row, m in zip(moved, column.moves, strict=True):
            case, before, after = (v.ljust(w) for v, w in zip(row, width, strict=True))
            lines.append(f"  {case}  {before} -> {after}  {m['why']}")
    return "\n".join(lines)


# --- files -----------------------------------------------------------------------------


def output_format(path: str | os.PathLike[str]) -> str:
    """'csv', 'xlsx', 'html' or 'json' from the file's suffix; InstanceError otherwise."""
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise InstanceError(
            [f"{path}: the file must end in {', '.join(SUFFIXES[:-1])} or {SUFFIXES[-1]}"]
        )
    return suffix[1:]


def write_comparison(comparison: Comparison, path: str | os.PathLike[str]) -> None:
    """Write the comparison atomically, in the format its suffix names."""
    kind = output_format(path)
    data: str | bytes
    if kind == "json":
        data = dump_json(comparison.to_dict())
    elif kind == "csv":
        data = comparison_csv(comparison)
    elif kind == "xlsx":
        from solver.tables import _workbook_bytes

        data = _workbook_bytes(comparison_workbook(comparison))
    else:
        data = render_html(comparison)
    write_atomic(path, data)


def comparison_csv(comparison: Comparison) -> bytes:
    """UTF-8 with a BOM (Excel opens it as such): the figures (`figure`, one column per
    run), a blank line, then the moves (`scenario,case,base,scenario_provider,why`)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(["figure", *(c.name for c in comparison.columns)])
    writer.writerows([key, *values] for key, _, _, values in rows(comparison))
    writer.writerow([])
    writer.writerow(["scenario", "case", "base", "scenario_provider", "why"])
    writer.writerows(move_rows(comparison))
    return buffer.getvalue().encode("utf-8-sig")


def comparison_workbook(comparison: Comparison) -> Any:
    """Sheets `figures` (one row per figure, one column per run) and `moves`."""
    from openpyxl import Workbook

    from solver.tables import _DKK, add_sheet

    workbook = Workbook()
    workbook.remove(workbook.active)
    table = rows(comparison)
    ws = add_sheet(
        workbook,
        "figures",
        ["figure", *(c.name for c in comparison.columns)],
        [[key, *values] for key, _, _, values in table],
        {},
    )
    for n, (_, _, is_money, _) in enumerate(table, start=2):
        if is_money:
            for cell in ws[n][1:]:
                cell.number_format = _DKK
    add_sheet(
        workbook,
        "moves",
        ["scenario", "case", "base", "scenario_provider", "why"],
        move_rows(comparison),
        {},
    )
    return workbook


def render_html(comparison: Comparison, generated: datetime | None = None) -> str:
    """A self-contained page in the report's style: the figures, then the moves."""
    from solver.report import LABELS as REPORT
    from solver.report import e, fmt_money, fmt_number, page

    lang = "en"

    def cell(value: Any, is_money: bool, key: str) -> str:
        if value is None:
            return '<td class="num muted">–</td>'
        if isinstance(value, str):
            return f'<td class="num">{e(value)}</td>'
        saving = key in ORDER
        text = fmt_money(value, lang, sign=saving) if is_money else fmt_number(value, lang)
        tone = " good" if saving and value > 0 else " warn" if saving and value < 0 else ""
        return f'<td class="num{tone}">{e(text)}</td>'

    head = "".join(f'<th class="num">{e(c.name)}</th>' for c in comparison.columns)
    body = "".join(
        f"<tr><th>{e(label)}</th>{''.join(cell(v, m, key) for v in values)}</tr>"
        for key, label, m, values in rows(comparison)
    )
    figures_html = (
        '<p class="lead">DKK a year; each run solved with the same time limit, workers and '
        f"seed (time limit {e(comparison.params.time_limit)} s, workers "
        f"{e(comparison.params.workers)}, seed {e(comparison.params.seed)}). Savings are "
        "the base's figure minus the scenario's.</p>"
        f'<table class="data"><thead><tr><th>Figure</th>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table>"
    )
    parts = []
    for column in comparison.scenarios:
        parts.append(f"<h3>{e(column.name)}</h3>")
        if column.moves is None:
            parts.append('<p class="note warn">No allocation on one side: no moves.</p>')
        elif not column.moves:
            parts.append('<p class="note good">No case moves.</p>')
        else:
            trs = "".join(
                f'<tr><td class="id">{e(m["case"])}</td><td>{_name(comparison, m["base"])}</td>'
                f'<td>{_name(comparison, m["scenario"])}</td><td class="reason">{e(m["why"])}'
                "</td></tr>"
                for m in column.moves
            )
            parts.append(
                '<table class="data"><thead><tr><th>Case</th><th>Base</th><th>Scenario</th>'
                f"<th>Why</th></tr></thead><tbody>{trs}</tbody></table>"
            )
    sections = [
        ("figures", "Figures", figures_html),
        ("moves", "Cases that move", "\n".join(parts)),
    ]
    return page(
        lang,
        "Scenarios side by side",
        REPORT[lang]["eyebrow"],
        comparison.base.instance.name,
        generated or datetime.now(),
        sections,
        REPORT[lang]["footer"],
    )


def _name(comparison: Comparison, pid: str | None) -> str:
    """A provider's display name (escaped) from any run's instance; '–' for none."""
    from solver.report import e

    if pid is None:
        return '<span class="muted">–</span>'
    for column in comparison.columns:
        for p in column.instance.providers:
            if p.id == pid:
                return e(p.display_name)
    return e(pid)
