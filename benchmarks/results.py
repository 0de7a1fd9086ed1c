"""Write benchmarks/RESULTS.md from a pytest-benchmark JSON file (and a peers run).

    python benchmarks/results.py [--bench benchmarks/bench.json] [--peers benchmarks/peers.json]
                                 [--out benchmarks/RESULTS.md] [--command "make bench"]

`--bench` is the `--benchmark-json` file of `BENCH_FULL=1 pytest benchmarks`: every
benchmark's `extra_info` holds the metrics of `harness.run` (a failing quality check does
not remove them). `--peers` is the JSON of `allocate bench-gap ... --peers` (optional; left
out when the file is missing). `--out` defaults to $BENCH_RESULTS, else
benchmarks/RESULTS.md; it is written atomically. Only the standard library and
`solver.io.write_atomic` are used.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
from collections.abc import Callable, Iterable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import harness  # noqa: E402

GIB = 1024  # MiB

# The targets ("Solver performance at scale", item 5).
GAP_MEAN_PCT = 0.1
GAP_MAX_PCT = 0.5
GEN_20K = {"build": 10.0, "first": 15.0, "gap": 1.0, "peak_mib": 4 * GIB, "limit": 60.0}
GEN_100K_WALL = 300.0
BUNDLED_SECONDS = 1.0


# -- reading --


def read_metrics(path: Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The metrics of every benchmark in a pytest-benchmark JSON file, and the file."""
    document = json.loads(path.read_text(encoding="utf-8"))
    rows = [b["extra_info"] for b in document.get("benchmarks", []) if b.get("extra_info")]
    return [r for r in rows if "kind" in r], document


# -- machine --


def machine() -> dict[str, str]:
    """CPU model, cores, memory, OS, Python and OR-Tools of this machine."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        cpu = platform.processor() or "unknown"
    cores = os.cpu_count() or 0
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = cores
    memory = "unknown"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024**2:.1f} GiB"
                break
    except OSError:
        pass
    system = f"{platform.system()} {platform.release()}"
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                system = f"{line.split('=', 1)[1].strip().strip(chr(34))} ({system})"
                break
    except OSError:
        pass
    try:
        ortools = metadata.version("ortools")
    except metadata.PackageNotFoundError:
        ortools = "not installed"
    return {
        "CPU": f"{cpu}, {cores} cores" + (f" ({usable} usable)" if usable != cores else ""),
        "Memory": memory,
        "OS": system,
        "Python": platform.python_version(),
        "OR-Tools": ortools,
    }


# -- formatting --


def num(value: Any, digits: int = 0) -> str:
    """A number with thousands separated by spaces; '-' for None."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value
    return f"{value:,.{digits}f}".replace(",", " ")


