"""The committee's meeting report: one self-contained HTML file, in Danish or English.

`render_report` is a pure function from the instance, the allocation/1 document, the budget
table (`solver.budget.budget_table`) and optionally the per-case explanations
(`solver.explain.explain`) to the HTML text; `write_report` writes it atomically.

The file needs nothing else: the CSS is inline, the two charts are inline SVG, there is no
JavaScript, no font, image or script is fetched. Every text that comes from the instance or
the allocation (names, ids, payers, reasons) is HTML-escaped. Only the instance's
pseudonymous case ids appear; the format has no names of children.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from solver.budget import KIND_ORDER
from solver.checker import ineligibility
from solver.instance import Instance
from solver.io import write_atomic

LANGS = ("da", "en")
PENALTY_ORDER = ("relation", "continuity", "family", "kind", "unassigned")

LABELS: dict[str, dict[str, str]] = {
    "da": {
        "title": "Fordeling af kontaktpersonsager",
        "eyebrow": "Fordelingsudvalget · Kontaktperson efter servicelovens § 52, stk. 3, nr. 6",
        "generated": "Dannet",
        "summary": "Resumé",
        "budget": "Budgettabel",
        "charts": "Udgift og udnyttelse",
        "allocation": "Fordeling",
        "unassigned": "Ikke placeret",
        "alternatives": "Alternativer",
        "utilisation": "Udnyttelse",
        "providers": "Leverandører",
        "instance": "Instans",
        "solution": "Løsning",
        "status": "Status",
        "objective": "Samlet mål (udgift + strafpoint)",
        "bound": "Bevist nedre grænse",
        "gap": "Afstand til grænse",
        "total_cost": "Samlet udgift",
        "penalties": "Strafpoint",
        "cases_placed": "Placerede sager",
        "cases_unassigned": "Ikke placerede sager",
        "cases_closing": "Sager der afsluttes",
        "of": "af",
        "saving": "Besparelse",
        "increase": "Merudgift",
        "total": "I alt",
        "kind": "Type",
        "baseline": "I dag",
        "proposal": "Forslag",
        "change": "Ændring",
        "budget_name": "Budget",
        "cap": "Loft",
        "headroom": "Råderum",
        "payer": "Betaler",
        "cases": "Sager",
        "by_kind": "Udgift efter leverandørtype",
        "by_budget": "Budgetter med loft",
        "by_payer": "Udgift efter betaler",
        "not_attributed": "Ikke fordelt (faste udgifter hos leverandører uden sager)",
        "baseline_notes": "Om tallene for i dag",
        "money_note": "Alle beløb i kr. pr. år. »I dag«: hver aktiv sag hos sin nuværende "
        "leverandør. »Forslag«: fordelingen i denne rapport.",
        "chart_cost": "Udgift efter leverandørtype, i dag og forslag",
        "chart_util": "Udnyttelse af kapacitet (timer pr. uge)",
        "mio": "mio. kr.",
        "case": "Sag",
        "case_one": "sag",
        "provider": "Leverandør",
        "hours": "Timer/uge",
        "relation": "Kendt voksen",
        "continuity": "Kontinuitet",
        "locked": "Låst",
        "reason": "Begrundelse",
        "kept": "bevaret",
        "moved_from": "flyttet fra",
        "closed_provider": "lukket",
        "new_case": "ny sag",
        "yes_locked": "låst",
        "capacity": "Kapacitet",
        "max_cases": "maks.",
        "annual_cost": "Udgift",
        "closed": "lukket",
        "h": "t",
        "all_placed": "Alle aktive sager er placeret.",
        "needs": "Behov",
        "age": "Alder",
        "current": "I dag hos",
        "alt_intro": "De tre bedste alternativer for hver sag: ændringen i samlet mål "
        "(udgift + strafpoint, kr. pr. år), hvis sagen placeres der og resten af fordelingen "
        "løses igen. »ikke bevist«: genberegningen nåede ikke at bevise sit optimum.",
        "alt_n": "alternativ",
        "not_proven": "ikke bevist",
        "not_proven_title": "Tallet er fundet, men ikke bevist optimalt",
        "infeasible": "umulig",
        "no_alternatives": "ingen andre mulige leverandører",
        "moves": "flytter også",
        "more": "flere",
        "no_allocation": "Der er ingen fordeling at vise.",
        "conflicts": "Regler i konflikt",
        "locked_reason": "låst af udvalget",
        "offer": "tilbud",
        "per_year": "om året",
        "only_option": "eneste mulige leverandør",
        "options": "mulige leverandører",
        "siblings_with": "søskende samme sted",
        "siblings_at": "søskende hos",
        "next_best": "næstbedste",
        "unassigned_word": "ikke placeret",
        "footer": "Fordelingen er beregnet med en CP-SAT-model (OR-Tools) efter "
        "instansformatet i docs/instance-format.md. Kun pseudonyme sags-id'er; "
        "ingen navne eller CPR-numre.",
        "pen_relation": "Kendt voksen mistet",
        "pen_continuity": "Kontinuitet brudt",
        "pen_family": "Søskende adskilt",
        "pen_kind": "Leverandørtype",
        "pen_unassigned": "Ikke placeret",
        "st_optimal": "Optimal (bevist)",
        "st_feasible": "Gyldig, ikke bevist optimal",
        "st_infeasible": "Ingen gyldig fordeling",
        "st_unknown": "Ingen fordeling fundet",
        "k_external": "Ekstern",
        "k_internal_purchase": "Internt køb",
        "k_family_house": "Familiehuset",
        "k_club": "Klubber",
        "k_labour_market": "Beskæftigelse",
        "k_internal_corps": "Kontaktpersonkorps",
        "alternatives_missing": "Alternativer er ikke beregnet.",
    },
    "en": {
        "title": "Allocation of contact-person cases",
        "eyebrow": "Distribution committee · Contact person, Service Act s. 52(3)(6)",
        "generated": "Generated",
        "summary": "Summary",
        "budget": "Budget table",
        "charts": "Cost and utilisation",
        "allocation": "Allocation",
        "unassigned": "Unassigned",
        "alternatives": "Alternatives",
        "utilisation": "Utilisation",
        "providers": "Providers",
        "instance": "Instance",
        "solution": "Solution",
        "status": "Status",
        "objective": "Objective (cost + penalties)",
        "bound": "Proven lower bound",
        "gap": "Gap to bound",
        "total_cost": "Total cost",
        "penalties": "Penalties",
        "cases_placed": "Cases placed",
        "cases_unassigned": "Cases unassigned",
        "cases_closing": "Closing cases",
        "of": "of",
        "saving": "Saving",
        "increase": "Extra cost",
        "total": "Total",
        "kind": "Kind",
        "baseline": "Baseline",
        "proposal": "Proposal",
        "change": "Change",
        "budget_name": "Budget",
        "cap": "Cap",
        "headroom": "Headroom",
        "payer": "Payer",
        "cases": "Cases",
        "by_kind": "Cost by provider kind",
        "by_budget": "Budgets with caps",
        "by_payer": "Cost by payer",
        "not_attributed": "Not attributed (fixed costs of providers without cases)",
        "baseline_notes": "About the baseline",
        "money_note": "All amounts in DKK a year. Baseline: every active case at its current "
        "provider. Proposal: the allocation in this report.",
        "chart_cost": "Cost by provider kind, baseline and proposal",
        "chart_util": "Capacity utilisation (hours a week)",
        "mio": "DKK million",
        "case": "Case",
        "case_one": "case",
        "provider": "Provider",
        "hours": "Hours/week",
        "relation": "Known adult",
        "continuity": "Continuity",
        "locked": "Locked",
        "reason": "Reason",
        "kept": "kept",
        "moved_from": "moved from",
        "closed_provider": "closed",
        "new_case": "new case",
        "yes_locked": "locked",
        "capacity": "Capacity",
        "max_cases": "max.",
        "annual_cost": "Cost",
        "closed": "closed",
        "h": "h",
        "all_placed": "Every active case is placed.",
        "needs": "Needs",
        "age": "Age",
        "current": "Today at",
        "alt_intro": "The three best alternatives for each case: the change in the objective "
        "(cost + penalties, DKK a year) if the case is placed there and the rest of the "
        "allocation is solved again. 'not proven': the re-solve did not prove its optimum.",
        "alt_n": "alternative",
        "not_proven": "not proven",
        "not_proven_title": "Found, but not proven optimal",
        "infeasible": "infeasible",
        "no_alternatives": "no other eligible provider",
        "moves": "also moves",
        "more": "more",
        "no_allocation": "There is no allocation to show.",
        "conflicts": "Clashing rules",
        "locked_reason": "locked by the committee",
        "offer": "offer",
        "per_year": "a year",
        "only_option": "the only eligible provider",
        "options": "eligible providers",
        "siblings_with": "with sibling",
        "siblings_at": "sibling at",
        "next_best": "next best",
        "unassigned_word": "unassigned",
        "footer": "The allocation is computed with a CP-SAT model (OR-Tools) following the "
        "instance format in docs/instance-format.md. Pseudonymous case ids only; no names or "
        "CPR numbers.",
        "pen_relation": "Known adult lost",
        "pen_continuity": "Continuity broken",
        "pen_family": "Siblings split",
        "pen_kind": "Provider kind",
        "pen_unassigned": "Unassigned",
        "st_optimal": "Optimal (proven)",
        "st_feasible": "Feasible, not proven optimal",
        "st_infeasible": "No feasible allocation",
        "st_unknown": "No allocation found",
        "k_external": "External",
        "k_internal_purchase": "Internal purchase",
        "k_family_house": "Family House",
        "k_club": "Clubs",
        "k_labour_market": "Labour market",
        "k_internal_corps": "Internal corps",
        "alternatives_missing": "Alternatives were not computed.",
    },
}
MONTHS = {
    "da": "januar februar marts april maj juni juli august september oktober november december",
    "en": "January February March April May June July August September October November December",
}
KIND_COLOURS = {
    "external": "#c2562f",
    "internal_purchase": "#8a6bb0",
    "family_house": "#2f8f6f",
    "club": "#2c6fb3",
    "labour_market": "#c9a227",
    "internal_corps": "#6b7785",
}
BASELINE_COLOUR = "#aab4bf"
PROPOSAL_COLOUR = "#1d5a96"
MINUS = "\u2212"
NBSP = "\u00a0"


def e(value: Any) -> str:
    """HTML-escaped text (quotes too, so it is safe in attributes)."""
    return html.escape("" if value is None else str(value), quote=True)


# --- numbers -------------------------------------------------------------------------------


def fmt_number(value: float, lang: str, decimals: int | None = None, sign: bool = False) -> str:
    """`1.234.567,50` (da) or `1,234,567.50` (en); øre only when there are any.

    `sign=True` puts `+` before positive numbers; negative numbers get a minus sign (U+2212).
    """
    v = float(value)
    if decimals is None:
        decimals = 0 if abs(v - round(v)) < 0.005 else 2
    text = f"{abs(v):,.{decimals}f}"
    if lang == "da":
        text = text.translate(str.maketrans({",": ".", ".": ","}))
    zero = not any(ch in "123456789" for ch in text)
    if v < 0 and not zero:
        return MINUS + text
    if sign and v > 0 and not zero:
        return "+" + text
    return text


def fmt_money(value: float | None, lang: str, sign: bool = False) -> str:
    if value is None:
        return "–"
    unit = "kr." if lang == "da" else "DKK"
    return f"{fmt_number(value, lang, sign=sign)}{NBSP}{unit}"


def fmt_decimal(value: float, lang: str, places: int = 2) -> str:
    """A number with up to `places` decimals, trailing zeros dropped: `41,5`, `9`."""
    text = fmt_number(round(float(value), places), lang, decimals=places)
    sep = "," if lang == "da" else "."
    if sep in text:
        text = text.rstrip("0").rstrip(sep)
    return text


def fmt_hours(value: float, lang: str) -> str:
    return f"{fmt_decimal(value, lang)}{NBSP}{LABELS[lang]['h']}"


def fmt_percent(fraction: float, lang: str, decimals: int = 0) -> str:
    text = fmt_number(fraction * 100, lang, decimals=decimals)
    return f"{text}{NBSP}%" if lang == "da" else f"{text}%"


def fmt_date(moment: datetime, lang: str) -> str:
    month = MONTHS[lang].split()[moment.month - 1]
    if lang == "da":
        return f"{moment.day}. {month} {moment.year} kl. {moment:%H.%M}"
    return f"{moment.day} {month} {moment.year}, {moment:%H:%M}"


# --- the document --------------------------------------------------------------------------


class _Ctx:
    """What every section needs: labels, number formats and look-ups into the instance."""

    def __init__(self, instance: Instance, doc: Mapping[str, Any], lang: str):
        if lang not in LABELS:
            raise ValueError(f"lang must be one of {', '.join(LANGS)}")
        self.lang = lang
        self.t = LABELS[lang]
        self.instance = instance
        self.doc = doc
        self.providers = {p.id: p for p in instance.providers}
        self.cases = {c.id: c for c in instance.cases}
        self.placement = {str(a["case"]): str(a["provider"]) for a in doc.get("assignments") or []}

    def kind(self, kind: str) -> str:
        return self.t.get(f"k_{kind}", kind)

    def pname(self, pid: str | None) -> str:
        """A provider's display name (escaped), or the id of one not in the instance."""
        if pid is None:
            return e(self.t["unassigned_word"])
        p = self.providers.get(pid)
        return e(p.display_name if p is not None else pid)

    def money(self, value: float | None, sign: bool = False) -> str:
        return fmt_money(value, self.lang, sign=sign)

    def num(self, value: float, sign: bool = False) -> str:
        return fmt_number(value, self.lang, sign=sign)


