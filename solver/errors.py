"""Errors about input, each one line naming the record and the field."""

from __future__ import annotations

from collections.abc import Sequence

SECTIONS = {"providers": "provider", "cases": "case", "offers": "offer", "budgets": "budget"}


class InstanceError(ValueError):
    """The input is refused as a whole; `lines` holds one line per problem."""

    def __init__(self, lines: Sequence[str]):
        self.lines = list(lines)
        super().__init__("\n".join(self.lines))


def record_name(raw: object, loc: Sequence[object]) -> tuple[str, list[object]]:
    """Name the record that `loc` (a path into the raw document) points into.

    Returns the record's name (`case U017`, `provider #3`, `weights`, `instance`) and the
    rest of the path, which names the field. A record is named by its id (budgets by name)
    when that is a plain string that is not CPR-like, else by its position.
    """
    from solver.privacy import looks_like_cpr

    loc = list(loc)
    if len(loc) >= 2 and loc[0] in SECTIONS and isinstance(loc[1], int):
        section, index, rest = str(loc[0]), loc[1], loc[2:]
        kind = SECTIONS[section]
        items = raw.get(section) if isinstance(raw, dict) else None
        item = items[index] if isinstance(items, list) and index < len(items) else None
        key = "name" if section == "budgets" else "id"
        ident = item.get(key) if isinstance(item, dict) else None
        if section == "offers" and isinstance(item, dict):
            ident = None
        if isinstance(ident, str) and ident and not looks_like_cpr(ident):
            return f"{kind} {ident}", rest
        return f"{kind} #{index + 1}", rest
    if loc and loc[0] == "weights":
        return "weights", loc[1:]
    return "instance", loc


def field_name(rest: Sequence[object]) -> str:
    """`['relations', 'klub-syd']` -> `relations.klub-syd`; list positions as `needs[2]`."""
    text = ""
    for part in rest:
        if part == "[key]":  # pydantic's marker for a bad dict key
            continue
        if isinstance(part, int):
            text += f"[{part + 1}]"
        else:
            text += ("." if text else "") + str(part)
    return text or "record"
