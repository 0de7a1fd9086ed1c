"""Command line: a thin layer over the `solver` package.

Exit codes: 0 done; 1 unexpected error; 2 invalid input or usage; 3 no feasible allocation
(proven); 4 `check` found violations, or `solve` found no allocation in the time limit.
Errors are one line each on stderr, never a traceback (set ALLOCATE_DEBUG=1 to see one).
Nothing is written at --out unless the command succeeds, and files are written atomically.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from solver import Instance, InstanceError, SolveParams, solve
from solver.generate import MAX_CASES, MAX_PROVIDERS, MAX_SEED, MIN_PROVIDERS
from solver.io import dump_json, parse_json, write_atomic
from solver.tables import load_any, write_result_xlsx

EXIT_OK, EXIT_ERROR, EXIT_INPUT, EXIT_INFEASIBLE, EXIT_NOT_PASSED = 0, 1, 2, 3, 4


class ProgressLine:
    """One line on a terminal, rewritten in place: time, best objective, bound, gap."""

    def __init__(self, every: float = 0.25):
        self.every, self.last, self.shown = every, -1.0, False

    def __call__(self, p) -> None:
        if p.seconds - self.last < self.every:
            return
        self.last = p.seconds
        obj = "-" if p.objective is None else f"{float(p.objective):,.0f}".replace(",", " ")
        bound = "-" if p.bound is None else f"{float(p.bound):,.0f}".replace(",", " ")
        gap = "-" if p.gap is None else f"{p.gap:.2%}"
        text = f"{p.seconds:7.1f} s   objective {obj:>16}   bound {bound:>16}   gap {gap:>8}"
        sys.stderr.write("\r" + text)
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")


def _out_path(value: str | None, option: str = "--out") -> Path | None:
    """Refuse an output file whose folder is missing before any work is done."""
    if value is None or value == "-":
        return None
    path = Path(value)
    if path.is_dir():
        raise click.BadParameter(f"{value} is a folder", param_hint=option)
    if not path.parent.is_dir():
        raise click.BadParameter(f"folder {path.parent} does not exist", param_hint=option)
    return path


def _search_options(
    time_help: str, workers_help: str, time_limit: float = 60.0, workers: int | None = None
):
    """--time-limit, --workers (default: the machine's cores) and --seed of the commands that
    run `solve()`."""
    options = [
        click.option(
            "--time-limit",
            type=click.FloatRange(min=0, min_open=True),
            default=time_limit,
            show_default=True,
            help=time_help,
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1),
            default=SolveParams.workers if workers is None else workers,
            show_default="the machine's cores" if workers is None else True,
            help=workers_help,
        ),
        click.option(
            "--seed",
            type=click.IntRange(min=0),
            default=0,
            show_default=True,
            help="Random seed; the same seed and workers give the same allocation.",
        ),
    ]

    def decorate(command):
        for option in reversed(options):
            command = option(command)
        return command

    return decorate


def _engine_options(command):
    """--columns/--no-columns and --mip/--no-mip (None: the solver decides)."""
    command = click.option(
        "--mip/--no-mip",
        default=None,
        help="With a second worker, run HiGHS beside the search instead of CP-SAT, or"
        ' never. Default: from 400 cases (docs/model.md, "HiGHS beside the search").',
    )(command)
    return click.option(
        "--columns/--no-columns",
        default=None,
        help="Start the search from the column-generation dive, or never. Default: where"
        ' its LP is small for the time limit (docs/model.md, "Column dive").',
    )(command)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="contact-allocation")
def cli() -> None:
    """Allocate contact-person cases to providers at least cost (see README.md)."""


@cli.command("solve")
@click.argument("instance", type=click.Path())
@click.option(
    "--out",
    "out",
    metavar="FILE",
    help="Allocation JSON, or a workbook if FILE ends in .xlsx; '-' for stdout (JSON). "
    "Default: <instance>-allocation.json in the current folder.",
)
@_search_options("Seconds of search.", "CP-SAT search workers.")
@click.option("--quiet", "-q", is_flag=True, help="Print no summary.")
@click.option("--log", "log_search", is_flag=True, help="Print CP-SAT's search log.")
@_engine_options
@click.option(
    "--priority",
    metavar="TERMS",
    help="Goals in order instead of the weighted sum, e.g. relation,cost (terms: "
    "cost, relation, continuity, family, kind, unassigned).",
)
@click.option(
    "--tolerance",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="With --priority: each later goal may cost the earlier ones this many percent.",
)
def solve_cmd(
    instance, out, time_limit, workers, seed, quiet, log_search, columns, mip, priority, tolerance
) -> int:
    """Solve INSTANCE, print a summary and write the allocation JSON."""
    from solver.goals import check_terms, solve_priority

    target = _out_path(out) if out is not None else Path(f"{Path(instance).stem}-allocation.json")
    order = None if priority is None else check_terms(priority.split(","), "--priority")
    inst = load_any(instance)
    line = ProgressLine() if not quiet and sys.stderr.isatty() and not log_search else None
    params = SolveParams(
        time_limit=time_limit,
        workers=workers,
        seed=seed,
        columns=columns,
        mip=mip,
        log=log_search,
        progress=line,
    )
    if order is None:
        result = solve(inst, params)
    else:
        result = solve_priority(inst, order, tolerance / 100, params)
    if line is not None:
        line.close()
    to_stdout = out == "-"
    if not quiet:
        click.echo(result.summary(), err=to_stdout)
    if result.status == "infeasible":
        click.echo("error: no feasible allocation: " + "; ".join(result.conflicts), err=True)
        return EXIT_INFEASIBLE
    if result.objective is None:
        click.echo("error: no allocation found within the time limit", err=True)
        return EXIT_NOT_PASSED
    document = dump_json(result.to_dict())
    if to_stdout:
        click.echo(document, nl=False)
    elif target.suffix.lower() == ".xlsx":
        write_result_xlsx(inst, result, target)
        if not quiet:
            click.echo(f"\nwrote {target}")
    else:
        write_atomic(target, document)
        if not quiet:
            click.echo(f"\nwrote {target}")
    return EXIT_OK


@cli.command("check")
@click.argument("instance", type=click.Path())
@click.argument("allocation", type=click.Path(dir_okay=False))
def check_cmd(instance, allocation) -> int:
    """Recompute ALLOCATION from the spec's formulas and list every broken rule."""
    from solver.checker import check

    inst = load_any(instance)
    document = _load_allocation(allocation)
    report = check(inst, document)
    ev = report.evaluation
    if ev is not None:
        click.echo(f"recomputed objective {float(ev.objective):,.2f} DKK".replace(",", " "))
    if report.ok:
        click.echo("ok: the allocation keeps every rule and its figures match")
        return EXIT_OK
    for line in report.violations:
        click.echo(f"violation: {line}")
    click.echo(f"error: {len(report.violations)} violation(s)", err=True)
    return EXIT_NOT_PASSED


def _load_allocation(path: str) -> dict:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError([f"{path}: cannot be read ({exc.__class__.__name__})"]) from None
    document = parse_json(text, source=path)
    if not isinstance(document, dict):
        raise InstanceError([f"{path}: an allocation must be a JSON object"])
    return document


@cli.command("validate")
@click.argument("instance", type=click.Path())
def validate_cmd(instance) -> int:
    """Check INSTANCE against the format; list every problem."""
    inst = load_any(instance)
    active = sum(c.active for c in inst.cases)
    click.echo(
        f"valid: {inst.name}: {len(inst.providers)} providers, {len(inst.cases)} cases "
        f"({active} active, {len(inst.cases) - active} closing), {len(inst.offers)} offers, "
        f"{len(inst.budgets)} budgets"
    )
    return EXIT_OK


@cli.command("schema")
@click.option("--scenario", is_flag=True, help="The scenario format's schema instead.")
def schema_cmd(scenario) -> int:
    """Print the JSON Schema of the instance format (or of the scenario format)."""
    from solver.scenario import schema

    click.echo(json.dumps(schema() if scenario else Instance.model_json_schema(), indent=2))
    return EXIT_OK


@cli.command("apply")
@click.argument("base", type=click.Path())
@click.argument("scenario", type=click.Path(dir_okay=False))
@click.option("--out", "out", required=True, metavar="FILE", help="Instance JSON; '-' for stdout.")
def apply_cmd(base, scenario, out) -> int:
    """Apply SCENARIO's changes to the instance BASE and write the new instance.

    The result is validated as a whole instance (docs/scenario-format.md).
    """
    from solver.scenario import apply, load_scenario
    from solver.tables import instance_json

    target = _out_path(out)
    inst = apply(load_any(base), load_scenario(scenario))
    text = instance_json(inst)
    if target is None:
        click.echo(text, nl=False)
        return EXIT_OK
    write_atomic(target, text)
    active = sum(c.active for c in inst.cases)
    click.echo(
        f"wrote {target}: {inst.name}: {len(inst.providers)} providers, {len(inst.cases)} "
        f"cases ({active} active), {len(inst.offers)} offers, {len(inst.budgets)} budgets"
    )
    return EXIT_OK


@cli.command("convert")
@click.argument("src", type=click.Path())
@click.argument("dst", type=click.Path())
@click.option("--force", is_flag=True, help="Replace DST when it is a folder of CSV files.")
def convert_cmd(src, dst, force) -> int:
    """Convert an instance between JSON (.json), a workbook (.xlsx) and a folder of CSV files.

    SRC is read and validated in full; DST is written only when SRC is valid, atomically.
    """
    from solver.tables import folder_problem, output_format, save_any

    try:
        kind = output_format(dst)
    except InstanceError as exc:
        raise click.BadParameter(exc.lines[0], param_hint="DST") from None
    target = Path(dst)
    problem = folder_problem(target, force) if kind == "csv" else None
    if problem is None and not target.parent.is_dir():
        problem = f"folder {target.parent} does not exist"
    if problem is None and kind != "csv" and target.is_dir():
        problem = f"{dst} is a folder"
    if problem is not None:
        raise click.BadParameter(problem, param_hint="DST")
    inst = load_any(src)
    save_any(inst, target, force=force)
    click.echo(
        f"wrote {dst}: {inst.name}: {len(inst.providers)} providers, {len(inst.cases)} cases, "
        f"{len(inst.offers)} offers, {len(inst.budgets)} budgets"
    )
    return EXIT_OK


@cli.command("report")
@click.argument("instance", type=click.Path())
@click.argument("allocation", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out",
    metavar="FILE",
    help="HTML file; '-' for stdout. Default: <instance>-report.html in the current folder.",
)
@click.option(
    "--lang", type=click.Choice(["da", "en"]), default="da", show_default=True, help="Language."
)
@click.option(
    "--alternatives/--no-alternatives",
    default=True,
    show_default=True,
    help="Re-solve each case at its best alternative providers (one solve per option).",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds for each re-solve behind the alternatives.",
)
def report_cmd(instance, allocation, out, lang, alternatives, time_limit) -> int:
    """Write the committee's meeting report: one self-contained HTML file.

    Summary, budget table against today's providers, charts, the allocation with reasons,
    unassigned cases and (unless --no-alternatives) each case's three best alternatives.
    """
    from solver.budget import budget_table, placement_of
    from solver.checker import check
    from solver.report import render_report
    from solver.tables import load_any as load

    target = _out_path(out) if out is not None else Path(f"{Path(instance).stem}-report.html")
    inst = load(instance)
    document = _load_allocation(allocation)
    checked = check(inst, document)
    if not checked.ok:
        for line in checked.violations:
            click.echo(f"violation: {line}", err=True)
        click.echo(
            f"error: {allocation}: {len(checked.violations)} violation(s); no report written",
            err=True,
        )
        return EXIT_NOT_PASSED
    budget = budget_table(inst, placement_of(document))
    explanations, note = None, None
    if alternatives and document.get("objective") is not None:
        click.echo("computing alternatives (--no-alternatives skips this) ...", err=True)
        try:
            from solver.explain import explain

            explanations = explain(inst, document, time_limit=time_limit)
        except Exception as exc:  # noqa: BLE001 - the report is still useful without them
            note = f"{exc.__class__.__name__}: {exc}"
            click.echo(f"warning: alternatives left out ({note})", err=True)
    html = render_report(inst, document, budget, explanations, lang, alternatives_note=note)
    if out == "-":
        click.echo(html, nl=False)
    else:
        write_atomic(target, html)
        click.echo(f"wrote {target}")
    return EXIT_OK


def _emit(text: str, document: object, json_out: str | None) -> None:
    """Print the text; write the JSON to --json (stdout for '-', the text then on stderr)."""
    click.echo(text, err=json_out == "-")
    if json_out == "-":
        click.echo(dump_json(document), nl=False)
    elif json_out is not None:
        write_atomic(Path(json_out), dump_json(document))
        click.echo(f"\nwrote {json_out}")


def _resolve_options(command):
    """Options shared by the commands that re-solve variants of an instance."""
    for option in reversed(
        [
            click.option(
                "--workers",
                type=click.IntRange(min=1),
                default=2,
                show_default=True,
                help="Re-solves run side by side (one CP-SAT worker each).",
            ),
            click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True),
            click.option(
                "--json", "json_out", metavar="FILE", help="Also write the JSON; '-' for stdout."
            ),
        ]
    ):
        command = option(command)
    return command