def render_report(
    instance: Instance,
    allocation_doc: Mapping[str, Any],
    budget: Mapping[str, Any] | None,
    explanations: Sequence[Mapping[str, Any]] | None,
    lang: str = "da",
    *,
    generated: datetime | None = None,
    alternatives_note: str | None = None,
) -> str:
    """The report as one HTML document (a string). No I/O.

    `budget` is `solver.budget.budget_table(instance, placement)`; `explanations` is
    `solver.explain.explain(...)` or None to leave the alternatives out (with
    `alternatives_note`, the section says why instead). `generated` defaults to now.
    """
    ctx = _Ctx(instance, allocation_doc, lang)
    t = ctx.t
    moment = generated or datetime.now()
    solved = allocation_doc.get("objective") is not None
    sections = [("summary", t["summary"], _summary(ctx, budget, moment))]
    if solved:
        if budget is not None:
            sections.append(("budget", t["budget"], _budget(ctx, budget)))
        sections.append(("charts", t["charts"], _charts(ctx, budget)))
        sections.append(("allocation", t["allocation"], _allocation(ctx, explanations)))
        sections.append(("unassigned", t["unassigned"], _unassigned(ctx)))
        if explanations is not None:
            sections.append(("alternatives", t["alternatives"], _alternatives(ctx, explanations)))
        elif alternatives_note:
            missing = f"{t['alternatives_missing']} {alternatives_note}"
            sections.append(
                ("alternatives", t["alternatives"], f'<p class="note warn">{e(missing)}</p>')
            )
    return page(lang, t["title"], t["eyebrow"], instance.name, moment, sections, t["footer"])


