"""Sweeps: solve a grid of scenarios of one base instance and tabulate their figures.

An axis is one `--vary FIELD=V1,V2,...`; each of its values becomes one change of an
`allocation-scenario/1` scenario (`solver.scenario`), and the grid is the cartesian product of
the axes, the first axis varying slowest. FIELD is one of

    weights.<field>                             set a weight
    instance.<field>                            set an instance field (weeks_per_year)
    <providers|cases|offers|budgets>[<f>=<v>].<field>   set a field of the matching records
    price_index[<f>=<v>]                        price index (factor) of the matching providers
    price_index                                 ... of every provider

Values and the `where` value are JSON scalars (numbers, true, false, null), anything else a
string (quote it, `"17"`, to make a number-like id a string). Every point is applied and
validated before anything is solved, so a refused point stops the sweep before any run.

Each finished point is appended to a JSON Lines file as one row (flushed and synced), keyed
by the point's key; a later sweep with the same file skips those points, so an interrupted
sweep resumes where it stopped. A row records the base instance's digest and the search
settings, and rows solved with others are refused rather than mixed in.
"""

from __future__ import annotations

import concurrent.futures
import difflib
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import re
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack, closing
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from solver.errors import InstanceError
from solver.figures import figures
from solver.instance import KINDS, Instance, Weights
from solver.privacy import looks_like_cpr
from solver.result import PENALTIES
from solver.result import _dkk as dkk
from solver.scenario import RECORDS, PriceChange, Scalar, Scenario, SetChange, apply
from solver.solve import SolveParams, solve

SYNTAX = (
    "expected FIELD=V1,V2,... with FIELD weights.<field>, instance.<field>, "
    "<providers|cases|offers|budgets>[<field>=<value>].<field> or price_index[<field>=<value>]"
)
_NAME = r"[A-Za-z_]\w*"
_WHERE = rf"\[(?P<wfield>{_NAME})=(?P<wvalue>[^\]]*)\]"
_OPTION = re.compile(r"(?P<field>[^\[=]*(?:\[[^\]]*\][^\[=]*)?)=(?P<values>.*)", re.S)
_PLAIN = re.compile(rf"(?P<target>weights|instance)\.(?P<field>{_NAME})")
_RECORD = re.compile(rf"(?P<target>{_NAME}){_WHERE}\.(?P<field>{_NAME})")
_PRICE = re.compile(rf"price_index(?:{_WHERE})?")
# figures() leaves these empty for an unsolved point; rows keep the same columns.
_COLUMNS = {"penalties": PENALTIES, "cost_by_kind": KINDS}


@dataclass(frozen=True)
class Axis:
    """One --vary option: the change it makes, and its values in the order given."""

    name: str  # canonical FIELD, e.g. providers[kind=club].included_hours
    target: str  # weights, instance, a record list, or price_index
    where: dict[str, Scalar]
    field: str | None  # None for price_index
    values: tuple[Scalar, ...]

    def change(self, value: Scalar) -> SetChange | PriceChange:
        if self.field is None:
            return PriceChange(op="price_index", factor=value, where=self.where)
        return SetChange(op="set", target=self.target, where=self.where, fields={self.field: value})


@dataclass(frozen=True)
class Point:
    """One grid point: its key, the value of each axis, and its scenario."""

    key: str
    values: dict[str, Scalar]
    scenario: Scenario


def parse_vary(text: str) -> Axis:
    """`FIELD=V1,V2,...` as an axis; InstanceError (one line naming the option) if refused."""

    def refuse(problem: str) -> InstanceError:
        return InstanceError([f"--vary {text}: {problem}"])

    parts = re.split(r"[\[\]=,]", text)  # numbers (budgets in DKK) are not CPR numbers
    if any(looks_like_cpr(p) and not _number(_scalar(p.strip())) for p in parts):
        raise InstanceError(  # without the option, which holds the value
            [
                "--vary: a value looks like a CPR number (a date DDMMYY and four digits); "
                "use pseudonymous ids only"
            ]
        )
    option = _OPTION.fullmatch(text.strip())
    if option is None:
        raise refuse(SYNTAX)
    spec = option["field"].strip()
    items = [v.strip() for v in option["values"].split(",")]
    if not all(items):
        raise refuse("values must be given, separated by commas, none empty")
    values = tuple(_scalar(v) for v in items)
    where: dict[str, Scalar] = {}
    if match := _PLAIN.fullmatch(spec):
        target, field = match["target"], match["field"]
        _known(field, Weights if target == "weights" else Instance, target, refuse)
    elif match := _RECORD.fullmatch(spec):
        target, field = match["target"], match["field"]
        if target not in RECORDS:
            raise refuse(_unknown(target, list(RECORDS), "a record list"))
        _known(match["wfield"], RECORDS[target], target, refuse)
        _known(field, RECORDS[target], target, refuse)
        where = {match["wfield"]: _scalar(match["wvalue"].strip())}
    elif match := _PRICE.fullmatch(spec):
        target, field = "price_index", None
        if match["wfield"] is not None:
            _known(match["wfield"], RECORDS["providers"], "providers", refuse)
            where = {match["wfield"]: _scalar(match["wvalue"].strip())}
        bad = [v for v in values if not _number(v) or v <= 0 or not math.isfinite(v)]
        if bad:
            raise refuse(f"a price index must be a number > 0, not {_text(bad[0])}")
    else:
        raise refuse(SYNTAX)
    name = spec if not where else _canonical(target, where, field)
    texts = [_text(v) for v in values]
    repeated = next((t for n, t in enumerate(texts) if t in texts[:n]), None)
    if repeated is not None:
        raise refuse(f"value {repeated} is given twice")
    return Axis(name=name, target=target, where=where, field=field, values=values)


