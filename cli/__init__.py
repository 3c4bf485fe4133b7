"""The `nurture` command line. Each sub-command lives in its own module."""

from __future__ import annotations

import sys

import typer

from agent.errors import NurtureError
from agent.runtime import freeze_startup_heap
from cli import (
    agent_cmd,
    content_cmd,
    decide_cmd,
    demo_cmd,
    eval_cmd,
    import_cmd,
    jobs_cmd,
    keys_cmd,
    playbook_cmd,
    sends_cmd,
    serve_cmd,
    worker_cmd,
)
from cli.common import err_console

app = typer.Typer(
    name="nurture",
    help="Lead nurturing driven by a human-owned playbook.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(playbook_cmd.app, name="playbook")
app.add_typer(import_cmd.app, name="import")
app.add_typer(content_cmd.app, name="content")
app.add_typer(keys_cmd.app, name="keys")
app.add_typer(eval_cmd.app, name="eval")
app.add_typer(sends_cmd.app, name="sends")
app.add_typer(jobs_cmd.app, name="jobs")
app.command("serve")(serve_cmd.serve)
app.command("worker")(worker_cmd.worker)
app.command("index")(content_cmd.index)
app.command("next")(decide_cmd.next_action)
app.command("scores")(decide_cmd.scores)
app.command("demo")(demo_cmd.demo)
app.command("resend")(sends_cmd.resend)
for command in (
    agent_cmd.draft,
    agent_cmd.inbox,
    agent_cmd.review,
    agent_cmd.approve,
    agent_cmd.respond,
    agent_cmd.discard,
    agent_cmd.run,
    agent_cmd.recover,
):
    app.command(command.__name__)(command)


@app.command("db-upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest version (data is kept)."""
    from cli.common import console, open_database

    db = open_database()
    console.print(f"schema up to date ({db.dialect})")


def main() -> None:
    freeze_startup_heap()
    try:
        app()
    except NurtureError as exc:
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        err_console.print("interrupted")
        sys.exit(130)