def page(
    lang: str,
    title: str,
    eyebrow: str,
    name: str,
    moment: datetime,
    sections: Sequence[tuple[str, str, str]],
    footer: str,
) -> str:
    """The report's HTML page: header, a link per section, the sections (id, title, HTML)."""
    nav = "".join(f'<a href="#{sid}">{e(heading)}</a>' for sid, heading, _ in sections)
    body = "\n".join(
        f'<section id="{sid}">\n<h2>{e(heading)}</h2>\n{content}\n</section>'
        for sid, heading, content in sections
    )
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{e(title)}: {e(name)}</title>
<style>{CSS}</style>
</head>
<body>
<header class="top">
<div class="eyebrow">{e(eyebrow)}</div>
<h1>{e(title)}</h1>
<div class="sub"><span class="inst">{e(name)}</span>
<span class="dot">·</span> {e(LABELS[lang]["generated"])} {e(fmt_date(moment, lang))}</div>
</header>
<nav class="toc">{nav}</nav>
<main>
{body}
</main>
<footer>{e(footer)}</footer>
</body>
</html>
"""


def write_report(
    path: str | os.PathLike[str],
    instance: Instance,
    allocation_doc: Mapping[str, Any],
    budget: Mapping[str, Any] | None,
    explanations: Sequence[Mapping[str, Any]] | None,
    lang: str = "da",
    **options: Any,
) -> str:
    """Render the report and write it atomically at `path`; returns the HTML."""
    text = render_report(instance, allocation_doc, budget, explanations, lang, **options)
    write_atomic(path, text)
    return text


# --- summary -------------------------------------------------------------------------------


def _summary(ctx: _Ctx, budget: Mapping[str, Any] | None, moment: datetime) -> str:
    t, doc = ctx.t, ctx.doc
    status = str(doc.get("status"))
    placed = len(doc.get("assignments") or [])
    unassigned = len(doc.get("unassigned") or [])
    active = placed + unassigned
    closing = doc.get("closing_cases")
    if closing is None:
        closing = sum(1 for c in ctx.instance.cases if not c.active)
    cards = [
        (t["total_cost"], ctx.money(doc.get("total_cost")), "")
        if doc.get("objective") is not None
        else (t["status"], e(t.get(f"st_{status}", status)), "warn"),
    ]
    if budget is not None and doc.get("objective") is not None:
        saving = float(budget["saving"])
        label = t["saving"] if saving >= 0 else t["increase"]
        cards.append((label, ctx.money(abs(saving)), "good" if saving >= 0 else "warn"))
    cards.append((t["cases_placed"], f"{placed} {e(t['of'])} {active}", ""))
    cards.append((t["cases_unassigned"], str(unassigned), "warn" if unassigned else "good"))
    card_html = "".join(
        f'<div class="card {cls}"><div class="label">{e(label)}</div>'
        f'<div class="value">{value}</div></div>'
        for label, value, cls in cards
    )
    gap = doc.get("gap")
    rows = [
        (t["instance"], e(ctx.instance.name)),
        (t["status"], e(t.get(f"st_{status}", status))),
        (t["objective"], ctx.money(doc.get("objective"))),
        (t["bound"], ctx.money(doc.get("bound"))),
        (t["gap"], "–" if gap is None else e(fmt_percent(float(gap), ctx.lang, 2))),
        (t["total_cost"], ctx.money(doc.get("total_cost"))),
    ]
    penalties = doc.get("penalties") or {}
    pen_rows = [
        (t.get(f"pen_{name}", name), ctx.money(penalties[name]))
        for name in PENALTY_ORDER
        if name in penalties
    ]
    pen_total = sum(float(v) for v in penalties.values()) if penalties else None
    cases_rows = [
        (t["cases_placed"], str(placed)),
        (t["cases_unassigned"], str(unassigned)),
        (t["cases_closing"], str(closing)),
    ]
    rows.append((t["generated"], e(fmt_date(moment, ctx.lang))))

    def dl(items: list[tuple[str, str]], total: tuple[str, str] | None = None) -> str:
        out = "".join(f"<dt>{e(k)}</dt><dd>{v}</dd>" for k, v in items)
        if total is not None:
            out += f'<dt class="total">{e(total[0])}</dt><dd class="total">{total[1]}</dd>'
        return f'<dl class="facts">{out}</dl>'

    parts = [
        f'<div class="cards">{card_html}</div>',
        '<div class="cols3">',
        f"<div><h3>{e(t['solution'])}</h3>{dl(rows)}</div>",
        f"<div><h3>{e(t['penalties'])}</h3>"
        f"{dl(pen_rows, (t['total'], ctx.money(pen_total)) if pen_rows else None)}</div>",
        f"<div><h3>{e(t['cases'])}</h3>{dl(cases_rows)}</div>",
        "</div>",
    ]
    conflicts = doc.get("conflicts") or []
    if doc.get("objective") is None:
        parts.append(f'<p class="note warn">{e(t["no_allocation"])}</p>')
        if conflicts:
            items = "".join(f"<li>{e(c)}</li>" for c in conflicts)
            parts.append(f"<h3>{e(t['conflicts'])}</h3><ul>{items}</ul>")
    return "\n".join(parts)


# --- budget table --------------------------------------------------------------------------


def _shown_kinds(ctx: _Ctx, budget: Mapping[str, Any] | None) -> list[str]:
    """Kinds with a provider in the instance or any figure; in the budget table's order."""
    present = {p.kind for p in ctx.instance.providers}
    rows = {r["kind"]: r for r in (budget or {}).get("by_kind", [])}
    order = [k for k in rows] or list(KIND_ORDER)
    order += [k for k in KIND_ORDER if k not in order]
    return [
        k
        for k in order
        if k in present
        or (k in rows and (float(rows[k]["baseline"]) or float(rows[k]["proposal"])))
    ]


