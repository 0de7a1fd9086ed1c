"""A trade-off curve (`solver.goals.Frontier`) as a table, a text chart, CSV, JSON and HTML."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

from solver.goals import Frontier
from solver.report import e
from solver.result import money


def rows(f: Frontier) -> list[dict[str, Any]]:
    """One row per point; `price` is what one DKK less of the second criterion costs in
    the first, against the point before (the committee's "what does it cost")."""
    out = []
    for n, p in enumerate(f.points):
        before = f.points[n - 1] if n else None
        price = None
        if before is not None and before.second != p.second:
            price = float((p.first - before.first) / (before.second - p.second))
        out.append(
            {
                "point": n + 1,
                "criterion_a": money(p.first),
                "criterion_b": money(p.second),
                "objective": money(p.objective),
                **{f"term_{t}": money(v) for t, v in p.values.items()},
                "price": None if price is None else round(price, 4),
                "proven": p.proven,
                "placed": len(p.result.assignments),
            }
        )
    return out


def _dkk(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}".replace(",", " ")


def text(f: Frontier, height: int = 12, width: int = 56) -> str:
    """The table and a text chart (first criterion across, second up)."""
    label_a = f"{f.first} (+ {', '.join(f.others)})" if f.others else f.first
    lines = [
        f"Trade-off between {f.first} and {f.second}: {len(f.points)} points "
        f"({sum(p.proven for p in f.points)} proven) in {f.seconds:.1f} s",
        f"A = {label_a}; B = {f.second}; price = DKK of A per DKK less of B",
        "",
        f"  {'#':>2} {'A':>14} {'B':>12} {'objective':>14} {'price':>8}  proven",
    ]
    for row, p in zip(rows(f), f.points, strict=True):
        price = "-" if row["price"] is None else f"{row['price']:.2f}"
        lines.append(
            f"  {row['point']:>2} {_dkk(float(p.first)):>14} {_dkk(float(p.second)):>12} "
            f"{_dkk(float(p.objective)):>14} {price:>8}  {'yes' if p.proven else 'no'}"
        )
    if f.dropped:
        lines.append(f"  ({f.dropped} unproven point(s) dominated by another were dropped)")
    if len(f.points) > 1:
        lines += ["", *_chart(f, height, width)]
    return "\n".join(lines)


def _chart(f: Frontier, height: int, width: int) -> list[str]:
    xs = [float(p.first) for p in f.points]
    ys = [float(p.second) for p in f.points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
    grid = [[" "] * width for _ in range(height)]
    for x, y, p in zip(xs, ys, f.points, strict=True):
        col = 0 if x1 == x0 else round((x - x0) / (x1 - x0) * (width - 1))
        row = 0 if y1 == y0 else round((y1 - y) / (y1 - y0) * (height - 1))
        grid[row][col] = "*" if p.proven else "o"
    out = [f"  B {_dkk(y1):>12} |" + "".join(grid[0])]
    out += [f"  {'':>14} |" + "".join(r) for r in grid[1:-1]]
    out.append(f"  {_dkk(y0):>14} |" + "".join(grid[-1]))
    out.append(f"  {'':>14} +" + "-" * width)
    out.append(f"  {'':>14}  {_dkk(x0):<{width // 2}}{_dkk(x1):>{width - width // 2}}  A")
    out.append("  * proven, o not proven")
    return out


def to_json(f: Frontier) -> str:
    return (
        json.dumps(
            {
                "between": [f.first, f.second],
                "first_includes": f.others,
                "seconds": round(f.seconds, 4),
                "dropped": f.dropped,
                "points": [
                    {**row, "assignments": p.result.assignments}
                    for row, p in zip(rows(f), f.points, strict=True)
                ],
            },
            indent=2,
            ensure_ascii=False,
        )
        + "\n"
    )


def to_csv(f: Frontier) -> str:
    table = rows(f)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(table[0]) if table else ["point"])
    writer.writeheader()
    writer.writerows(table)
    return buffer.getvalue()


def to_html(f: Frontier, title: str) -> str:
    """A self-contained page: an SVG chart of the points and the table."""
    table = rows(f)
    head = "".join(f"<th>{e(k)}</th>" for k in table[0]) if table else ""
    body = "".join(
        "<tr>" + "".join(f"<td>{e('' if v is None else v)}</td>" for v in r.values()) + "</tr>"
        for r in table
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{e(title)}</title>
<style>body{{font:14px system-ui,sans-serif;margin:2em;color:#222}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:3px 8px;text-align:right}}
</style></head><body>
<h1>{e(title)}</h1>
<p>Trade-off between <b>{e(f.first)}</b> (with {e(", ".join(f.others) or "nothing else")})
and <b>{e(f.second)}</b>: every point is an allocation that no other beats on both.
Filled points are proven; the price is the DKK of the first per DKK less of the second.</p>
{_svg(f)}
<table><tr>{head}</tr>{body}</table>
</body></html>
"""


def _svg(f: Frontier, w: int = 640, h: int = 360, pad: int = 70) -> str:
    if not f.points:
        return "<p>No point found.</p>"
    xs = [float(p.first) for p in f.points]
    ys = [float(p.second) for p in f.points]
    x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)

    def at(x: float, y: float) -> tuple[float, float]:
        sx = pad + (0.5 if x1 == x0 else (x - x0) / (x1 - x0)) * (w - 2 * pad)
        sy = h - pad - (0.5 if y1 == y0 else (y - y0) / (y1 - y0)) * (h - 2 * pad)
        return round(sx, 1), round(sy, 1)

    points = [at(x, y) for x, y in zip(xs, ys, strict=True)]
    line = " ".join(f"{x},{y}" for x, y in points)
    dots = "".join(
        f'<circle cx="{x}" cy="{y}" r="5" fill="{"#1f5fa8" if p.proven else "white"}" '
        f'stroke="#1f5fa8"><title>{e(_dkk(float(p.first)))} / {e(_dkk(float(p.second)))}'
        f"</title></circle>"
        for (x, y), p in zip(points, f.points, strict=True)
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" role="img">'
        f'<line x1="{pad}" y1="{h - pad}" x2="{w - pad}" y2="{h - pad}" stroke="#888"/>'
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{h - pad}" stroke="#888"/>'
        f'<polyline points="{line}" fill="none" stroke="#1f5fa8"/>{dots}'
        f'<text x="{w / 2}" y="{h - 20}" text-anchor="middle">{e(f.first)} '
        f"{e(_dkk(x0))} - {e(_dkk(x1))} DKK</text>"
        f'<text x="20" y="{h / 2}" transform="rotate(-90 20 {h / 2})" text-anchor="middle">'
        f"{e(f.second)} {e(_dkk(y0))} - {e(_dkk(y1))} DKK</text></svg>"
    )
