"""`nurture eval run|compare|report`: draft-quality suites, for whoever changes a prompt, a model
or the playbook and needs to know before real leads do."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.errors import NurtureError
from cli.common import console, settings

app = typer.Typer(
    help="Run draft-quality eval suites, compare runs, write reports, harvest edits.",
    no_args_is_help=True,
)


@app.command("run")
def run(
    suite: Annotated[str, typer.Argument(help="A shipped suite name (core) or a suite YAML file.")],
    drafter: Annotated[
        str, typer.Option("--drafter", help="template (offline) or llm (NURTURE_LLM_* endpoint).")
    ] = "template",
    model: Annotated[
        str | None, typer.Option("--model", help="With --drafter llm: the model to ask.")
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder to save the run in (default: $NURTURE_DATA_DIR/evals)."),
    ] = None,
    judge: Annotated[
        bool,
        typer.Option(
            "--judge",
            help="Also score each draft with the LLM judge (NURTURE_LLM_* endpoint; answers "
            "are cached on disk, so a re-run costs nothing).",
        ),
    ] = False,
    judge_model: Annotated[
        str | None,
        typer.Option("--judge-model", help="The judge's model (default: NURTURE_LLM_MODEL)."),
    ] = None,
) -> None:
    """Draft every case of a suite with the real agent (nothing is sent) and check each draft."""
    from evals.records import CaseRecord
    from evals.runner import default_runs_folder, drafter_for, find_suite, run_suite, save_run

    config = settings()
    loaded = find_suite(suite)
    if drafter not in ("template", "llm"):
        raise NurtureError(f"--drafter must be template or llm, not '{drafter}'")
    chosen = drafter_for(config, drafter, model)  # type: ignore[arg-type]
    scorer = _judge(config, judge_model) if judge else None
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[failed]} failing"),
    )
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{loaded.name}: indexing", total=len(loaded.cases), failed=0)
        failing = 0

        def advance(record: CaseRecord) -> None:
            nonlocal failing
            failing += 0 if record.passed else 1
            progress.update(task, advance=1, description=loaded.name, failed=failing)

        result = run_suite(loaded, config, drafter=chosen, progress=advance, judge=scorer)
    folder = save_run(result, out or default_runs_folder(config))
    _print_summary(result.summary)
    console.print(f"saved: {folder}", highlight=False, soft_wrap=True)


@app.command("compare")
def compare(
    baseline: Annotated[Path, typer.Argument(help="The run to compare against (folder or JSON).")],
    candidate: Annotated[Path, typer.Argument(help="The new run (folder or summary.json).")],
) -> None:
    """Per-metric deltas and regressed cases; exits 1 when a gated metric drops too far or a
    baseline case is missing from the candidate, 2 when the runs cannot be compared."""
    from evals.compare import compare as compare_runs
    from evals.summary import load_summary

    result = compare_runs(load_summary(baseline), load_summary(candidate))
    for note in result.notes:
        console.print(f"[yellow]note:[/] {note}", highlight=False)
    table = Table("metric", "baseline", "candidate", "delta", "gate", title_justify="left")
    for d in result.deltas:
        gate = "" if d.allowed_drop is None else f"max drop {d.allowed_drop:g}"
        if d.gate_failed:
            gate = f"[bold red]FAILED[/] ({gate})"
        delta = "–" if d.delta is None else f"{d.delta:+.1%}"
        style = "red" if (d.delta or 0) < 0 else "green" if (d.delta or 0) > 0 else ""
        table.add_row(
            d.metric,
            _pct(d.before),
            _pct(d.after),
            f"[{style}]{delta}[/]" if style else delta,
            gate,
        )
    console.print(table)
    if result.regressions:
        console.print(f"{len(result.regressions)} case(s) regressed:")
        for r in result.regressions:
            console.print(f"  {r.case_id}: now fails {', '.join(r.checks)}", highlight=False)
    else:
        console.print("no case regressed")
    missing = result.missing_cases
    if missing:
        console.print(
            f"[bold red]{len(missing)} case{'' if len(missing) == 1 else 's'} missing from the "
            f"candidate:[/] {', '.join(missing)}",
            highlight=False,
            soft_wrap=True,
        )
    if not result.passed:
        reasons = [d.metric for d in result.failed_gates]
        if missing:
            reasons.append(f"{len(missing)} baseline case(s) not run")
        console.print(f"[bold red]gate failed:[/] {', '.join(reasons)}", highlight=False)
        raise typer.Exit(1)
    console.print("[green]gate passed[/]")


@app.command("report")
def report(
    run_folder: Annotated[Path, typer.Argument(metavar="RUN", help="A saved run folder.")],
    out: Annotated[
        Path | None, typer.Option("--out", help="The HTML file (default: RUN/report.html).")
    ] = None,
) -> None:
    """Write a self-contained HTML report: metrics by stage, every case's draft and checks."""
    from evals.report import render_report
    from evals.runner import load_run

    result = load_run(run_folder)
    target = out or (run_folder if run_folder.is_dir() else run_folder.parent) / "report.html"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(render_report(result), encoding="utf-8")
    except OSError as exc:
        raise NurtureError(f"cannot write {target}: {exc.strerror or exc}") from exc
    console.print(f"report: {target}", highlight=False, soft_wrap=True)