def _budget(ctx: _Ctx, budget: Mapping[str, Any]) -> str:
    t = ctx.t
    rows = {r["kind"]: r for r in budget["by_kind"]}
    head = (
        f"<thead><tr><th>{e(t['kind'])}</th><th class='num'>{e(t['baseline'])}</th>"
        f"<th class='num'>{e(t['proposal'])}</th><th class='num'>{e(t['change'])}</th>"
        "</tr></thead>"
    )
    body = []
    for kind in _shown_kinds(ctx, budget):
        r = rows.get(kind)
        if r is None:
            continue
        body.append(
            f'<tr data-row="kind:{e(kind)}"><th scope="row">'
            f'<span class="swatch" style="background:{KIND_COLOURS.get(kind, "#888")}"></span>'
            f"{e(ctx.kind(kind))}</th>"
            f'<td class="num">{ctx.num(r["baseline"])}</td>'
            f'<td class="num">{ctx.num(r["proposal"])}</td>'
            f'<td class="num {_tone(r["change"])}">{ctx.num(r["change"], sign=True)}</td></tr>'
        )
    total = budget["total"]
    change = float(total["proposal"]) - float(total["baseline"])
    saving = float(budget["saving"])
    foot = (
        f'<tfoot><tr class="total" data-row="total"><th scope="row">{e(t["total"])}</th>'
        f'<td class="num">{ctx.num(total["baseline"])}</td>'
        f'<td class="num">{ctx.num(total["proposal"])}</td>'
        f'<td class="num {_tone(change)}">{ctx.num(change, sign=True)}</td></tr>'
        f'<tr class="saving" data-row="saving"><th scope="row">{e(t["saving"])}</th>'
        f'<td></td><td class="num {_tone(-saving)}">{ctx.num(saving)}</td><td></td></tr>'
        "</tfoot>"
    )
    parts = [
        f'<p class="lead">{e(t["money_note"])}</p>',
        '<div class="cols2"><div>',
        f"<h3>{e(t['by_kind'])}</h3>",
        f'<table class="data budget">{head}<tbody>{"".join(body)}</tbody>{foot}</table>',
        "</div><div>",
    ]
    if budget.get("by_budget"):
        brow = []
        for n, b in enumerate(budget["by_budget"]):
            brow.append(
                f'<tr data-row="budget:{n}"><th scope="row">{e(b["name"])}</th>'
                f'<td class="num">{ctx.num(b["max_annual_cost"])}</td>'
                f'<td class="num">{ctx.num(b["baseline"])}</td>'
                f'<td class="num">{ctx.num(b["proposal"])}</td>'
                f'<td class="num {_tone(-float(b["headroom"]))}">'
                f"{ctx.num(b['headroom'])}</td></tr>"
            )
        parts += [
            f"<h3>{e(t['by_budget'])}</h3>",
            '<table class="data budget"><thead><tr>'
            f"<th>{e(t['budget_name'])}</th><th class='num'>{e(t['cap'])}</th>"
            f"<th class='num'>{e(t['baseline'])}</th><th class='num'>{e(t['proposal'])}</th>"
            f"<th class='num'>{e(t['headroom'])}</th></tr></thead>"
            f"<tbody>{''.join(brow)}</tbody></table>",
        ]
    if budget.get("by_payer"):
        prow = []
        for n, p in enumerate(budget["by_payer"]):
            name = p["payer"] if p.get("payer") is not None else t["not_attributed"]
            prow.append(
                f'<tr data-row="payer:{n}"><th scope="row">{e(name)}</th>'
                f'<td class="num">{ctx.num(p.get("cases", 0))}</td>'
                f'<td class="num">{ctx.num(p["baseline"])}</td>'
                f'<td class="num">{ctx.num(p["proposal"])}</td></tr>'
            )
        parts += [
            f"<h3>{e(t['by_payer'])}</h3>",
            '<table class="data budget"><thead><tr>'
            f"<th>{e(t['payer'])}</th><th class='num'>{e(t['cases'])}</th>"
            f"<th class='num'>{e(t['baseline'])}</th><th class='num'>{e(t['proposal'])}</th>"
            f"</tr></thead><tbody>{''.join(prow)}</tbody></table>",
        ]
    parts.append("</div></div>")
    notes = _condensed(budget.get("baseline_notes") or [])
    if notes:
        items = "".join(f"<li>{e(n)}</li>" for n in notes)
        parts.append(
            f'<details class="notes" open><summary>{e(t["baseline_notes"])}</summary>'
            f"<ul>{items}</ul></details>"
        )
    return "\n".join(parts)


def _condensed(notes: Sequence[str]) -> list[str]:
    """The budget's notes, with the many "breaks a rule" lines joined into one."""
    prefix = "the baseline breaks a rule: "
    broken = [n[len(prefix) :] for n in notes if n.startswith(prefix)]
    out = [n for n in notes if not n.startswith(prefix)]
    if len(broken) > 1:
        out.append(f"the baseline breaks {len(broken)} rules: " + "; ".join(broken))
    elif broken:
        out.append(prefix + broken[0])
    return out


def _tone(change: float) -> str:
    """Colour class for a change in cost: lower is good."""
    v = float(change)
    return "down" if v < -0.005 else "up" if v > 0.005 else ""


# --- charts --------------------------------------------------------------------------------


