"""Generalised assignment problem (GAP) files of the OR-Library, as allocation instances.

A GAP file holds whitespace-separated integers (line breaks anywhere)::

    m n                      agents, jobs
    c[1][1] ... c[m][n]      cost of job j at agent i, agent by agent
    w[1][1] ... w[m][n]      capacity job j uses at agent i, agent by agent
    b[1] ... b[m]            capacity of agent i

Every job goes to exactly one agent; an agent's summed use must not exceed its capacity;
minimise the summed cost. `gap_instance` turns it into an allocation-instance/1 whose
optimum equals the GAP optimum whenever the GAP is feasible (see its docstring).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

from solver.errors import InstanceError
from solver.instance import Instance, Weights

CASE_AGE = 16  # any age works: GAP providers serve every age


@dataclass(frozen=True)
class Gap:
    """A GAP instance: `cost[i][j]`, `use[i][j]` for agent i and job j, `capacity[i]`."""

    name: str
    cost: tuple[tuple[int, ...], ...]
    use: tuple[tuple[int, ...], ...]
    capacity: tuple[int, ...]

    @property
    def agents(self) -> int:
        return len(self.capacity)

    @property
    def jobs(self) -> int:
        return len(self.cost[0])


def read_gap(path: str | Path) -> Gap:
    """Read an OR-Library GAP file; `InstanceError` (one line naming the file) if it is bad."""
    path = Path(path)
    try:
        text = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError([f"{path}: cannot be read ({exc.__class__.__name__})"]) from None
    return parse_gap(text, path.stem, source=str(path))


def parse_gap(text: str, name: str, source: str = "input") -> Gap:
    """Parse the text of a GAP file (see the module docstring)."""
    tokens = list(re.finditer(r"\S+", text))

    def fail(problem: str, at: int | None = None) -> InstanceError:
        if at is None:
            return InstanceError([f"{source}: {problem}"])
        line = text.count("\n", 0, tokens[at].start()) + 1
        return InstanceError([f"{source}: line {line}: {problem}"])

    def number(k: int, label: str, positive: bool = False) -> int:
        raw = tokens[k].group()
        try:
            value = int(raw)
        except ValueError:
            raise fail(f"{label} is {raw[:20]!r}, not a whole number", k) from None
        if value < 0 or (positive and value == 0):
            raise fail(f"{label} is {value}, must be {'> 0' if positive else '>= 0'}", k)
        return value

    if len(tokens) < 2:
        raise fail("expected 'm n' (agents, jobs) at the start, found too few numbers")
    m, n = number(0, "m (agents)", True), number(1, "n (jobs)", True)
    expected = 2 + 2 * m * n + m
    if len(tokens) != expected:
        few = "too few" if len(tokens) < expected else "too many"
        raise fail(
            f"{few} numbers: {m} agents x {n} jobs need 2 + 2*{m}*{n} + {m} = {expected}, "
            f"found {len(tokens)}"
        )

    def matrix(first: int, symbol: str, positive: bool) -> tuple[tuple[int, ...], ...]:
        return tuple(
            tuple(
                number(first + i * n + j, f"{symbol}[{i + 1}][{j + 1}]", positive) for j in range(n)
            )
            for i in range(m)
        )

    # Capacity use must be > 0: it becomes an offer's hours_per_week, which the format
    # requires to be > 0.
    cost = matrix(2, "cost c", False)
    use = matrix(2 + m * n, "capacity use w", True)
    first = 2 + 2 * m * n
    capacity = tuple(number(first + i, f"capacity b[{i + 1}]") for i in range(m))
    return Gap(name=name, cost=cost, use=use, capacity=capacity)


def unassigned_weight(gap: Gap) -> int:
    """A per-job penalty above the cost of any full assignment (and at least the default).

    A full assignment costs at most sum_j max_i c[i][j] < this weight, while leaving a job
    unassigned costs at least the weight: whenever the GAP is feasible, no optimum of the
    instance leaves a job unassigned, so the two optima are equal.
    """
    worst = sum(max(column) for column in zip(*gap.cost, strict=True))
    return max(int(Weights().unassigned), worst + 1)


def gap_instance(gap: Gap) -> Instance:
    """The GAP as an allocation instance.

    Agents are external providers `a1..am` with `capacity_hours` = b[i]; jobs are cases
    `j1..jn` (age 16, `hours_per_week` = the least use over agents); every (job, agent)
    pair is an offer with `annual_cost` = c[i][j] and `hours_per_week` = w[i][j]. Relation,
    continuity and family weights are 0 (there are none of those records anyway) and the
    unassigned weight is `unassigned_weight(gap)`, so the instance's optimum is the GAP
    optimum whenever the GAP is feasible. An infeasible GAP gives an instance whose optimum
    leaves jobs unassigned.
    """
    agents, jobs = range(gap.agents), range(gap.jobs)
    return Instance.model_validate(
        {
            "name": gap.name,
            "providers": [
                {"id": f"a{i + 1}", "kind": "external", "capacity_hours": gap.capacity[i]}
                for i in agents
            ],
            "cases": [
                {
                    "id": f"j{j + 1}",
                    "age": CASE_AGE,
                    "hours_per_week": min(gap.use[i][j] for i in agents),
                }
                for j in jobs
            ],
            "offers": [
                {
                    "case": f"j{j + 1}",
                    "provider": f"a{i + 1}",
                    "annual_cost": gap.cost[i][j],
                    "hours_per_week": gap.use[i][j],
                }
                for j in jobs
                for i in agents
            ],
            "weights": {
                "relation_per_level": 0,
                "continuity": 0,
                "family_split": 0,
                "unassigned": unassigned_weight(gap),
            },
        }
    )


@dataclass(frozen=True)
class BestKnown:
    """One row of best-known.csv: best lower bound, proven optimum, best known value."""

    bound: int | None
    optimum: int | None
    value: int | None


BEST_KNOWN_COLUMNS = ("Path", "Best known bound", "Optimum", "Best known solution value")


def read_best_known(path: str | Path) -> dict[str, BestKnown]:
    """best-known.csv as a mapping from `dataset/stem` (its Path column) and from the bare
    stem (when no two datasets share it) to the row's figures."""
    path = Path(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InstanceError([f"{path}: cannot be read ({exc.__class__.__name__})"]) from None
    missing = [c for c in BEST_KNOWN_COLUMNS if rows and c not in rows[0]]
    if not rows or missing:
        raise InstanceError([f"{path}: expected columns {', '.join(BEST_KNOWN_COLUMNS)}"])
    table: dict[str, BestKnown] = {}
    stems: dict[str, list[str]] = {}
    for line, row in enumerate(rows, start=2):
        key = row["Path"].strip()
        table[key] = BestKnown(
            *(_optional_int(row[c], f"{path}: row {line}: {c}") for c in BEST_KNOWN_COLUMNS[1:])
        )
        stems.setdefault(Path(key).name, []).append(key)
    for stem, keys in stems.items():
        if len(keys) == 1 and stem not in table:
            table[stem] = table[keys[0]]
    return table


def _optional_int(cell: str | None, where: str) -> int | None:
    text = (cell or "").strip()
    if not text:
        return None
    try:
        return int(text)
    except ValueError:
        raise InstanceError([f"{where} is {text[:20]!r}, not a whole number"]) from None


def gap_key(path: str | Path) -> str:
    """The name best-known.csv uses for a GAP file: `dataset/stem`, e.g. `chu1997/d20200`."""
    path = Path(path)
    return f"{path.parent.name}/{path.stem}" if path.parent.name else path.stem


def lookup(table: dict[str, BestKnown], path: str | Path) -> BestKnown | None:
    """The best-known row of a GAP file, by `dataset/stem`, else by stem."""
    return table.get(gap_key(path)) or table.get(Path(path).stem)