@cli.command("explain")
@click.argument("instance", type=click.Path())
@click.argument("allocation", type=click.Path(dir_okay=False))
@click.option(
    "--case",
    "case_ids",
    multiple=True,
    metavar="ID",
    help="Explain this active case only (repeat for more). Default: every active case.",
)
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds for each re-solve behind an alternative.",
)
@_resolve_options
def explain_cmd(instance, allocation, case_ids, time_limit, workers, seed, json_out) -> int:
    """Why each case of ALLOCATION is where it is, and its three best alternatives.

    Per case: the provider, the rules that make each provider eligible or not, relation,
    continuity, the case's cost share and penalties, and the exact change in objective if it
    were placed elsewhere (the whole instance re-solved; "(not proven)" when a re-solve did
    not prove its optimum in the time limit).
    """
    from solver.explain import explain, render_explanation, render_score, score_breakdown

    _out_path(json_out, "--json")
    inst = load_any(instance)
    document = _load_allocation(allocation)
    entries = explain(
        inst,
        document,
        case_ids=list(case_ids) or None,
        time_limit=time_limit,
        workers=workers,
        seed=seed,
    )
    score = score_breakdown(inst, document)
    text = render_explanation(entries)
    if not case_ids:
        text = render_score(score) + "\n\n" + text
    doc = {
        "format": "explanation/1",
        "instance": inst.name,
        "status": document.get("status"),
        "score": score,
        "cases": entries,
    }
    _emit(text, doc, json_out)
    return EXIT_OK