def _nice_step(top: float, ticks: int = 5) -> float:
    if top <= 0:
        return 1.0
    raw = top / ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def _charts(ctx: _Ctx, budget: Mapping[str, Any] | None) -> str:
    t = ctx.t
    parts = []
    if budget is not None:
        parts.append(
            f'<figure class="chart"><figcaption>{e(t["chart_cost"])}</figcaption>'
            f"{cost_chart(ctx, budget)}</figure>"
        )
    parts.append(
        f'<figure class="chart"><figcaption>{e(t["chart_util"])}</figcaption>'
        f"{utilisation_chart(ctx)}</figure>"
    )
    parts.append(f"<h3>{e(t['providers'])}</h3>{_provider_table(ctx)}")
    return "\n".join(parts)


def cost_chart(ctx: _Ctx, budget: Mapping[str, Any]) -> str:
    """Grouped bars: cost by provider kind, baseline against proposal, axis in mio DKK."""
    t = ctx.t
    rows = {r["kind"]: r for r in budget["by_kind"]}
    kinds = [k for k in _shown_kinds(ctx, budget) if k in rows]
    width, height = 960, 340
    left, right, top, bottom = 70, 20, 44, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [float(rows[k][side]) / 1e6 for k in kinds for side in ("baseline", "proposal")]
    peak = max(values, default=0.0)
    step = _nice_step(peak)
    ymax = max(step, math.ceil(peak / step - 1e-9) * step)
    places = 1 if peak >= 2 else 2

    def y(v: float) -> float:
        return top + plot_h - plot_h * v / ymax

    out = [
        f'<svg class="chart-cost" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{e(t["chart_cost"])}">'
    ]
    tick = 0.0
    while tick <= ymax + 1e-9:
        yy = y(tick)
        out.append(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{width - right}" y2="{yy:.1f}" '
            f'class="{"axis" if tick == 0 else "grid"}"/>'
            f'<text x="{left - 8}" y="{yy + 4:.1f}" class="tick" text-anchor="end">'
            f"{e(fmt_decimal(tick, ctx.lang, places))}</text>"
        )
        tick += step
    out.append(
        f'<text class="axis-title" transform="translate(18 {top + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle">{e(t["mio"])}</text>'
    )
    group = plot_w / max(1, len(kinds))
    bar = min(42.0, group * 0.32)
    for n, kind in enumerate(kinds):
        cx = left + group * (n + 0.5)
        for side, dx, colour in (
            ("baseline", -bar - 2, BASELINE_COLOUR),
            ("proposal", 2, PROPOSAL_COLOUR),
        ):
            v = float(rows[kind][side]) / 1e6
            x = cx + dx
            yy = y(v)
            h = top + plot_h - yy
            label = f"{ctx.kind(kind)}, {t[side]}: {fmt_money(rows[kind][side], ctx.lang)}"
            out.append(
                f'<rect class="bar bar-{side}" data-kind="{e(kind)}" x="{x:.1f}" y="{yy:.1f}" '
                f'width="{bar:.1f}" height="{h:.1f}" fill="{colour}" rx="2">'
                f"<title>{e(label)}</title></rect>"
                f'<text x="{x + bar / 2:.1f}" y="{yy - 5:.1f}" class="val" text-anchor="middle">'
                f"{e(fmt_decimal(v, ctx.lang, places))}</text>"
            )
        out.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 22}" class="cat" text-anchor="middle">'
            f"{e(ctx.kind(kind))}</text>"
        )
    lx = width - right - 230
    out.append(
        f'<rect x="{lx}" y="12" width="14" height="14" fill="{BASELINE_COLOUR}" rx="2"/>'
        f'<text x="{lx + 20}" y="24" class="legend">{e(t["baseline"])}</text>'
        f'<rect x="{lx + 110}" y="12" width="14" height="14" fill="{PROPOSAL_COLOUR}" rx="2"/>'
        f'<text x="{lx + 130}" y="24" class="legend">{e(t["proposal"])}</text>'
    )
    out.append("</svg>")
    return "".join(out)


def _loads(ctx: _Ctx) -> list[dict[str, Any]]:
    """Per provider of the instance: cases, hours, capacity, cost (from the allocation)."""
    listed = {str(p.get("id")): p for p in ctx.doc.get("providers") or []}
    out = []
    for p in ctx.instance.providers:
        row = listed.get(p.id, {})
        hours = row.get("hours")
        if hours is None:  # an allocation without provider figures: from the assignments
            hours = sum(
                float(a.get("hours", 0))
                for a in ctx.doc.get("assignments") or []
                if a.get("provider") == p.id
            )
        cases = row.get("cases")
        if cases is None:
            cases = sum(1 for pid in ctx.placement.values() if pid == p.id)
        out.append(
            {
                "id": p.id,
                "name": p.display_name,
                "kind": p.kind,
                "cases": int(cases),
                "hours": float(hours),
                "capacity": float(p.capacity_hours),
                "max_cases": p.max_cases,
                "cost": row.get("annual_cost"),
                "closed": p.optional and int(cases) == 0,
            }
        )
    return out