def grid(axes: Sequence[Axis]) -> list[Point]:
    """The cartesian product of the axes, the first axis varying slowest."""
    names = [a.name for a in axes]
    repeated = next((n for k, n in enumerate(names) if n in names[:k]), None)
    if repeated is not None:
        raise InstanceError([f"--vary {repeated} is given twice"])
    points = []
    for combo in itertools.product(*(a.values for a in axes)):
        key = "|".join(f"{a.name}={_text(v)}" for a, v in zip(axes, combo, strict=True))
        changes = [a.change(v) for a, v in zip(axes, combo, strict=True)]
        scenario = Scenario(name=key, changes=changes)
        points.append(Point(key, dict(zip(names, combo, strict=True)), scenario))
    return points


def validate(base: Instance, axes: Sequence[Axis], points: Sequence[Point]) -> None:
    """Apply each axis value alone (errors name the --vary option), then every point."""
    for axis in axes:
        for value in axis.values:
            alone = Scenario(name=f"{axis.name}={_text(value)}", changes=[axis.change(value)])
            try:
                apply(base, alone)
            except InstanceError as exc:
                raise InstanceError([f"--vary {axis.name}: {line}" for line in exc.lines]) from None
    for point in points:  # combinations can still clash; errors name the point's scenario
        apply(base, point.scenario)


def run_point(base: Instance, point: Point, params: SolveParams) -> dict[str, Any]:
    """Solve one point: its row (key, axis values, figures flattened, seconds, settings)."""
    started = time.perf_counter()
    instance = apply(base, point.scenario)
    result = solve(instance, params)
    row: dict[str, Any] = {"key": point.key, **point.values}
    for name, value in figures(instance, result).items():
        if isinstance(value, dict):
            row.update({f"{name}.{k}": value.get(k) for k in _COLUMNS.get(name, value)})
        else:
            row[name] = value
    row["seconds"] = round(time.perf_counter() - started, 3)
    return {**row, **settings(base, params)}


def settings(base: Instance, params: SolveParams) -> dict[str, Any]:
    """What a row's result depends on besides its point: the base and the search settings."""
    digest = hashlib.sha256(base.model_dump_json().encode("utf-8")).hexdigest()[:16]
    search = {k: v for k, v in asdict(params).items() if k not in ("progress", "log")}
    return {"base_sha256": digest, **search}