def pct(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def sec(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def status(row: dict[str, Any]) -> str:
    text = str(row.get("status"))
    if row.get("error"):
        text += f" ({row['error'].splitlines()[0][:80]})"
    return text.replace("|", "/")


LEFT = {"instance", "status", "set", "solver", "target", "result", "", "ours", "plain CP-SAT"}
LEFT |= {"SCIP", "HiGHS"}


def table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> list[str]:
    """A Markdown table; text columns (by header, `LEFT`) left-aligned, numbers right."""
    align = ["---" if h in LEFT else "---:" for h in header]
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return lines


def mark(ok: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not run"}[ok]


def limits_text(rows: list[dict[str, Any]]) -> str:
    limits = sorted({r["time_limit"] for r in rows if r.get("time_limit") is not None})
    return ", ".join(f"{t:g} s" for t in limits) or "-"


def at_limit(row: dict[str, Any], target: float) -> str:
    """' (at 5 s; the target is for 60 s)' when the run's limit is not the target's."""
    limit = row.get("time_limit")
    return "" if limit == target else f" (at {limit:g} s; the target is for {target:g} s)"


# -- sections --


def sort_gap(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    order = {k: n for n, k in enumerate(harness.gap_keys())}
    return sorted(rows, key=lambda r: order.get(r["name"], len(order)))


def gap_section(rows: list[dict[str, Any]]) -> list[str]:
    out = ["## GAP instances", ""]
    out.append(
        "Value = the GAP cost of our allocation, recomputed from the GAP's matrices (none "
        "when a job is left unassigned); "
        "gap % = 100 (value - best known) / best known; bgap % = 100 (value - bound) / value; "
        "first s and best s count from the start of `solve()`; peak = the solving process's "
        "peak resident memory."
    )
    out.append("")
    out += table(
        [
            "instance",
            "jobs x agents",
            "status",
            "value",
            "best known",
            "gap %",
            "bound",
            "bgap %",
            "unassigned",
            "first s",
            "best s",
            "build s",
            "solve s",
            "peak MiB",
        ],
        (
            [
                r["name"],
                f"{r['cases']} x {r['providers']}" if r.get("cases") else "-",
                status(r),
                num(r["objective"]),
                num(r["best_known"]),
                pct(r["gap_best_pct"]),
                num(r["bound"]),
                pct(r["gap_pct"]),
                num(r["unassigned"]),
                sec(r["first_solution_seconds"]),
                sec(r["best_solution_seconds"]),
                sec(r["build_seconds"]),
                sec(r["solve_call_seconds"]),
                num(r["peak_mib"]),
            ]
            for r in rows
        ),
    )
    out += ["", "### GAP summary", ""]
    groups: list[tuple[str, list[dict[str, Any]]]] = []
    for dataset in sorted({r["set"] for r in rows}):
        members = [r for r in rows if r["set"] == dataset]
        groups.append((dataset, members))
        if dataset == "chu1997":
            for kind in "abcd":
                typed = [r for r in members if r["name"].split("/")[1].startswith(kind)]
                if typed:
                    groups.append((f"chu1997 type {kind}", typed))
    groups.append(("all", rows))
    out += table(
        [
            "set",
            "instances",
            "with a value",
            "mean gap %",
            "max gap %",
            "at best known",
            "proven optimal",
        ],
        ([name, *gap_summary(members)] for name, members in groups),
    )
    return out


def gap_summary(rows: list[dict[str, Any]], key: str = "gap_best_pct") -> list[str]:
    gaps = [r[key] for r in rows if r.get(key) is not None]
    return [
        str(len(rows)),
        str(len(gaps)),
        pct(statistics.fmean(gaps) if gaps else None),
        pct(max(gaps) if gaps else None),
        str(sum(1 for g in gaps if g <= 0)),
        str(sum(1 for r in rows if r.get("status") == "optimal")),
    ]


def generated_section(rows: list[dict[str, Any]]) -> list[str]:
    out = ["## Generated instances", ""]
    out.append(
        "`solver.generate.generate(cases, providers, seed=1)`; cases = all cases (active "
        "ones in brackets); pairs = eligible (case, provider) pairs; gap % = 100 (objective - "
        "bound) / objective; build s = deriving the arrays and building the CP-SAT model; "
        "first s = from the start of `solve()` to the first allocation; wall s = the whole "
        "run in its process (generating included); peak = its peak resident memory."
    )
    out.append("")
    out += table(
        [
            "instance",
            "cases",
            "providers",
            "pairs",
            "limit s",
            "status",
            "gen s",
            "build s",
            "greedy s",
            "LP s",
            "first s",
            "best s",
            "objective",
            "bound",
            "gap %",
            "unassigned",
            "wall s",
            "peak MiB",
        ],
        (
            [
                r["name"],
                f"{num(r['cases'])} ({num(r['active_cases'])})",
                num(r["providers"]),
                num(r["pairs"]),
                f"{r['time_limit']:g}",
                status(r),
                sec(r["load_seconds"]),
                sec(r["build_seconds"]),
                sec(r["heuristic_seconds"]),
                sec(r["lp_seconds"]),
                sec(r["first_solution_seconds"]),
                sec(r["best_solution_seconds"]),
                num(r["objective"]),
                num(r["bound"]),
                pct(r["gap_pct"], 2),
                num(r["unassigned"]),
                sec(r["wall_seconds"]),
                num(r["peak_mib"]),
            ]
            for r in rows
        ),
    )
    return out


def bundled_section(rows: list[dict[str, Any]]) -> list[str]:
    out = ["## Bundled instances", ""]
    out.append("`instances/`; solve s = the whole `solve()` call (building included).")
    out.append("")
    out += table(
        [
            "instance",
            "cases",
            "pairs",
            "status",
            "objective",
            "bound",
            "gap %",
            "build s",
            "solve s",
            "peak MiB",
        ],
        (
            [
                r["name"],
                num(r["cases"]),
                num(r["pairs"]),
                status(r),
                num(r["objective"], 2),
                num(r["bound"], 2),
                pct(r["gap_pct"], 2),
                sec(r["build_seconds"]),
                sec(r["solve_call_seconds"]),
                num(r["peak_mib"]),
            ]
            for r in rows
        ),
    )
    return out


def targets_section(
    gap: list[dict[str, Any]], generated: list[dict[str, Any]], bundled: list[dict[str, Any]]
) -> list[str]:
    checks: list[tuple[str, str, bool | None]] = []
    expected = harness.gap_keys()

    abc = [k for k in expected if k.startswith("chu1997/") and k.split("/")[1][0] in "abc"]
    by_name = {r["name"]: r for r in gap}
    ran = [by_name[k] for k in abc if k in by_name]
    proven = sum(1 for r in ran if r["status"] == "optimal")
    checks.append(
        (
            "GAP: every chu1997 a/b/c instance proven optimal",
            f"{proven} of {len(abc)} proven"
            + (f" ({len(ran)} run)" if len(ran) < len(abc) else ""),
            None if not ran else (proven == len(abc)),
        )
    )
    gaps = [r["gap_best_pct"] for r in gap if r.get("gap_best_pct") is not None]
    complete = len(gaps) == len(expected)
    note = "" if complete else f" over {len(gaps)} of {len(expected)} instances"
    mean = statistics.fmean(gaps) if gaps else None
    worst = max(gaps) if gaps else None
    checks.append(
        (
            f"GAP: mean gap to best known <= {GAP_MEAN_PCT} %",
            f"{pct(mean)} %{note}",
            None if not gap else (complete and mean is not None and mean <= GAP_MEAN_PCT),
        )
    )
    checks.append(
        (
            f"GAP: max gap to best known <= {GAP_MAX_PCT} %",
            f"{pct(worst)} %{note}",
            None if not gap else (complete and worst is not None and worst <= GAP_MAX_PCT),
        )
    )

    for peer in peer_names(gap):
        both = [
            r
            for r in gap
            if r.get("gap_best_pct") is not None and r.get(f"{peer}_gap_best_pct") is not None
        ]
        ours = statistics.fmean(r["gap_best_pct"] for r in both) if both else None
        theirs = statistics.fmean(r[f"{peer}_gap_best_pct"] for r in both) if both else None
        checks.append(
            (
                f"GAP: better mean gap than {LABELS[peer]} in the same run",
                f"{pct(ours)} % vs {pct(theirs)} % over {len(both)} instances",
                None if not both else ours < theirs,
            )
        )

    g20 = next((r for r in generated if r["name"] == "gen-20k"), None)

    def gen(label: str, figure: Callable[[dict], str], ok: Callable[[dict], bool]) -> None:
        if g20 is None:
            checks.append((label, "-", None))
        else:
            checks.append((label, figure(g20), bool(ok(g20))))

    limit = GEN_20K["limit"]
    gen(
        f"20k x 300: built in <= {GEN_20K['build']:g} s",
        lambda r: f"{sec(r['build_seconds'])} s",
        lambda r: r["build_seconds"] is not None and r["build_seconds"] <= GEN_20K["build"],
    )
    gen(
        f"20k x 300: first feasible in <= {GEN_20K['first']:g} s",
        lambda r: f"{sec(r['first_solution_seconds'])} s",
        lambda r: (
            r["first_solution_seconds"] is not None
            and r["first_solution_seconds"] <= GEN_20K["first"]
        ),
    )
    gen(
        f"20k x 300: within {GEN_20K['gap']:g} % of the bound at {limit:g} s",
        lambda r: f"{pct(r['gap_pct'], 2)} %{at_limit(r, limit)}",
        lambda r: (
            r["gap_pct"] is not None and r["gap_pct"] <= GEN_20K["gap"] and r["time_limit"] <= limit
        ),
    )
    gen(
        "20k x 300: peak memory <= 4 GiB",
        lambda r: f"{num(r['peak_mib'])} MiB",
        lambda r: r["peak_mib"] is not None and r["peak_mib"] <= GEN_20K["peak_mib"],
    )

    g100 = next((r for r in generated if r["name"] == "gen-100k"), None)
    label = "100k x 1000: a feasible allocation with its gap within 5 minutes (end to end)"
    if g100 is None:
        checks.append((label, "-", None))
    else:
        feasible = g100["status"] in ("optimal", "feasible") and g100["gap_pct"] is not None
        figure = (
            f"{status(g100)}, gap {pct(g100['gap_pct'], 2)} %, "
            f"{sec(g100['wall_seconds'])} s (time limit {g100['time_limit']:g} s)"
        )
        wall = g100["wall_seconds"]
        checks.append((label, figure, feasible and wall is not None and wall <= GEN_100K_WALL))

    label = f"bundled instances proven optimal in under {BUNDLED_SECONDS:g} s (whole solve())"
    if not bundled:
        checks.append((label, "-", None))
    else:
        figure = ", ".join(
            f"{r['name']} {r['status']} in {sec(r['solve_call_seconds'])} s" for r in bundled
        )
        ok = all(
            r["status"] == "optimal"
            and r["solve_call_seconds"] is not None
            and r["solve_call_seconds"] < BUNDLED_SECONDS
            for r in bundled
        )
        checks.append((label, figure, ok))

    out = ["## Targets", ""]
    out.append('From the issue "Solver performance at scale" (2 cores, 60 s per instance).')
    out.append("")
    out += table(["target", "result", ""], ([t, f, mark(ok)] for t, f, ok in checks))
    return out


LABELS = {"ours": "ours", "cpsat": "plain CP-SAT", "scip": "SCIP", "highs": "HiGHS"}


def peer_names(gap: list[dict[str, Any]]) -> list[str]:
    """The peers run beside ours in the benchmark itself (BENCH_PEERS)."""
    return [p for p in ("cpsat", "scip", "highs") if any(f"{p}_status" in r for r in gap)]


def peers_section(document: dict[str, Any], source: str) -> list[str]:
    rows = document.get("instances", [])
    peers = document.get("peers", [])
    params = document.get("params", {})
    solvers = [("ours", ""), *((p, f"{p}_") for p in peers)]
    labels = LABELS
    out = [f"## Peers: {' vs '.join(labels[n] for n, _ in solvers)}", ""]
    if document.get("same_run"):
        origin = (
            f"From `{source}`: on each GAP instance the peers ran right after ours in the "
            "same benchmark child process (`BENCH_PEERS`), one after the other"
        )
    else:
        origin = (
            f"From `{source}`, written by `allocate bench-gap benchmarks/gap --time-limit "
            f"{params.get('time_limit', '?'):g} --workers {params.get('workers', '?')} "
            "--peers --out benchmarks/peers` (the solvers one after the other"
        )
    out.append(
        f"{origin}, each at the same time limit ({params.get('time_limit', '?'):g} s) and "
        f"workers ({params.get('workers', '?')}); OR-Tools {document.get('ortools', '?')}. "
        "Plain CP-SAT: a boolean per pair, default parameters, no hint; SCIP through "
        "pywraplp; HiGHS through math_opt (thread count not settable). Gap % to best known."
    )
    out.append("")
    datasets = sorted({r["name"].split("/")[0] for r in rows})
    header = ["solver"]
    for d in [*datasets, "all"]:
        header += [f"{d} mean gap %", f"{d} max gap %"]
    header += ["with a value", "at best known", "proven optimal"]
    lines = []
    for name, prefix in solvers:
        line = [labels.get(name, name)]
        for d in [*datasets, "all"]:
            members = [r for r in rows if d == "all" or r["name"].startswith(d + "/")]
            gaps = [
                r[f"{prefix}gap_best_pct"]
                for r in members
                if r.get(f"{prefix}gap_best_pct") is not None
            ]
            line += [
                pct(statistics.fmean(gaps) if gaps else None),
                pct(max(gaps) if gaps else None),
            ]
        gaps = [
            r[f"{prefix}gap_best_pct"] for r in rows if r.get(f"{prefix}gap_best_pct") is not None
        ]
        line += [
            f"{len(gaps)} of {len(rows)}",
            str(sum(1 for g in gaps if g <= 0)),
            str(sum(1 for r in rows if r.get(f"{prefix}status") == "optimal")),
        ]
        lines.append(line)
    out += table(header, lines)
    out += ["", "Per instance: value (gap % to best known), status.", ""]

    def cell(r: dict[str, Any], prefix: str) -> str:
        value = r.get(f"{prefix}value")
        if value is None:
            return str(r.get(f"{prefix}status", "-")).replace("|", "/")
        return f"{num(value)} ({pct(r.get(f'{prefix}gap_best_pct'))}) {r.get(f'{prefix}status')}"

    out += table(
        ["instance", "best known", *(labels.get(n, n) for n, _ in solvers)],
        ([r["name"], num(r.get("best_known")), *(cell(r, p) for _, p in solvers)] for r in rows),
    )
    return out


# -- the document --


def render(
    metrics: list[dict[str, Any]],
    bench: dict[str, Any],
    peers: dict[str, Any] | None,
    command: str,
    sources: dict[str, str],
) -> str:
    gap = sort_gap([r for r in metrics if r["kind"] == "gap"])
    order = list(harness.GENERATED)
    generated = sorted(
        (r for r in metrics if r["kind"] == "generated"),
        key=lambda r: order.index(r["name"]) if r["name"] in order else len(order),
    )
    bundled = [r for r in metrics if r["kind"] == "bundled"]
    modes = sorted({r.get("mode", "?") for r in metrics})
    commit = bench.get("commit_info") or {}
    revision = commit.get("id")
    if revision:
        revision = revision[:12] + (" (with uncommitted changes)" if commit.get("dirty") else "")
    workers = sorted({r["workers"] for r in metrics if r.get("workers") is not None})
    seeds = sorted({r["seed"] for r in metrics if r.get("seed") is not None})

    out = ["# Benchmark results", ""]
    out.append(
        f"Written by `benchmarks/results.py` from `{sources['bench']}`"
        + (f" and `{sources['peers']}`" if peers is not None else "")
        + ". Regenerate with `make bench` (about an hour on 2 cores); see the README, "
        '"Benchmarks".'
    )
    if modes != ["full"]:
        out += ["", f"**Not a full run** (mode: {', '.join(modes)}): the tables are partial."]
    out += ["", "## Machine and command", ""]
    facts = {
        "Command": f"`{command}`",
        "Date": bench.get("datetime", "-"),
        "Commit": revision or "-",
        **machine(),
        "Time limits": (
            f"GAP {limits_text(gap)}; generated {limits_text(generated)}; bundled "
            f"{limits_text(bundled)} (search: LP, neighbourhood search and CP-SAT; building "
            "and the greedy start not included)"
        ),
        "Workers": ", ".join(map(str, workers)) or "-",
        "Seed": ", ".join(map(str, seeds)) or "-",
        "Process": "each instance loaded and solved in a fresh process (multiprocessing "
        "spawn); peak memory = its `ru_maxrss`",
    }
    out += [f"- **{k}**: {v}" for k, v in facts.items()]
    out += [""] + targets_section(gap, generated, bundled)
    if gap:
        out += [""] + gap_section(gap)
    if generated:
        out += [""] + generated_section(generated)
    if bundled:
        out += [""] + bundled_section(bundled)
    if peers is None and peer_names(gap):
        peers = {
            "instances": [r | {"value": r["objective"]} for r in gap],
            "peers": peer_names(gap),
            "params": {"time_limit": gap[0]["time_limit"], "workers": gap[0]["workers"]},
            "ortools": machine().get("OR-Tools", "?"),
            "same_run": True,
        }
        sources = sources | {"peers": sources["bench"]}
    if peers is not None:
        out += [""] + peers_section(peers, sources["peers"])
    return "\n".join(out) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bench", default=str(HERE / "bench.json"))
    parser.add_argument("--peers", help="bench-gap --peers JSON (skipped when missing)")
    parser.add_argument(
        "--out", default=os.environ.get("BENCH_RESULTS") or str(HERE / "RESULTS.md")
    )
    parser.add_argument("--command", default="make bench")
    args = parser.parse_args(argv)

    bench_path = Path(args.bench)
    try:
        metrics, bench = read_metrics(bench_path)
    except (OSError, ValueError) as exc:
        print(f"error: {bench_path}: cannot be read ({exc.__class__.__name__})", file=sys.stderr)
        return 2
    if not metrics:
        print(f"error: {bench_path}: no benchmark metrics", file=sys.stderr)
        return 2
    peers = None
    peers_path = Path(args.peers) if args.peers else None
    if peers_path is not None and peers_path.is_file():
        peers = json.loads(peers_path.read_text(encoding="utf-8"))
    elif peers_path is not None:
        print(f"note: {peers_path} not found; no peers table", file=sys.stderr)
    root = HERE.parent
    sources = {
        "bench": _relative(bench_path, root),
        "peers": _relative(peers_path, root) if peers_path else "",
    }
    text = render(metrics, bench, peers, args.command, sources)

    from solver.io import write_atomic

    write_atomic(args.out, text)
    print(f"wrote {args.out}")
    return 0


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root))
    except ValueError:
        return str(path)


if __name__ == "__main__":
    sys.exit(main())
