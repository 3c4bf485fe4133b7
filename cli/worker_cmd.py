"""`nurture worker`: runs jobs from the PostgreSQL queue (any number of them, on any host)."""

from __future__ import annotations

from typing import Annotated

import typer

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.jobs.choose import on_postgresql
from agent.playbook_watch import PlaybookWatch
from agent.runner import NurtureAgent
from cli.common import console, err_console, settings
from cli.exit_codes import USAGE


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Jobs at once (default NURTURE_DRAFT_CONCURRENCY)."),
    ] = None,
    queues: Annotated[
        list[str] | None,
        typer.Option(
            "--queues",
            help="Only these queues: drafts, decisions, upkeep, handoffs, sends, previews "
            "(repeat).",
        ),
    ] = None,
) -> None:
    """Run background jobs (drafts, re-decisions, hand-off webhooks, scheduled sends, the sweep)
    until SIGTERM, which drains it."""
    from agent.jobs.queue import QUEUES, run_worker

    config = settings()
    if not on_postgresql(config):
        err_console.print(
            "[bold red]error:[/] nurture worker needs PostgreSQL (set NURTURE_DATABASE_URL); on "
            "SQLite nurture serve runs the jobs itself",
            highlight=False,
        )
        raise typer.Exit(USAGE)
    unknown = sorted(set(queues or ()) - set(QUEUES))
    if unknown:
        raise typer.BadParameter(f"no queue {', '.join(unknown)}", param_hint="--queues")
    with open_checkpointer(config) as checkpointer:
        agent = NurtureAgent(build_context(config), checkpointer)
        watch = PlaybookWatch(agent.ctx)  # a playbook activated anywhere reaches this worker
        watch.start()
        console.print(f"worker running jobs from {', '.join(queues or QUEUES)}", highlight=False)
        try:
            run_worker(
                agent,
                config,
                concurrency=concurrency or config.draft_concurrency,
                queues=queues or QUEUES,
            )
        finally:
            watch.stop()