@app.command("pairwise")
def pairwise(
    run_a: Annotated[Path, typer.Argument(metavar="A", help="A saved run folder.")],
    run_b: Annotated[Path, typer.Argument(metavar="B", help="Another saved run of the suite.")],
    judge_model: Annotated[
        str | None,
        typer.Option("--judge-model", help="The judge's model (default: NURTURE_LLM_MODEL)."),
    ] = None,
) -> None:
    """Which run wrote the better emails, case by case: the LLM judge reads each pair twice
    with the positions swapped, and calls it a tie when the two readings disagree."""
    from agent.content.assets import load_library
    from evals.pairwise import compare_runs
    from evals.runner import load_run

    config = settings()
    first, second = load_run(run_a), load_run(run_b)
    assets = {asset.id: asset for asset in load_library(config.content_dir).assets}
    with _judge(config, judge_model) as judge:
        outcome = compare_runs(first, second, judge, assets)
    table = Table("case", "better", "why (A first / B first)", title_justify="left")
    for verdict in outcome.verdicts:
        table.add_row(verdict.case_id, verdict.winner, " / ".join(verdict.reasons))
    console.print(table)
    counts = outcome.counts()
    console.print(
        f"A ({first.summary['drafter']}, {first.summary['prompt_version']}) better in "
        f"{counts['a']}, B ({second.summary['drafter']}, {second.summary['prompt_version']}) "
        f"better in {counts['b']}, tie in {counts['tie']}, judge failed in {counts['error']}; "
        f"{len(outcome.skipped)} case(s) not drafted by both",
        highlight=False,
    )


@app.command("harvest")
def harvest(
    out: Annotated[Path, typer.Option("--out", help="The suite YAML to write or extend.")] = Path(
        "evals/suites/harvested.yaml"
    ),
    since: Annotated[
        str | None, typer.Option("--since", help="Only approvals decided after this moment.")
    ] = None,
) -> None:
    """Turn drafts that marketers edited before approving into eval cases (the approved text
    as the reference). Running it again adds only new ones. The file holds real leads' data:
    think before committing it."""
    from datetime import UTC, datetime

    from cli.common import open_database, parse_moment, playbook
    from evals.harvest import collect, write_harvest

    moment = parse_moment(since, option="--since") if since else None
    db = open_database()
    result = collect(db, playbook(db=db), now=datetime.now(UTC), since=moment)
    for approval_id, why in result.skipped:
        console.print(f"[yellow]skipped[/] {approval_id}: {why}", highlight=False)
    if not result.cases:
        raise NurtureError(
            "no edited, sent drafts to harvest" + (f" since {since}" if since else "")
        )
    suite = write_harvest(result.cases, out)
    console.print(
        f"{len(result.cases)} edited drafts harvested; {out} holds {len(suite.cases)} cases. "
        f"Run them: nurture eval run {out}",
        highlight=False,
        soft_wrap=True,
    )


def _judge(config: Any, model: str | None) -> Any:
    from evals.judge import Judge

    if not config.llm_base_url:
        raise NurtureError("--judge needs an LLM endpoint: set NURTURE_LLM_BASE_URL")
    return Judge.from_settings(config, **({"model": model} if model else {}))


def _print_summary(summary: dict[str, Any]) -> None:
    from agent.playbook import STAGES

    stages = [s for s in STAGES if s in summary["by_stage"]]
    table = Table(
        "check",
        "all",
        *(f"{s} ({summary['by_stage'][s]['cases']})" for s in stages),
        title=f"{summary['suite']} · {summary['drafter']} · prompt {summary['prompt_version']} · "
        f"playbook {summary['playbook_version']}",
        title_justify="left",
    )
    for metric, value in summary["metrics"].items():
        table.add_row(
            metric.removeprefix("checks."),
            _pct(value),
            *(_pct(summary["by_stage"][s].get(metric)) for s in stages),
        )
    console.print(table)
    edits = summary.get("edit_distance")
    if edits:
        console.print(
            f"edit distance to the approved text: mean {edits['mean']:.1%} over {edits['cases']} "
            "case(s) with a reference",
            highlight=False,
        )
    judged = summary.get("judge")
    if judged:
        means = ", ".join(f"{k} {v:.2f}" for k, v in judged["means"].items() if v is not None)
        console.print(
            f"judge {judged['model']} ({judged['prompt_version']}): {means} · "
            f"{judged['drafts']} drafts, {judged['cached']} from cache, {judged['failed']} failed, "
            f"{judged['tokens']:,} tokens",
            highlight=False,
        )
    cost = summary["cost"]
    usd = "unknown" if cost["usd"] is None else f"${cost['usd']:.4f}"
    latency = summary["latency_ms"]
    console.print(
        f"{summary['passed']}/{summary['cases']} cases pass every check · "
        f"tokens {summary['tokens']['total_tokens']:,} · cost {usd} ({cost['basis']}) · "
        f"latency p50 {latency['p50']} ms, p95 {latency['p95']} ms",
        highlight=False,
    )


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"
