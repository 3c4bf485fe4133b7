"""The `nurture` command line. Each sub-command lives in its own module, imported only when that
command runs (or `--help` lists them all): the agent's commands pull in LangGraph and the
checkpointers, the content commands Chroma, and `nurture next` needs none of them."""

from __future__ import annotations

import importlib
import sys

import typer
from typer import _click as click  # typer vendors click: its Group and Context, not click's
from typer.core import TyperGroup

from agent.errors import NurtureError
from agent.runtime import freeze_startup_heap
from cli.common import err_console

COMMANDS: dict[str, tuple[str, str]] = {
    "playbook": ("cli.playbook_cmd", "app"),
    "import": ("cli.import_cmd", "app"),
    "ingest": ("cli.ingest_cmd", "app"),
    "content": ("cli.content_cmd", "app"),
    "keys": ("cli.keys_cmd", "app"),
    "eval": ("cli.eval_cmd", "app"),
    "sends": ("cli.sends_cmd", "app"),
    "jobs": ("cli.jobs_cmd", "app"),
    "handoffs": ("cli.handoffs_cmd", "app"),
    "serve": ("cli.serve_cmd", "serve"),
    "worker": ("cli.worker_cmd", "worker"),
    "index": ("cli.content_cmd", "index"),
    "next": ("cli.decide_cmd", "next_action"),
    "scores": ("cli.decide_cmd", "scores"),
    "demo": ("cli.demo_cmd", "demo"),
    "resend": ("cli.sends_cmd", "resend"),
    "draft": ("cli.agent_cmd", "draft"),
    "inbox": ("cli.agent_cmd", "inbox"),
    "review": ("cli.agent_cmd", "review"),
    "approve": ("cli.agent_cmd", "approve"),
    "respond": ("cli.agent_cmd", "respond"),
    "discard": ("cli.agent_cmd", "discard"),
    "run": ("cli.agent_cmd", "run"),
    "recover": ("cli.agent_cmd", "recover"),
    "report": ("cli.report_cmd", "report"),
    "experiments": ("cli.experiments_cmd", "experiments"),
}
"""Command name → (module, attribute): a Typer app for a group of sub-commands, else a function."""


def load_command(name: str) -> click.Command:
    """The click command `name`, built from its module (imported now)."""
    module, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name  # help lists a command by it
    return command


class LazyGroup(TyperGroup):
    """Lists every command, imports only the one asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        # as typer lists them: commands in the order given, then the groups
        groups = [name for name, (_module, attribute) in COMMANDS.items() if attribute == "app"]
        commands = [name for name in COMMANDS if name not in groups]
        return [*commands, *super().list_commands(ctx), *groups]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            return load_command(cmd_name)
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    name="nurture",
    cls=LazyGroup,
    help="Lead nurturing driven by a human-owned playbook.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def nurture() -> None:
    # A callback makes `app` a group even with one command registered here; the rest are lazy.
    pass


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
