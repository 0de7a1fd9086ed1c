"""Refuse CPR numbers: the data is about vulnerable children and must be pseudonymous.

A CPR number is six digits forming a valid date DDMMYY, an optional dash and four digits.
Messages say where such a value was found, never the value itself.
"""

from __future__ import annotations

import re
from functools import lru_cache

from solver.errors import field_name, record_name

_CPR = re.compile(r"(?<!\d)(\d\d)(\d\d)(\d\d)-?\d{4}(?!\d)")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _valid_date(day: int, month: int, year: int) -> bool:
    if not 1 <= month <= 12 or day < 1:
        return False
    if month == 2 and year % 4 != 0:  # 00 may be 2000 (leap), so it stays allowed
        return day <= 28
    return day <= _DAYS[month - 1]


def looks_like_cpr(text: str) -> bool:
    return any(_valid_date(int(m[1]), int(m[2]), int(m[3])) for m in _CPR.finditer(text))


# Keys repeat (field names, provider ids in relations): check each once.
_key_like_cpr = lru_cache(maxsize=65536)(looks_like_cpr)


def cpr_problems(raw: object) -> list[str]:
    """One line per string or key in the raw document that looks like a CPR number."""
    found: list[str] = []

    def walk(node: object, loc: list[object]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                bad = _key_like_cpr(str(key))
                if bad:
                    found.append(cpr_message(raw, loc, "a key"))
                walk(value, [*loc, "<key>" if bad else key])
        elif isinstance(node, list | tuple):
            for n, value in enumerate(node):
                walk(value, [*loc, n])
        elif isinstance(node, str) and looks_like_cpr(node):
            found.append(cpr_message(raw, loc, "a value"))

    walk(raw, [])
    return found


def cpr_message(raw: object, loc: list[object], what: str) -> str:
    """Where a CPR-like value was found, without the value."""
    record, rest = record_name(raw, loc)
    return (
        f"{record}: {field_name(rest)} holds {what} that looks like a CPR number "
        "(a date DDMMYY and four digits); use pseudonymous ids only"
    )