def sweep(
    base: Instance,
    axes: Sequence[Axis],
    params: SolveParams,
    out_path: str | os.PathLike[str],
    jobs: int | None = None,
    cluster: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Solve every point of the grid not yet in `out_path`; all rows, in grid order.

    Points run in `jobs` local processes (default: all cores), or with `cluster` (a Dask
    scheduler address, e.g. tcp://scheduler:8786) on that cluster's workers. Each finished
    row is appended to `out_path` at once. `progress(done, total)` is called before the
    first run and after each, counting the points run now.
    """
    points = grid(axes)
    validate(base, axes, points)
    path = Path(out_path)
    done, complete = _read_rows(path)
    expected = settings(base, params)
    for point in points:
        if point.key in done:
            _check_settings(path, point.key, done[point.key], expected)
    todo = [p for p in points if p.key not in done]
    if todo:
        runs = (
            _on_cluster(cluster, base, todo, params)
            if cluster
            else _local(jobs, base, todo, params)
        )
        with ExitStack() as stack:
            stack.enter_context(closing(runs))
            if progress:
                progress(0, len(todo))
            for n, row in enumerate(runs, start=1):
                if n == 1:  # the file is touched only once a point is solved
                    if path.exists() and path.stat().st_size > complete:
                        os.truncate(path, complete)  # the half-written row of an interruption
                    handle = stack.enter_context(path.open("a", encoding="utf-8"))
                handle.write(json.dumps(row, ensure_ascii=False, allow_nan=False) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
                done[row["key"]] = row
                if progress:
                    progress(n, len(todo))
    return [done[p.key] for p in points]


def _local(jobs: int | None, base: Instance, todo: list[Point], params: SolveParams):
    """Rows as they finish, from a pool of fresh processes (OR-Tools and fork don't mix)."""
    workers = min(jobs or os.cpu_count() or 1, len(todo))
    context = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures = [pool.submit(run_point, base, p, params) for p in todo]
        for future in concurrent.futures.as_completed(futures):
            yield future.result()
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)  # interrupted: leave the queue
        raise
    pool.shutdown()


def _on_cluster(address: str, base: Instance, todo: list[Point], params: SolveParams):
    """Rows as they finish, from the workers of the Dask cluster at `address`."""
    from distributed import Client, as_completed

    try:
        client = Client(address)
    except OSError as exc:
        raise ConnectionError(f"cannot connect to the Dask scheduler at {address}: {exc}") from None
    with client:  # closing the client cancels what is left on the cluster
        shared = client.scatter(base, broadcast=True, hash=False)  # sent to each worker once
        futures = [client.submit(run_point, shared, p, params, pure=False) for p in todo]
        for future in as_completed(futures):
            yield future.result()


def _read_rows(path: Path) -> tuple[dict[str, dict[str, Any]], int]:
    """The rows already in `path` by key, and the length of its complete lines in bytes."""
    if not path.exists():
        return {}, 0
    data = path.read_bytes()
    complete = data.rfind(b"\n") + 1  # a last line without its newline was cut short
    rows = {}
    for n, line in enumerate(data[:complete].splitlines(), start=1):
        try:
            row = json.loads(line.decode("utf-8"))
        except ValueError:  # not UTF-8, or not JSON
            row = None
        if not isinstance(row, dict) or not isinstance(row.get("key"), str):
            raise InstanceError([f"{path}: line {n} is not a sweep row"])
        rows[row["key"]] = row
    return rows, complete


def _check_settings(path: Path, key: str, row: dict[str, Any], expected: dict[str, Any]) -> None:
    for name, value in expected.items():
        if row.get(name) != value:
            raise InstanceError(
                [
                    f"{path}: point {key} was solved with {name} {_text(row.get(name))}, not "
                    f"{_text(value)}; use another --out for other settings or another base"
                ]
            )


def rows_table(rows: Sequence[dict[str, Any]], axes: Sequence[Axis]) -> str:
    """The grid as text: the axis values, then objective, cost, unassigned, moves, status."""
    heads = [a.name for a in axes] + ["objective", "cost", "unassigned", "moves", "status"]
    body = [
        [_text(r[a.name]) for a in axes]
        + [dkk(r["objective"]), dkk(r["total_cost"])]
        + ["-" if r[k] is None else str(r[k]) for k in ("unassigned", "moves")]
        + [r["status"]]
        for r in rows
    ]
    widths = [max(len(x) for x in column) for column in zip(heads, *body, strict=True)]
    right = [False] * len(axes) + [True] * 4 + [False]
    lines = [
        "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(line, widths, right, strict=True)
        )
        for line in [heads, *body]
    ]
    return "\n".join(line.rstrip() for line in lines)


def _scalar(text: str) -> Scalar:
    """A JSON scalar (number, true, false, null), else the text itself."""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except ValueError:
        return text
    return value if value is None or isinstance(value, int | float | bool | str) else text


def _no_constant(name: str) -> None:
    raise ValueError(name)  # NaN and Infinity are not numbers here


def _number(value: Scalar) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _text(value: Any) -> str:
    """A value as written in --vary: a string bare unless it would read as another scalar."""
    plain = isinstance(value, str) and _scalar(value) == value
    return value if plain else json.dumps(value, ensure_ascii=False)


def _canonical(target: str, where: dict[str, Scalar], field: str | None) -> str:
    ((wfield, wvalue),) = where.items()
    name = f"{target}[{wfield}={_text(wvalue)}]"
    return name if field is None else f"{name}.{field}"


def _known(name: str, model: type[BaseModel], what: str, refuse) -> None:
    if name not in model.model_fields:
        raise refuse(_unknown(name, list(model.model_fields), f"a field of {what}"))


def _unknown(name: str, choices: list[str], what: str) -> str:
    close = difflib.get_close_matches(name, choices, n=1)
    return f"{name} is not {what}" + (f" (did you mean '{close[0]}'?)" if close else "")
