"""Reading instances and writing results: JSON parsing, error lines, atomic writes."""

from __future__ import annotations

import difflib
import json
import os
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from solver.errors import SECTIONS, InstanceError, field_name, record_name
from solver.instance import KINDS, Budget, Case, Instance, Offer, Provider, Weights
from solver.privacy import cpr_message, looks_like_cpr

_MODELS: dict[str, type[BaseModel]] = {
    "instance": Instance,
    "provider": Provider,
    "case": Case,
    "offer": Offer,
    "budget": Budget,
    "weights": Weights,
}


def load_instance(path: str | os.PathLike[str]) -> Instance:
    """Read and validate an instance file; raise `InstanceError` naming every problem."""
    path = Path(path)
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise InstanceError([f"{path}: no such file"]) from None
    except IsADirectoryError:
        raise InstanceError([f"{path}: is a folder, not an instance file"]) from None
    except UnicodeDecodeError:
        raise InstanceError([f"{path}: is not UTF-8 text"]) from None
    except OSError as exc:
        raise InstanceError([f"{path}: cannot be read ({exc.strerror})"]) from None
    return parse_instance(text, source=str(path))


_REPEATED = "\x00repeated"  # marks keys seen twice in one object, found after parsing


def parse_json(text: str, source: str = "input") -> Any:
    """JSON with exact decimals. Repeated keys are refused, naming record and field.

    NaN and Infinity literals parse as non-finite decimals, which validation then refuses
    for the field they stand in.
    """

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in items:
            if key in seen:
                seen.setdefault(_REPEATED, []).append(key)
            seen[key] = value
        return seen

    try:
        document = json.loads(
            text, object_pairs_hook=pairs, parse_float=Decimal, parse_constant=Decimal
        )
    except json.JSONDecodeError as exc:
        raise InstanceError(
            [f"{source}: not valid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"]
        ) from None
    repeated: list[str] = []

    def walk(node: Any, loc: list[object]) -> None:
        if isinstance(node, dict):
            for key in node.pop(_REPEATED, []):
                if looks_like_cpr(key):
                    repeated.append(cpr_message(document, loc, "a key"))
                    continue
                record, rest = record_name(document, loc)
                repeated.append(f"{record}: {field_name([*rest, key])} appears twice")
            for key, value in node.items():
                walk(value, [*loc, key])
        elif isinstance(node, list):
            for n, value in enumerate(node):
                walk(value, [*loc, n])

    walk(document, [])
    if repeated:
        raise InstanceError(repeated)
    return document


def parse_instance(text: str, source: str = "input") -> Instance:
    raw = parse_json(text, source)
    if not isinstance(raw, dict):
        raise InstanceError([f"{source}: the instance must be a JSON object"])
    return validate_instance(raw)


def validate_instance(raw: dict[str, Any]) -> Instance:
    """Build the frozen `Instance` from a raw document, or raise `InstanceError`."""
    try:
        return Instance.model_validate(raw)
    except ValidationError as exc:
        raise InstanceError(_error_lines(raw, exc)) from None


def validate_record(raw: dict[str, Any], section: str, index: int) -> BaseModel:
    """Record `index` of the raw document's `section` (`cases`, ...) on its own (no
    references checked), or `InstanceError` with the same lines as in a whole instance."""
    try:
        return _MODELS[SECTIONS[section]].model_validate(raw[section][index])
    except ValidationError as exc:
        raise InstanceError(_error_lines(raw, exc, (section, index))) from None


def _error_lines(raw: object, exc: ValidationError, at: tuple = ()) -> list[str]:
    """One line per error; `at` is where in `raw` the validated value is."""
    lines: list[str] = []
    errors = [{**e, "loc": (*at, *e["loc"])} for e in exc.errors()]
    inner_locs = [tuple(e["loc"]) for e in errors if e["type"] != "too_short"]
    for err in errors:
        loc = tuple(err["loc"])
        if err["type"] == "too_short" and any(x[: len(loc)] == loc for x in inner_locs):
            continue  # a list whose every item is invalid: its items' lines say why
        inner = err.get("ctx", {}).get("error")
        if isinstance(inner, InstanceError):
            lines.extend(inner.lines)
            continue
        record, rest = record_name(raw, err["loc"])
        lines.append(f"{record}: {field_name(rest)} {_describe(err, record, rest)}")
    return lines


def _describe(err: Any, record: str, rest: list[object]) -> str:
    kind, ctx = err["type"], err.get("ctx", {})
    if kind == "missing":
        return "is required"
    if kind == "extra_forbidden":
        model = _MODELS.get(record.split(" ")[0], Instance)
        if len(rest) > 1:  # inside a nested record such as weights
            model = _MODELS.get(str(rest[0]).rstrip("s"), model)
        close = difflib.get_close_matches(str(rest[-1]), list(model.model_fields), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"is not a field of the format{hint}"
    if kind == "literal_error":
        if rest and rest[-1] in ("kind", "kinds") or "kind" in str(rest):
            return f"is not a provider kind (one of {', '.join(KINDS)})"
        return f"must be one of {ctx.get('expected', '')}"
    if kind in ("greater_than", "greater_than_equal", "less_than_equal", "less_than"):
        op = {"greater_than": ">", "greater_than_equal": ">=", "less_than": "<"}.get(kind, "<=")
        limit = next(iter(ctx.values()))
        if rest[:1] == ["relations"]:
            return "must be a relation level from 1 to 3"
        return f"must be {op} {limit}"
    if kind.startswith("int"):
        return "must be a whole number"
    if kind.startswith("string") or kind == "str_type":
        return "must be a text string"
    if kind.startswith("bool"):
        return "must be true or false"
    if kind in ("tuple_type", "list_type"):
        return "must be a list"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be an object"
    if kind == "too_short":
        return "must not be empty"
    if kind == "is_instance_of":
        return "must be a number"
    return str(err["msg"]).rstrip(".")


def write_atomic(path: str | os.PathLike[str], data: bytes | str) -> None:
    """Write the whole file or nothing: a temporary file in the same folder, then rename."""
    path = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent or ".")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # as an ordinary write would (mkstemp gives 0600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def dump_json(document: Any) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, default=_json_default) + "\n"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, tuple | set):
        return list(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")
