"""`nurture jobs [retry|discard]`: what the PostgreSQL job queue holds, and a failed job sent
round again or given up on."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from agent.jobs.choose import on_postgresql
from agent.jobs.inspect import STATUSES, JobLine
from agent.settings import Settings
from cli.common import console, err_console, open_database, print_json, settings, status_option
from cli.exit_codes import USAGE

ROOM_BESIDE_IDS = 110
"""Columns the table needs beside the lead or thread id; a narrower terminal gets blocks."""

app = typer.Typer(help="Jobs in the PostgreSQL queue; retry or discard failed ones.")
JobArgument = Annotated[int, typer.Argument(help="The job id, as `nurture jobs` prints it.")]


@app.callback(invoke_without_command=True)
def jobs(
    context: typer.Context,
    status: Annotated[str | None, status_option(STATUSES, "jobs")] = None,
    task: Annotated[
        str | None, typer.Option(help="Only this task, e.g. nurture.draft_run.")
    ] = None,
    lead: Annotated[str | None, typer.Option(help="Only this lead's jobs.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """Jobs in the queue, newest first: state, attempts, lead, when it started, which worker."""
    if context.invoked_subcommand is not None:
        return
    from agent.jobs.inspect import list_jobs

    db = open_database(_postgresql())
    rows = list_jobs(db, status=status, task=task, lead_id=lead, limit=limit)
    db.dispose()
    if as_json:
        print_json([_as_json(row) for row in rows])
        return
    if not rows:
        console.print("No jobs" + (f" {status}" if status else "") + ".")
        return
    _show(rows)
    failed = [row.id for row in rows if row.status == "failed"]
    if failed:
        console.print(
            "\nFailed: `nurture jobs retry ID` runs one again, `nurture jobs discard ID` gives "
            f"up on it ({', '.join(map(str, failed))}).",
            highlight=False,
        )


@app.command("retry")
def retry(job_id: JobArgument) -> None:
    """Put a failed job back in its queue, to run now."""
    from agent.jobs.inspect import retry_job
    from agent.jobs.queue import new_app

    config = _postgresql()
    db = open_database(config)
    try:
        retry_job(new_app(config), db, job_id)
    finally:
        db.dispose()
    console.print(f"job {job_id}: [bold]todo[/] — back in its queue", highlight=False)


@app.command("discard")
def discard(job_id: JobArgument) -> None:
    """Give up on a failed job (kept as cancelled), or cancel one still waiting."""
    from agent.jobs.inspect import discard_job
    from agent.jobs.queue import new_app

    config = _postgresql()
    db = open_database(config)
    try:
        discard_job(new_app(config), db, job_id)
    finally:
        db.dispose()
    console.print(f"job {job_id}: [bold]cancelled[/] — it will not run", highlight=False)


def _postgresql() -> Settings:
    config = settings()
    if not on_postgresql(config):
        err_console.print(
            "[bold red]error:[/] the job queue needs PostgreSQL (set NURTURE_DATABASE_URL); on "
            "SQLite nurture serve runs draft runs itself: GET /v1/runs/{thread_id} says where "
            "each one is",
            highlight=False,
        )
        raise typer.Exit(USAGE)
    return config


def _as_json(row: JobLine) -> dict[str, object]:
    return {
        "id": row.id,
        "task": row.task,
        "queue": row.queue,
        "status": row.status,
        "attempts": row.attempts,
        "lock": row.lock,
        "lead_id": row.lead_id,
        "thread_id": row.thread_id,
        "scheduled_at": row.scheduled_at.isoformat() if row.scheduled_at else None,
        "started_at": row.started_at.isoformat() if row.started_at else None,
        "worker": row.worker,
    }


def _show(rows: list[JobLine]) -> None:
    widest = max(len(row.thread_id or row.lead_id or "") for row in rows)
    if console.width < widest + ROOM_BESIDE_IDS:  # one block per job: ids are never folded
        for row in rows:
            console.print(
                f"\n[bold]{row.id}[/] {row.task} · {row.queue} · {row.status} · "
                f"{row.attempts} tries",
                soft_wrap=True,
                highlight=False,
            )
            for label, value in (
                ("for", row.thread_id or row.lead_id),
                ("started", f"{row.started_at:%Y-%m-%d %H:%M:%S} UTC" if row.started_at else None),
                ("worker", row.worker),
                ("lock", row.lock),
            ):
                if value:
                    console.print(f"  {label} {value}", soft_wrap=True, highlight=False)
        return
    table = Table(title=f"{len(rows)} jobs", title_justify="left")
    # the id is what people paste into retry/discard: never cut, the other columns give way
    table.add_column("id", no_wrap=True, justify="right")
    table.add_column("task", no_wrap=True)
    table.add_column("queue")
    table.add_column("status", no_wrap=True)
    table.add_column("tries", justify="right")
    table.add_column("lead / thread", no_wrap=True, min_width=widest)
    table.add_column("started (UTC)")
    table.add_column("worker", overflow="fold")
    table.add_column("lock", overflow="fold")
    for row in rows:
        table.add_row(
            str(row.id),
            row.task,
            row.queue,
            row.status,
            str(row.attempts),
            row.thread_id or row.lead_id or "",
            f"{row.started_at:%Y-%m-%d %H:%M:%S}" if row.started_at else "",
            row.worker or "",
            row.lock or "",
        )
    console.print(table)
