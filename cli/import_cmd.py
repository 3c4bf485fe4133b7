"""`nurture import leads|events FILE`: bulk import with a progress bar and a rejection report;
`--from`/`--mapping` read CRM and analytics exports."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from agent.errors import NurtureError
from agent.importing import Kind, Line, count_lines, read_lines
from agent.importing.mapped import read_mapped
from agent.importing.mapping import (
    EventsMapping,
    LeadsMapping,
    load_mapping,
    load_preset,
    overlaid,
    zone,
)
from agent.playbook import Playbook
from agent.store import Database
from agent.store.ingest import IngestReport, ingest_events
from agent.store.leads import upsert_leads
from cli.common import PlaybookOption, console, open_database, playbook

app = typer.Typer(help="Import leads and events from JSONL or CSV files.", no_args_is_help=True)

BATCH = 10_000
Writer = Callable[[Database, Sequence[dict[str, Any]], Playbook], IngestReport]

MappingOption = Annotated[
    Path | None,
    typer.Option(
        "--mapping",
        help="YAML naming, per field and attribute/property, the file's column(s) and how to "
        "read them; with --from, it changes only the entries it names.",
        show_default=False,
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="A built-in mapping for a standard export: hubspot, salesforce (leads), ga4 (events).",
        show_default=False,
    ),
]
TimezoneOption = Annotated[
    str | None,
    typer.Option(
        "--timezone",
        help="The zone of times written without one, e.g. Europe/Berlin (default: such times "
        "are rejected).",
        show_default=False,
    ),
]


@app.command("leads")
def import_leads(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV of leads.")],
    playbook_path: PlaybookOption = None,
    mapping: MappingOption = None,
    preset: FromOption = None,
    timezone: TimezoneOption = None,
) -> None:
    """Create or update leads (by id). Rejected lines are listed; valid lines are kept."""
    source = _Source(file, "leads", mapping, preset, timezone)
    _import(source, upsert_leads, playbook_path)


@app.command("events")
def import_events(
    file: Annotated[Path, typer.Argument(help="JSONL or CSV of events.")],
    playbook_path: PlaybookOption = None,
    mapping: MappingOption = None,
    preset: FromOption = None,
    timezone: TimezoneOption = None,
    create_leads: Annotated[
        bool,
        typer.Option(
            "--create-leads",
            help="An event naming an unknown lead_email creates that lead (default: rejected).",
        ),
    ] = False,
) -> None:
    """Add events to lead timelines. The same event id twice is stored once."""
    source = _Source(file, "events", mapping, preset, timezone)
    _import(source, partial(ingest_events, create_leads=create_leads), playbook_path)


@dataclass(slots=True)
class _Source:
    """The file and how to read it. Everything is checked when built: a bad option, mapping or
    header is a usage error before anything is stored."""

    file: Path
    kind: Kind
    mapping_path: Path | None
    preset: str | None
    timezone: str | None
    lines: Iterator[Line] = field(init=False)
    warnings: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        zone_option = _zone(self.timezone)
        mapping = self._mapping()
        if mapping is None:
            self.lines = read_lines(self.file, self.kind, zone=zone_option)
            return
        mapped = read_mapped(self.file, mapping, zone_option=zone_option)
        self.lines, self.warnings = mapped.lines, mapped.warnings

    def _mapping(self) -> LeadsMapping | EventsMapping | None:
        preset = None
        if self.preset is not None:
            preset = load_preset(self.preset, self.kind)
        own = load_mapping(self.mapping_path, self.kind) if self.mapping_path else None
        if preset is not None and own is not None:
            return overlaid(preset, own)
        return own or preset


def _zone(name: str | None) -> ZoneInfo | None:
    if name is None:
        return None
    try:
        return zone(name)
    except ValueError as exc:
        raise NurtureError(f"--timezone: {exc}") from None


@dataclass(slots=True)
class _Totals:
    counts: dict[str, int] = field(
        default_factory=lambda: {"stored": 0, "duplicate": 0, "rejected": 0, "skipped": 0}
    )
    rejected: list[tuple[int, str]] = field(default_factory=list)
    created_leads: int = 0


def _import(source: _Source, write: Writer, playbook_path: Path | None) -> None:
    db = open_database()
    rules = playbook(playbook_path, db)
    for warning in source.warnings:
        console.print(f"warning: {warning}", highlight=False, markup=False)
    totals = _Totals()
    with _progress() as progress:
        task = progress.add_task(f"importing {source.kind}", total=count_lines(source.file))
        batch: list[Line] = []
        for line in source.lines:
            if line.record is None:
                if line.skipped:
                    totals.counts["skipped"] += 1
                else:
                    totals.rejected.append((line.number, line.error or "unreadable"))
                    totals.counts["rejected"] += 1
                progress.advance(task)
                continue
            batch.append(line)
            if len(batch) >= BATCH:
                _flush(db, batch, write, rules, totals)
                progress.advance(task, len(batch))
                batch = []
        _flush(db, batch, write, rules, totals)
        progress.update(task, completed=progress.tasks[0].total)
    _report(source, totals)
    if totals.rejected:
        raise typer.Exit(1)


def _flush(
    db: Database, batch: list[Line], write: Writer, rules: Playbook, totals: _Totals
) -> None:
    if not batch:
        return
    report = write(db, [line.record for line in batch if line.record is not None], rules)
    totals.created_leads += report.created_leads
    for result in report.results:
        totals.counts[result.status] += 1
        if result.status == "rejected":
            totals.rejected.append((batch[result.index].number, result.reason or "rejected"))


def _report(source: _Source, totals: _Totals) -> None:
    counts = totals.counts
    summary = (
        f"{source.file}: {counts['stored']} {source.kind} stored, "
        f"{counts['duplicate']} already there, {counts['rejected']} rejected"
    )
    if counts["skipped"]:
        summary += f", {counts['skipped']} skipped (the mapping's skip)"
    if totals.created_leads:
        plural = "s" if totals.created_leads != 1 else ""
        summary += f"; {totals.created_leads} lead{plural} created"
    console.print(summary, highlight=False, markup=False)
    rejected = totals.rejected
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