def _load_case_file(path: str) -> tuple[dict, list]:
    """A new case: a case record, or `{"case": {...}, "offers": [...]}`."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InstanceError([f"{path}: cannot be read ({exc.__class__.__name__})"]) from None
    document = parse_json(text, source=path)
    if isinstance(document, dict) and isinstance(document.get("case"), dict):
        extra = sorted(set(document) - {"case", "offers"})
        if extra:
            raise InstanceError([f"{path}: {extra[0]} is not 'case' or 'offers'"])
        offers = document.get("offers", [])
        if not isinstance(offers, list):
            raise InstanceError([f"{path}: offers must be a list"])
        return document["case"], offers
    if not isinstance(document, dict):
        raise InstanceError([f"{path}: a case must be a JSON object"])
    return document, []


@cli.command("recommend")
@click.argument("instance", type=click.Path())
@click.option(
    "--case",
    "case_file",
    required=True,
    type=click.Path(dir_okay=False),
    metavar="CASE.json",
    help='The new case: a case record, or {"case": {...}, "offers": [...]}.',
)
@click.option(
    "--allocation",
    type=click.Path(dir_okay=False),
    help="The current allocation (allocation/1 JSON). Default: solve INSTANCE first.",
)
@click.option("--repair", is_flag=True, help="Let the other cases move; list who moves.")
@click.option(
    "--time-limit",
    type=click.FloatRange(min=0, min_open=True),
    default=10.0,
    show_default=True,
    help="Seconds for each re-solve (and for the first solve without --allocation).",
)
@_resolve_options
def recommend_cmd(
    instance, case_file, allocation, repair, time_limit, workers, seed, json_out
) -> int:
    """Where to place a new case: providers ranked by the exact increase in objective.

    Without --repair every other case stays where the allocation puts it; with --repair they
    may move, and the moves are listed. Leaving the case unassigned is ranked too;
    providers where the case cannot fit are listed with the rules that clash.
    """
    from solver.explain import recommend, render_recommendation

    _out_path(json_out, "--json")
    inst = load_any(instance)
    new_case, offers = _load_case_file(case_file)
    if allocation is not None:
        base = _load_allocation(allocation)
    else:
        result = solve(inst, SolveParams(time_limit=time_limit, workers=workers, seed=seed))
        if result.status == "infeasible":
            click.echo("error: no feasible allocation: " + "; ".join(result.conflicts), err=True)
            return EXIT_INFEASIBLE
        if result.objective is None:
            click.echo("error: no allocation found within the time limit", err=True)
            return EXIT_NOT_PASSED
        base = result.to_dict()
    rec = recommend(
        inst,
        base,
        new_case,
        repair=repair,
        time_limit=time_limit,
        workers=workers,
        seed=seed,
        offers=offers,
    )
    _emit(render_recommendation(rec), {"format": "recommendation/1", **rec}, json_out)
    return EXIT_OK


@cli.command("import-gap")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out",
    metavar="INSTANCE.json",
    help="Instance JSON; '-' for stdout. Default: <file>.json in the current folder.",
)
def import_gap_cmd(file, out) -> int:
    """Convert an OR-Library GAP FILE into an instance (benchmarks/gap/README.md).

    Agents become external providers a1..am, jobs cases j1..jn, every pair an offer; the
    instance's optimum is the GAP optimum whenever the GAP is feasible.
    """
    from solver.gap import gap_instance, read_gap
    from solver.tables import instance_json

    target = _out_path(out) if out is not None else Path(f"{Path(file).stem}.json")
    inst = gap_instance(read_gap(file))
    text = instance_json(inst)
    if out == "-":
        click.echo(text, nl=False)
        return EXIT_OK
    write_atomic(target, text)
    click.echo(
        f"wrote {target}: {inst.name}: {len(inst.providers)} providers, "
        f"{len(inst.cases)} cases, {len(inst.offers)} offers"
    )
    return EXIT_OK


@cli.command("bench-gap")
@click.argument("sources", nargs=-1, required=True, type=click.Path(exists=True))
@_search_options(
    "Seconds of search per instance and solver.", "CP-SAT workers (threads for the MIP peers)."
)
@click.option(
    "--best-known",
    type=click.Path(exists=True, dir_okay=False),
    help="best-known.csv. Default: the one in the first source's folder or its parent.",
)
@click.option("--peers", is_flag=True, help="Also solve with plain CP-SAT, SCIP and HiGHS.")
@_engine_options
@click.option("--out", "prefix", metavar="PREFIX", help="Write PREFIX.csv and PREFIX.json.")
@click.option("--csv", "csv_out", metavar="FILE", help="Write the rows as CSV.")
@click.option("--json", "json_out", metavar="FILE", help="Write the JSON; '-' for stdout.")
def bench_gap_cmd(
    sources, time_limit, workers, seed, best_known, peers, columns, mip, prefix, csv_out, json_out
) -> int:
    """Solve OR-Library GAP instances (files, or folders of them) through solve().

    Per instance: value, best known value and the gap to it, bound and the gap to it, time
    to the first and to the best solution, build and total seconds; with --peers the same
    for each peer, and our gap to best known divided by the peer's.
    """
    import ortools

    from solver.gap import gap_key, lookup, read_best_known, read_gap
    from solver.gapbench import (
        PEERS,
        bench_one,
        find_best_known,
        gap_files,
        render,
        rows_csv,
        summary,
    )

    if prefix is not None and (csv_out is not None or json_out is not None):
        raise click.UsageError("give --out PREFIX or --csv/--json, not both")
    if prefix is not None:
        csv_out, json_out = f"{prefix}.csv", f"{prefix}.json"
    option = "--out" if prefix is not None else "--csv"
    if csv_out == "-":
        raise click.BadParameter("CSV cannot go to stdout", param_hint=option)
    csv_path = _out_path(csv_out, option)
    _out_path(json_out, "--out" if prefix is not None else "--json")
    files = gap_files(sources)
    if not files:
        raise click.BadParameter("no GAP files found", param_hint="SOURCES")
    gaps = [read_gap(f) for f in files]  # every file is checked before anything is solved
    best_path = best_known or find_best_known(sources)
    table = read_best_known(best_path) if best_path is not None else {}
    params = SolveParams(
        time_limit=time_limit, workers=workers, seed=seed, columns=columns, mip=mip
    )
    chosen = PEERS if peers else ()
    rows = []
    for k, (path, gap) in enumerate(zip(files, gaps, strict=True), start=1):
        click.echo(f"[{k}/{len(files)}] {gap_key(path)} ...", err=True)
        rows.append(bench_one(path, gap, lookup(table, path), params, chosen))
    document = {
        "format": "gap-benchmark/1",
        "ortools": ortools.__version__,
        "params": {"time_limit": time_limit, "workers": workers, "seed": seed},
        "best_known": None if best_path is None else str(best_path),
        "peers": list(chosen),
        "instances": rows,
        "summary": summary(rows, chosen),
    }
    text = render(rows, chosen)
    if csv_path is not None:
        write_atomic(csv_path, rows_csv(rows))
        text += f"\n\nwrote {csv_path}"
    _emit(text, document, json_out)
    return EXIT_OK


@cli.command("generate")
@click.option(
    "--cases",
    type=click.IntRange(1, MAX_CASES),
    required=True,
    help="Cases, active and closing.",
)
@click.option(
    "--providers",
    type=click.IntRange(MIN_PROVIDERS, MAX_PROVIDERS),
    required=True,
    help=f"Providers, at least {MIN_PROVIDERS} (one of each kind).",
)
@click.option(
    "--seed",
    type=click.IntRange(0, MAX_SEED),
    default=0,
    show_default=True,
    help="The same seed gives the same instance.",
)
@click.option("--out", "out", required=True, metavar="FILE", help="Instance JSON; '-' for stdout.")
def generate_cmd(cases, providers, seed, out) -> int:
    """Write a synthetic instance of municipalities, their providers and cases.

    Structure and scale: README, "Generated instances". Feasible by construction, with
    every case placeable.
    """
    from solver.generate import generate
    from solver.tables import instance_json

    target = _out_path(out)
    inst = generate(cases, providers, seed)
    text = instance_json(inst)
    if target is None:
        click.echo(text, nl=False)
        return EXIT_OK
    write_atomic(target, text)
    click.echo(
        f"wrote {target}: {inst.name}: {len(inst.providers)} providers, "
        f"{len(inst.cases)} cases, {len(inst.offers)} offers, {len(inst.budgets)} budgets"
    )
    return EXIT_OK


@cli.command("pareto")
@click.argument("instance", type=click.Path())
@click.option(
    "--between",
    nargs=2,
    required=True,
    metavar="FIRST SECOND",
    help="Two terms, e.g. cost relation; the terms not named count with FIRST.",
)
@click.option(
    "--points", type=click.IntRange(min=2), default=10, show_default=True, help="Most points."
)
@click.option("--out", "out", metavar="FILE", help="The curve as .csv, .json or .html.")
@_search_options("Seconds for the whole curve.", "CP-SAT search workers.")
def pareto_cmd(instance, between, points, out, time_limit, workers, seed) -> int:
    """The trade-off curve between two objective terms (epsilon-constraint method).

    Each point is an allocation that no other beats on both; it is marked proven when
    both of its solves were proven optimal. docs/model.md, "Goals", says how.
    """
    from solver.goals import check_terms, frontier
    from solver.tradeoff import text, to_csv, to_html, to_json

    first, second = check_terms(list(between), "--between")
    target = _out_path(out)
    writers = {".csv": to_csv, ".json": to_json, ".html": None}
    if target is not None and target.suffix.lower() not in writers:
        raise click.BadParameter("must end in .csv, .json or .html", param_hint="--out")
    inst = load_any(instance)
    params = SolveParams(time_limit=time_limit, workers=workers, seed=seed)
    curve = frontier(inst, first, second, points, params)
    if curve.conflicts:
        click.echo("error: no feasible allocation: " + "; ".join(curve.conflicts), err=True)
        return EXIT_INFEASIBLE
    if not curve.points:
        click.echo("error: no allocation found within the time limit", err=True)
        return EXIT_NOT_PASSED
    click.echo(text(curve))
    if target is not None:
        suffix = target.suffix.lower()
        title = f"{inst.name}: {first} against {second}"
        write_atomic(target, to_html(curve, title) if suffix == ".html" else writers[suffix](curve))
        click.echo(f"\nwrote {target}")
    return EXIT_OK


@cli.command("plan")
@click.argument("instance", type=click.Path())
@click.option("--years", required=True, metavar="FIRST:LAST", help="e.g. 2023:2025.")
@click.option(
    "--scenario-per-year",
    "scenarios",
    multiple=True,
    metavar="FILE",
    help="One scenario per year, in order ('-' for no change that year).",
)
@click.option("--out", "out", metavar="FILE", help="The path as .csv or .json.")
@_search_options("Seconds per year.", "CP-SAT search workers.")
def plan_cmd(instance, years, scenarios, out, time_limit, workers, seed) -> int:
    """Phase a plan in over years: each year starts from the previous year's placements.

    Prints the path of cost by kind and the moves per year (README, "Phase-in").
    """
    from solver.plan import parse_years, path_rows, plan
    from solver.result import KIND_LABELS
    from solver.scenario import load_scenario

    target = _out_path(out)
    if target is not None and target.suffix.lower() not in (".csv", ".json"):
        raise click.BadParameter("must end in .csv or .json", param_hint="--out")
    span = parse_years(years)
    loaded = [None if s == "-" else load_scenario(s) for s in scenarios] or [None] * len(span)
    base = load_any(instance)
    path = plan(base, span, loaded, SolveParams(time_limit=time_limit, workers=workers, seed=seed))
    last = path[-1].result
    if last.objective is None:
        why = "; ".join(last.conflicts) or "no allocation found within the time limit"
        click.echo(f"error: year {path[-1].year}: {why}", err=True)
        return EXIT_INFEASIBLE if last.status == "infeasible" else EXIT_NOT_PASSED
    rows = path_rows(path)
    kinds = [k for k in KIND_LABELS if any(r[f"cost_{k}"] for r in rows)]
    header = f"{'year':<6}{'status':<10}{'cost':>14}" + "".join(
        f"{KIND_LABELS[k]:>18}" for k in kinds
    )
    lines = [header + f"{'new':>5}{'closed':>7}{'moves':>6}{'unass.':>7}  scenario"]
    for r in rows:
        lines.append(
            f"{r['year']:<6}{r['status']:<10}{_dkk(r['total_cost']):>14}"
            + "".join(f"{_dkk(r[f'cost_{k}']):>18}" for k in kinds)
            + f"{r['opened']:>5}{r['closed']:>7}{r['moves']:>6}{r['unassigned']:>7}"
            + f"  {r['scenario']}"
        )
    click.echo("\n".join(lines))
    if target is not None:
        if target.suffix.lower() == ".json":
            pairs = zip(rows, path, strict=True)
            write_atomic(
                target, dump_json([{**r, "assignments": y.result.assignments} for r, y in pairs])
            )
        else:
            write_atomic(target, _csv_text(rows))
        click.echo(f"\nwrote {target}")
    return EXIT_OK


@cli.command("compare")
@click.argument("base", type=click.Path())
@click.argument("scenarios", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out",
    metavar="FILE",
    help="Also write the comparison: FILE ending in .csv, .xlsx, .html or .json.",
)
@_search_options("Seconds of search per solve.", "CP-SAT search workers.")
def compare_cmd(base, scenarios, out, time_limit, workers, seed) -> int:
    """Solve BASE and each SCENARIO file applied to it; show their figures side by side.

    One column per run (the base first): objective and bound, savings against the base,
    cost by kind and by budget, cases per kind, relations kept, moves from the current
    provider, unassigned. Then, per scenario, the cases whose provider differs from the
    base's allocation, and why in one phrase.
    """
    from solver.compare import compare, output_format, render_text, write_comparison
    from solver.scenario import apply, load_scenario

    target = None
    if out is not None:
        try:
            output_format(out)
        except InstanceError as exc:
            raise click.BadParameter(exc.lines[0], param_hint="--out") from None
        target = _out_path(out)
    inst = load_any(base)
    runs = []
    for path in scenarios:  # every scenario is read and applied before anything is solved
        scenario = load_scenario(path)
        runs.append((scenario.name, apply(inst, scenario)))
    params = SolveParams(time_limit=time_limit, workers=workers, seed=seed)
    comparison = compare(
        inst, runs, params, on_solve=lambda name: click.echo(f"solving {name} ...", err=True)
    )
    click.echo(render_text(comparison))
    if target is not None:
        write_comparison(comparison, target)
        click.echo(f"\nwrote {target}")
    return EXIT_OK


def _dkk(value: float | None) -> str:
    return "-" if value is None else f"{value:,.0f}".replace(",", " ")


def _csv_text(rows: list[dict]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


@cli.command("sweep")
@click.argument("base", type=click.Path())
@click.option(
    "--vary",
    "varies",
    multiple=True,
    required=True,
    metavar="FIELD=V1,V2,...",
    help="An axis of the grid (repeat for more), e.g. providers[kind=club].included_hours=9.25,"
    "18.5, weights.relation_per_level=25000,50000, price_index[kind=external]=1,1.03.",
)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="FILE.jsonl",
    help="One row per finished point, appended as it finishes; points already in FILE are "
    "not run again (resume).",
)
@click.option("--csv", "csv_out", metavar="FILE", help="Also write the whole table as CSV.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    help="Points solved side by side in local processes. Default: the machine's cores.",
)
@click.option(
    "--cluster",
    metavar="ADDRESS",
    help="Run the points on this Dask scheduler's workers (e.g. tcp://scheduler:8786).",
)
@_search_options("Seconds of search per point.", "CP-SAT workers per point.", 30.0, 1)
def sweep_cmd(base, varies, out, csv_out, jobs, cluster, time_limit, workers, seed) -> int:
    """Solve a grid of scenarios of BASE: every combination of the --vary values.

    Prints a table of the points (objective, cost, unassigned cases, moves, status); the
    rows hold every figure (README, "Sweeps"). An interrupted sweep resumes from --out.
    """
    from solver.gapbench import rows_csv
    from solver.sweep import parse_vary, rows_table, sweep

    if jobs is not None and cluster is not None:
        raise click.UsageError("give --jobs or --cluster, not both")
    target = _out_path(out)
    if target is None:
        raise click.BadParameter("the rows need a file, to resume from", param_hint="--out")
    if csv_out == "-":
        raise click.BadParameter("CSV cannot go to stdout", param_hint="--csv")
    csv_path = _out_path(csv_out, "--csv")
    axes = [parse_vary(text) for text in varies]
    inst = load_any(base)
    params = SolveParams(time_limit=time_limit, workers=workers, seed=seed)

    def bar(done: int, total: int) -> None:
        filled = 30 * done // total
        sys.stderr.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} points")
        sys.stderr.write("\n" if done == total else "")
        sys.stderr.flush()

    try:
        rows = sweep(
            inst, axes, params, target, jobs, cluster, bar if sys.stderr.isatty() else None
        )
    except ConnectionError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(rows_table(rows, axes))
    click.echo(f"\n{len(rows)} points in {target}")
    if csv_path is not None:
        write_atomic(csv_path, rows_csv(rows))
        click.echo(f"wrote {csv_path}")
    return EXIT_OK


def native_output_to_stderr() -> None:
    """Send what native libraries print to file descriptor 1 to stderr, and keep the real
    stdout for Python's own output: HiGHS prints a debug line there on its own
    (ERGO-Code/HiGHS#2783), which would spoil JSON written to stdout with '-'."""
    sys.stdout.flush()
    real = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = open(real, "w", encoding=sys.stdout.encoding, closefd=True)  # noqa: SIM115


def main(argv: list[str] | None = None) -> None:
    """Run the CLI with one-line errors and the documented exit codes. As a program of its
    own (no `argv`), native libraries' prints go to stderr."""
    if argv is None:
        native_output_to_stderr()
    try:
        code = cli.main(args=argv, prog_name="allocate", standalone_mode=False)
    except click.exceptions.Exit as exc:
        code = exc.exit_code
    except click.ClickException as exc:
        click.echo(f"error: {exc.format_message()}", err=True)
        code = EXIT_INPUT if exc.exit_code == 2 else exc.exit_code
    except click.Abort:
        click.echo("error: aborted", err=True)
        code = EXIT_ERROR
    except InstanceError as exc:
        for line in exc.lines:
            click.echo(f"error: {line}", err=True)
        code = EXIT_INPUT
    except Exception as exc:  # noqa: BLE001 - the promise is: no traceback
        if os.environ.get("ALLOCATE_DEBUG"):
            raise
        click.echo(f"error: unexpected {exc.__class__.__name__}: {exc}", err=True)
        code = EXIT_ERROR
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