def utilisation_chart(ctx: _Ctx) -> str:
    """Horizontal bars: hours used / capacity per provider, a line at 100 %."""
    t = ctx.t
    loads = _loads(ctx)
    row_h, top, bottom = 30, 30, 16
    label_w, plot_w, info_w = 210, 520, 210
    width = label_w + plot_w + info_w
    height = top + row_h * len(loads) + bottom
    peak = max((r["hours"] / r["capacity"] for r in loads if r["capacity"] > 0), default=0.0)
    scale_max = max(1.0, peak)
    x0 = label_w

    def x(frac: float) -> float:
        return x0 + plot_w * frac / scale_max

    out = [
        f'<svg class="chart-util" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{e(t["chart_util"])}">'
    ]
    for pct in (0, 0.25, 0.5, 0.75):
        out.append(
            f'<line x1="{x(pct):.1f}" y1="{top - 6}" x2="{x(pct):.1f}" '
            f'y2="{height - bottom}" class="grid"/>'
            f'<text x="{x(pct):.1f}" y="{top - 12}" class="tick" text-anchor="middle">'
            f"{e(fmt_percent(pct, ctx.lang))}</text>"
        )
    for n, r in enumerate(loads):
        yy = top + n * row_h
        frac = r["hours"] / r["capacity"] if r["capacity"] > 0 else 0.0
        colour = KIND_COLOURS.get(r["kind"], "#888")
        out.append(
            f'<text x="{label_w - 12}" y="{yy + row_h / 2 + 4:.1f}" class="cat" '
            f'text-anchor="end">{e(r["name"])}</text>'
            f'<rect class="track" x="{x0}" y="{yy + 6}" width="{x(1) - x0:.1f}" '
            f'height="{row_h - 12}" rx="3"/>'
            f'<rect class="bar bar-util" data-provider="{e(r["id"])}" x="{x0}" y="{yy + 6}" '
            f'width="{x(frac) - x0:.1f}" height="{row_h - 12}" fill="{colour}" rx="3">'
            f"<title>{e(r['name'])}: {e(fmt_hours(r['hours'], ctx.lang))} / "
            f"{e(fmt_hours(r['capacity'], ctx.lang))}</title></rect>"
        )
        if r["capacity"] > 0 and not r["closed"]:
            pct = fmt_percent(frac, ctx.lang)
            inside = frac >= 0.18
            tx = x(frac) - 6 if inside else x(frac) + 6
            out.append(
                f'<text x="{tx:.1f}" y="{yy + row_h / 2 + 4:.1f}" '
                f'class="pct{" inside" if inside else ""}" '
                f'text-anchor="{"end" if inside else "start"}">{e(pct)}</text>'
            )
        info = (
            f"{fmt_decimal(r['hours'], ctx.lang)} / {fmt_hours(r['capacity'], ctx.lang)}"
            f" · {r['cases']} {t['case_one'] if r['cases'] == 1 else t['cases'].lower()}"
        )
        if r["closed"]:
            info += f" · {t['closed']}"
        out.append(
            f'<text x="{x(scale_max) + 14:.1f}" y="{yy + row_h / 2 + 4:.1f}" class="cap">'
            f"{e(info)}</text>"
        )
    out.append(
        f'<line x1="{x(1):.1f}" y1="{top - 6}" x2="{x(1):.1f}" y2="{height - bottom + 4}" '
        'class="full"/>'
        f'<text x="{x(1):.1f}" y="{top - 12}" class="tick full-label" text-anchor="middle">'
        f"{e(fmt_percent(1, ctx.lang))}</text>"
    )
    out.append("</svg>")
    kinds = [k for k in KIND_ORDER if any(r["kind"] == k for r in loads)]
    legend = "".join(
        f'<span><span class="swatch" style="background:{KIND_COLOURS[k]}"></span>'
        f"{e(ctx.kind(k))}</span>"
        for k in kinds
    )
    return "".join(out) + f'<div class="legend-row">{legend}</div>'


