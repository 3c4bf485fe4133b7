"""`nurture import leads|events FILE`: bulk import with a progress bar and a rejection report."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.importing import Kind, Line, count_lines, read_lines
from agent.playbook import Playbook
from agent.store import Database
from agent.store.ingest import IngestReport, ingest_events
from agent.store.leads import upsert_leads
from cli.common import PlaybookOption, console, open_database, playbook

app = typer.Typer(help="Import leads and events from JSONL or CSV files.", no_args_is_help=True)

BATCH = 10_000
Writer = Callable[[Database, Sequence[dict[str, Any]], Playbook], IngestReport]


@app.command("leads")
def import_leads(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV of leads.")],
    playbook_path: PlaybookOption = None,
) -> None:
    """Create or update leads (by id). Rejected lines are listed; valid lines are kept."""
    _import(file, "leads", upsert_leads, playbook_path)


@app.command("events")
def import_events(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV of events.")],
    playbook_path: PlaybookOption = None,
) -> None:
    """Add events to lead timelines. The same event id twice is stored once."""
    _import(file, "events", ingest_events, playbook_path)


def _import(file: Path, kind: Kind, write: Writer, playbook_path: Path | None) -> None:
    lines = read_lines(file, kind)  # fails early on a missing or unknown file
    db = open_database()
    rules = playbook(playbook_path, db)
    totals = {"stored": 0, "duplicate": 0, "rejected": 0}
    rejected: list[tuple[int, str]] = []
    with _progress() as progress:
        task = progress.add_task(f"importing {kind}", total=count_lines(file))
        batch: list[Line] = []
        for line in lines:
            if line.record is None:
                rejected.append((line.number, line.error or "unreadable"))
                totals["rejected"] += 1
                progress.advance(task)
                continue
            batch.append(line)
            if len(batch) >= BATCH:
                _flush(db, batch, write, rules, totals, rejected)
                progress.advance(task, len(batch))
                batch = []
        _flush(db, batch, write, rules, totals, rejected)
        progress.update(task, completed=progress.tasks[0].total)
    _report(file, kind, totals, rejected)
    if rejected:
        raise typer.Exit(1)


def _flush(
    db: Database,
    batch: list[Line],
    write: Writer,
    rules: Playbook,
    totals: dict[str, int],
    rejected: list[tuple[int, str]],
) -> None:
    if not batch:
        return
    report = write(db, [line.record for line in batch if line.record is not None], rules)
    for result in report.results:
        totals[result.status] += 1
        if result.status == "rejected":
            rejected.append((batch[result.index].number, result.reason or "rejected"))


def _report(file: Path, kind: str, totals: dict[str, int], rejected: list[tuple[int, str]]) -> None:
    console.print(
        f"{file}: {totals['stored']} {kind} stored, {totals['duplicate']} already there, "
        f"{totals['rejected']} rejected",
        highlight=False,
    )
    if not rejected:
        return
    table = Table("line", "reason", title="rejected lines", title_justify="left")
    for number, reason in sorted(rejected)[:200]:
        table.add_row(str(number), reason)
    console.print(table)
    if len(rejected) > 200:
        console.print(f"... and {len(rejected) - 200} more")


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