def _provider_table(ctx: _Ctx) -> str:
    t = ctx.t
    rows = []
    for r in _loads(ctx):
        cases = str(r["cases"])
        if r["max_cases"] is not None:
            cases += f' <span class="muted">({e(t["max_cases"])} {r["max_cases"]})</span>'
        use = e(fmt_percent(r["hours"] / r["capacity"], ctx.lang)) if r["capacity"] > 0 else "–"
        cost = ctx.num(r["cost"]) if r["cost"] is not None else "–"
        if r["closed"]:
            cost += f' <span class="tag">{e(t["closed"])}</span>'
        rows.append(
            f'<tr><th scope="row">{e(r["name"])} <span class="muted">{e(r["id"])}</span></th>'
            f"<td>{e(ctx.kind(r['kind']))}</td><td class='num'>{cases}</td>"
            f"<td class='num'>{e(fmt_decimal(r['hours'], ctx.lang))}</td>"
            f"<td class='num'>{e(fmt_decimal(r['capacity'], ctx.lang))}</td>"
            f"<td class='num'>{use}</td><td class='num'>{cost}</td></tr>"
        )
    unit = "kr." if ctx.lang == "da" else "DKK"
    return (
        '<table class="data providers"><thead><tr>'
        f"<th>{e(t['provider'])}</th><th>{e(t['kind'])}</th><th class='num'>{e(t['cases'])}</th>"
        f"<th class='num'>{e(t['hours'])}</th><th class='num'>{e(t['capacity'])}</th>"
        f"<th class='num'>{e(t['utilisation'])}</th>"
        f"<th class='num'>{e(t['annual_cost'])} ({unit})</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


# --- allocation ----------------------------------------------------------------------------


def _relation_text(ctx: _Ctx, case_id: str, level: int) -> tuple[str, str]:
    case = ctx.cases.get(case_id)
    strongest = max(case.relations.values(), default=0) if case is not None else 0
    if strongest == 0:
        return "–", "muted"
    return f"{level} {ctx.t['of']} {strongest}", "good" if level >= strongest else "warn"


def _continuity_text(ctx: _Ctx, case_id: str, chosen: str | None) -> tuple[str, str]:
    t = ctx.t
    case = ctx.cases.get(case_id)
    current = case.current_provider if case is not None else None
    if current is None:
        return e(t["new_case"]), "muted"
    if current == chosen:
        return e(t["kept"]), "good"
    if current not in ctx.providers:
        return f"{e(t['moved_from'])} {e(current)} ({e(t['closed_provider'])})", ""
    return f"{e(t['moved_from'])} {ctx.pname(current)}", "warn"


def _reason(ctx: _Ctx, case_id: str, chosen: str, expl: Mapping[str, Any] | None) -> str:
    """Short facts behind the placement, in the report's language."""
    t = ctx.t
    case = ctx.cases.get(case_id)
    if case is None:
        return ""
    facts: list[str] = []
    if case.must_provider is not None:
        facts.append(e(t["locked_reason"]))
    offer = next(
        (o for o in ctx.instance.offers if o.case == case_id and o.provider == chosen), None
    )
    if offer is not None:
        facts.append(f"{e(t['offer'])} {ctx.money(float(offer.annual_cost))} {e(t['per_year'])}")
    if case.needs:
        facts.append(f"{e(t['needs'].lower())}: {e(', '.join(case.needs))}")
    eligible = [p.id for p in ctx.instance.providers if not ineligibility(case, p)]
    if case.must_provider is None:
        if eligible == [chosen]:
            facts.append(e(t["only_option"]))
        elif eligible:
            facts.append(f"{len(eligible)} {e(t['options'])}")
    if case.family is not None:
        siblings = [
            c.id
            for c in ctx.instance.cases
            if c.active and c.family == case.family and c.id != case_id
        ]
        same = [j for j in siblings if ctx.placement.get(j) == chosen]
        other = [j for j in siblings if j in ctx.placement and ctx.placement[j] != chosen]
        if same:
            facts.append(f"{e(t['siblings_with'])} ({e(', '.join(same))})")
        for j in other:
            facts.append(f"{e(t['siblings_at'])} {ctx.pname(ctx.placement[j])} ({e(j)})")
    if expl:
        alts = [a for a in expl.get("alternatives") or [] if a.get("objective_change") is not None]
        if alts:
            best = alts[0]
            mark = "" if best.get("proven") else f", {e(t['not_proven'])}"
            facts.append(
                f"{e(t['next_best'])}: {ctx.pname(best.get('provider'))} "
                f"({ctx.money(best['objective_change'], sign=True)}{mark})"
            )
    return "; ".join(facts)


def _allocation(ctx: _Ctx, explanations: Sequence[Mapping[str, Any]] | None) -> str:
    t = ctx.t
    by_case = {str(x.get("case")): x for x in explanations or []}
    order = {c.id: n for n, c in enumerate(ctx.instance.cases)}
    assignments = sorted(
        ctx.doc.get("assignments") or [], key=lambda a: order.get(str(a["case"]), len(order))
    )
    rows = []
    for a in assignments:
        cid, pid = str(a["case"]), str(a["provider"])
        p = ctx.providers.get(pid)
        kind = ctx.kind(p.kind) if p is not None else ""
        hours = a.get("hours")
        if hours is None and ctx.cases.get(cid) is not None:
            hours = float(ctx.cases[cid].hours_per_week)
        level = a.get("relation_level")
        if level is None and ctx.cases.get(cid) is not None:
            level = ctx.cases[cid].relations.get(pid, 0)
        rel, rel_cls = _relation_text(ctx, cid, int(level or 0))
        cont, cont_cls = _continuity_text(ctx, cid, pid)
        case = ctx.cases.get(cid)
        locked = a.get("locked")
        if locked is None:
            locked = case is not None and case.must_provider is not None
        lock = f'<span class="tag">{e(t["yes_locked"])}</span>' if locked else ""
        colour = KIND_COLOURS.get(p.kind, "#888") if p is not None else "#888"
        rows.append(
            f'<tr><td class="id">{e(cid)}</td><td>{ctx.pname(pid)}</td>'
            f'<td class="nw"><span class="swatch" style="background:{colour}"></span>{e(kind)}</td>'
            f"<td class='num'>{e(fmt_decimal(hours or 0, ctx.lang))}</td>"
            f"<td class='{rel_cls} nw'>{e(rel)}</td><td class='{cont_cls} nw'>{cont}</td>"
            f"<td>{lock}</td><td class='reason'>{_reason(ctx, cid, pid, by_case.get(cid))}</td>"
            "</tr>"
        )
    return (
        '<table class="data allocation"><thead><tr>'
        f"<th>{e(t['case'])}</th><th>{e(t['provider'])}</th><th>{e(t['kind'])}</th>"
        f"<th class='num'>{e(t['hours'])}</th><th>{e(t['relation'])}</th>"
        f"<th>{e(t['continuity'])}</th><th>{e(t['locked'])}</th><th>{e(t['reason'])}</th>"
        f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )


def _unassigned(ctx: _Ctx) -> str:
    t = ctx.t
    items = ctx.doc.get("unassigned") or []
    if not items:
        return f'<p class="note good">{e(t["all_placed"])}</p>'
    rows = []
    for u in items:
        cid = str(u.get("case"))
        case = ctx.cases.get(cid)
        hours = fmt_decimal(float(case.hours_per_week), ctx.lang) if case else ""
        needs = ", ".join(case.needs) if case else ""
        current = ctx.pname(case.current_provider) if case and case.current_provider else "–"
        rows.append(
            f'<tr><td class="id">{e(cid)}</td><td class="num">{case.age if case else ""}</td>'
            f"<td class='num'>{e(hours)}</td><td>{e(needs)}</td><td>{current}</td>"
            f"<td class='reason'>{e(u.get('reason', ''))}</td></tr>"
        )
    return (
        '<table class="data unassigned"><thead><tr>'
        f"<th>{e(t['case'])}</th><th class='num'>{e(t['age'])}</th>"
        f"<th class='num'>{e(t['hours'])}</th><th>{e(t['needs'])}</th>"
        f"<th>{e(t['current'])}</th><th>{e(t['reason'])}</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


# --- alternatives --------------------------------------------------------------------------


def _alt_cell(ctx: _Ctx, alt: Mapping[str, Any]) -> str:
    t = ctx.t
    name = ctx.pname(alt.get("provider"))
    change = alt.get("objective_change")
    if change is None:
        why = e(alt.get("infeasible") or "")
        return f'<div class="alt-name">{name}</div><div class="muted" title="{why}">' + (
            f"{e(t['infeasible'])}</div>"
        )
    mark = (
        ""
        if alt.get("proven")
        else f' <span class="np" title="{e(t["not_proven_title"])}">{e(t["not_proven"])}</span>'
    )
    out = (
        f'<div class="alt-name">{name}</div>'
        f'<div class="delta {_tone(change)}">{ctx.money(change, sign=True)}{mark}</div>'
    )
    moves = alt.get("moves") or []
    if moves:
        shown = []
        for m in moves[:3]:
            if isinstance(m, Mapping):
                shown.append(
                    f"{e(m.get('case'))}: {ctx.pname(m.get('from'))} → {ctx.pname(m.get('to'))}"
                )
            else:
                shown.append(e(m))
        more = f" +{len(moves) - 3} {e(t['more'])}" if len(moves) > 3 else ""
        out += f'<div class="moves">{e(t["moves"])}: {"; ".join(shown)}{more}</div>'
    return out


def _alternatives(ctx: _Ctx, explanations: Sequence[Mapping[str, Any]]) -> str:
    t = ctx.t
    order = {c.id: n for n, c in enumerate(ctx.instance.cases)}
    entries = sorted(explanations, key=lambda x: order.get(str(x.get("case")), len(order)))
    rows = []
    for x in entries:
        alts = list(x.get("alternatives") or [])[:3]
        cells = [f"<td class='alt'>{_alt_cell(ctx, a)}</td>" for a in alts]
        if not alts:
            cells = [f"<td colspan='3' class='muted'>{e(t['no_alternatives'])}</td>"]
        else:
            cells += ["<td class='alt'></td>"] * (3 - len(alts))
        rows.append(
            f'<tr><td class="id">{e(x.get("case"))}</td><td>{ctx.pname(x.get("provider"))}</td>'
            f"{''.join(cells)}</tr>"
        )
    heads = "".join(f"<th>{n}. {e(t['alt_n'])}</th>" for n in (1, 2, 3))
    return (
        f'<p class="lead">{e(t["alt_intro"])}</p>'
        '<table class="data alternatives"><thead><tr>'
        f"<th>{e(t['case'])}</th><th>{e(t['proposal'])}</th>{heads}</tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


CSS = """
:root { --ink:#1b2530; --muted:#5d6b79; --line:#dde3ea; --soft:#f4f6f9; --accent:#1d5a96;
  --good:#23784f; --warn:#b0412a; }
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; color: var(--ink); background: #fff;
  font: 14px/1.45 "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", "DejaVu Sans",
  sans-serif; font-variant-numeric: tabular-nums; }
header.top { background: #14324f; color: #fff; padding: 28px 48px 24px; }
header.top .eyebrow { font-size: 12px; letter-spacing: .06em; text-transform: uppercase;
  opacity: .75; }
header.top h1 { margin: 6px 0 4px; font-size: 28px; font-weight: 600; letter-spacing: -.01em; }
header.top .sub { font-size: 15px; opacity: .9; }
header.top .inst { font-weight: 600; }
header.top .dot { margin: 0 6px; opacity: .6; }
nav.toc { position: sticky; top: 0; z-index: 2; background: #fff; border-bottom: 1px solid
  var(--line); padding: 10px 48px; display: flex; gap: 22px; flex-wrap: wrap; }
nav.toc a { color: var(--accent); text-decoration: none; font-weight: 600; font-size: 13px; }
main { max-width: 1180px; padding: 8px 48px 32px; }
section { margin-top: 30px; }
h2 { font-size: 20px; font-weight: 600; margin: 0 0 12px; padding-bottom: 6px;
  border-bottom: 2px solid var(--ink); }
h3 { font-size: 14px; font-weight: 600; margin: 18px 0 8px; color: var(--ink); }
p.lead { color: var(--muted); margin: 0 0 10px; max-width: 900px; }
.cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 14px; margin: 6px 0 10px; }
.card { background: var(--soft); border-radius: 8px; padding: 14px 16px;
  border-left: 4px solid var(--accent); }
.card.good { border-left-color: var(--good); }
.card.warn { border-left-color: var(--warn); }
.card .label { font-size: 12px; color: var(--muted); text-transform: uppercase;
  letter-spacing: .04em; }
.card .value { font-size: 22px; font-weight: 600; margin-top: 4px; white-space: nowrap; }
.cols2 { display: grid; grid-template-columns: 1fr 1fr; gap: 32px; align-items: start; }
.cols2 table.data.budget { width: 100%; min-width: 0; }
.nw { white-space: nowrap; }
.cols3 { display: grid; grid-template-columns: 1.2fr 1fr 1.1fr; gap: 32px; }
dl.facts { display: grid; grid-template-columns: 1fr auto; margin: 0; row-gap: 3px;
  column-gap: 14px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; text-align: right; white-space: nowrap; }
dl.facts .total { border-top: 1px solid var(--line); padding-top: 3px; font-weight: 600;
  color: var(--ink); }
table.data { border-collapse: collapse; width: 100%; margin: 4px 0 8px; font-size: 13px; }
table.data.budget { width: auto; min-width: 640px; }
table.data th, table.data td { padding: 5px 10px; text-align: left; vertical-align: top;
  border-bottom: 1px solid var(--line); }
table.data thead th { font-size: 12px; color: var(--muted); font-weight: 600;
  border-bottom: 1.5px solid #9aa7b4; white-space: nowrap; background: #fff; }
table.data tbody th { font-weight: 500; }
table.data tbody tr:nth-child(even) { background: #fafbfc; }
table.data .num { text-align: right; white-space: nowrap; }
table.data tfoot tr.total th, table.data tfoot tr.total td { font-weight: 700;
  border-top: 1.5px solid var(--ink); }
table.data tfoot tr.saving th, table.data tfoot tr.saving td { font-weight: 700;
  color: var(--good); border-bottom: none; }
td.id { font-family: "DejaVu Sans Mono", Consolas, monospace; font-size: 12px;
  white-space: nowrap; }
td.reason { color: #34414e; font-size: 12.5px; }
.up { color: var(--warn); }
.down { color: var(--good); }
td.good { color: var(--good); }
td.warn { color: var(--warn); }
.muted, td.muted { color: var(--muted); }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px;
  margin-right: 7px; vertical-align: baseline; }
.tag { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px;
  background: #e8edf3; color: #34414e; font-weight: 600; }
.np { display: inline-block; font-size: 10.5px; padding: 0 5px; border-radius: 8px;
  background: #fdf0d5; color: #8a5a00; font-weight: 600; margin-left: 4px; }
td.alt { font-size: 12.5px; min-width: 160px; }
.alt-name { font-weight: 600; }
.delta { white-space: nowrap; }
.moves { color: var(--muted); font-size: 11.5px; }
p.note { padding: 10px 14px; background: var(--soft); border-radius: 6px; }
p.note.good { border-left: 4px solid var(--good); }
p.note.warn { border-left: 4px solid var(--warn); }
details.notes { margin-top: 10px; color: var(--muted); font-size: 12.5px; }
details.notes summary { cursor: pointer; font-weight: 600; color: var(--ink); }
details.notes ul { margin: 6px 0 0; padding-left: 20px; }
figure.chart { margin: 8px 0 22px; }
figure.chart figcaption { font-weight: 600; margin-bottom: 6px; }
svg text { font-family: inherit; fill: var(--ink); }
svg .grid { stroke: #e6eaef; stroke-width: 1; }
svg .axis { stroke: #6b7785; stroke-width: 1.2; }
svg .tick { font-size: 12px; fill: var(--muted); }
svg .axis-title { font-size: 12px; fill: var(--muted); }
svg .cat { font-size: 13px; }
svg .val { font-size: 11.5px; fill: #34414e; }
svg .legend { font-size: 13px; }
svg .track { fill: #eef1f5; }
svg .full { stroke: #b0412a; stroke-width: 1.6; stroke-dasharray: 5 3; }
svg .full-label { fill: #b0412a; font-weight: 600; }
svg .pct { font-size: 11.5px; fill: #34414e; }
svg .pct.inside { fill: #fff; font-weight: 600; }
svg .cap { font-size: 12px; fill: var(--muted); }
.legend-row { display: flex; flex-wrap: wrap; gap: 16px; font-size: 12.5px;
  color: var(--muted); margin-top: 4px; padding-left: 4px; }
.legend-row .swatch { margin-right: 5px; }
footer { max-width: 1180px; padding: 18px 48px 36px; color: var(--muted); font-size: 12px;
  border-top: 1px solid var(--line); margin-top: 20px; }
@media print {
  nav.toc { display: none; }
  header.top { padding: 16px 0; background: none; color: var(--ink); }
  main, footer { padding-left: 0; padding-right: 0; max-width: none; }
  table.data thead { display: table-header-group; }
  table.data tr, figure.chart, .card { break-inside: avoid; }
  section { break-before: auto; }
}
@page { size: A4; margin: 14mm; }
"""
