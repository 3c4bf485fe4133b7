"""The `nurture` command line. Each sub-command lives in its own module, imported only when that
command runs (`--help` lists them from their summaries here): the agent's commands pull in
LangGraph and the checkpointers, the content commands Chroma, and `nurture next` needs none of
them. This module itself imports only Typer, so that listing costs little and every command
pays only for what it uses."""

from __future__ import annotations

import gc
import importlib
import os
import sys
from typing import NamedTuple

import typer
from typer import _click as click  # typer vendors click: its Group and Context, not click's
from typer.core import TyperCommand, TyperGroup

from agent.errors import NurtureError
from agent.runtime import freeze_startup_heap


class Lazy(NamedTuple):
    """Where a command lives, and the one line `nurture --help` shows for it (the first paragraph
    of its help, kept here so that listing the commands imports none of them)."""

    module: str
    attribute: str  # a Typer app for a group of sub-commands, else a function
    summary: str


COMMANDS: dict[str, Lazy] = {
    "playbook": Lazy("cli.playbook_cmd", "app", "Check and inspect playbooks."),
    "import": Lazy("cli.import_cmd", "app", "Import leads and events from JSONL or CSV files."),
    "ingest": Lazy(
        "cli.ingest_cmd", "app", "What arrived through /segment and could not be stored."
    ),
    "content": Lazy("cli.content_cmd", "app", "Search and list the content library."),
    "keys": Lazy("cli.keys_cmd", "app", "API keys with roles: admin, marketer, rep, ingest."),
    "eval": Lazy(
        "cli.eval_cmd",
        "app",
        "Run draft-quality eval suites, compare runs, write reports, harvest edits.",
    ),
    "sends": Lazy("cli.sends_cmd", "app", "Emails sent or attempted; resolve uncertain ones."),
    "jobs": Lazy(
        "cli.jobs_cmd", "app", "Jobs in the PostgreSQL queue; retry or discard failed ones."
    ),
    "handoffs": Lazy(
        "cli.handoffs_cmd", "app", "Hand-offs to sales: list, accept, recycle, close."
    ),
    "serve": Lazy(
        "cli.serve_cmd",
        "serve",
        "Serve the JSON API (/v1, docs at /docs) and the inbox pages; on PostgreSQL also a job "
        "worker, unless --no-worker.",
    ),
    "worker": Lazy(
        "cli.worker_cmd",
        "worker",
        "Run background jobs (drafts, re-decisions, hand-off webhooks, scheduled sends, the sweep)"
        " until SIGTERM, which drains it.",
    ),
    "index": Lazy(
        "cli.content_cmd",
        "index",
        "Index the content library: only new or changed assets are embedded.",
    ),
    "next": Lazy("cli.decide_cmd", "next_action", "What to send this lead next, and why."),
    "scores": Lazy("cli.decide_cmd", "scores", "Re-score every lead and list the hot ones (MQLs)."),
    "demo": Lazy(
        "cli.demo_cmd",
        "demo",
        "Seed demo leads, draft for every lead that should hear from us, and serve the inbox where"
        " the drafts wait for approval.",
    ),
    "resend": Lazy(
        "cli.sends_cmd",
        "resend",
        "Send again an email whose send failed safely (nothing went out), same Message-ID.",
    ),
    "draft": Lazy(
        "cli.agent_cmd",
        "draft",
        "Decide for one lead and, if it should hear from us, draft an email for review.",
    ),
    "inbox": Lazy("cli.agent_cmd", "inbox", "Drafts waiting for approval."),
    "review": Lazy("cli.agent_cmd", "review", "Show a draft in full, with why it was written."),
    "approve": Lazy(
        "cli.agent_cmd",
        "approve",
        "Approve a draft (optionally edited); it is re-checked and sent.",
    ),
    "respond": Lazy(
        "cli.agent_cmd",
        "respond",
        "Ask for changes: the feedback goes to the drafter and a new draft waits for review.",
    ),
    "discard": Lazy("cli.agent_cmd", "discard", "Discard a draft: nothing is sent."),
    "run": Lazy(
        "cli.agent_cmd",
        "run",
        "Draft for every lead whose next action is send_email or re_engage, and hand the leads "
        "whose next action is handoff_to_sales to sales.",
    ),
    "recover": Lazy(
        "cli.agent_cmd",
        "recover",
        "Finish a run an interrupted process left open (a send is never repeated), or say why "
        "there is nothing to finish.",
    ),
    "report": Lazy(
        "cli.report_cmd",
        "report",
        "MQLs (by week), hand-offs, drafts by outcome with time to decision and edit distance by "
        "stage, sends and mail events by stage, drafter, rule and asset, and leads by stage, "
        "counted from the store; each figure says what it counts.",
    ),
    "experiments": Lazy(
        "cli.experiments_cmd",
        "experiments",
        "Sends and reply, click and unsubscribe rates per variant (per lead, after its first "
        "send), the test used with its p-value, and the verdict: running, winner <variant>, or no "
        "difference. A winner becomes the default by editing the playbook.",
    ),
}
"""Command name → where it lives and its summary (tests/test_startup.py checks each summary
against the command's own help)."""


def load_command(name: str) -> click.Command:
    """The click command `name`, built from its module (imported now)."""
    module, attribute, _summary = COMMANDS[name]
    target = getattr(importlib.import_module(module), attribute)
    if isinstance(target, typer.Typer):
        command: click.Command = typer.main.get_group(target)
    else:
        single = typer.Typer(add_completion=False)
        single.command(name)(target)
        command = typer.main.get_command(single)
    command.name = name  # help lists a command by it
    return command


LISTING = "nurture.listing"
"""ctx.meta key set while the group's help is written: commands are then only listed."""


class LazyGroup(TyperGroup):
    """Lists every command from its summary, imports only the one asked for."""

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Typer's help asks get_command for every command to show its help line
        ctx.meta[LISTING] = True
        try:
            super().format_help(ctx, formatter)
        finally:
            del ctx.meta[LISTING]

    def list_commands(self, ctx: click.Context) -> list[str]:
        # as typer lists them: commands in the order given, then the groups
        groups = [name for name, lazy in COMMANDS.items() if lazy.attribute == "app"]
        commands = [name for name in COMMANDS if name not in groups]
        return [*commands, *super().list_commands(ctx), *groups]

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in COMMANDS:
            if ctx.meta.get(LISTING):
                # a stand-in that carries the summary: importing the module is what costs
                return TyperCommand(cmd_name, help=COMMANDS[cmd_name].summary)
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
    # It runs once the command's module is imported, before the command itself.
    if not gc.isenabled():  # main() paused the collector for start-up
        freeze_startup_heap(collect=False)


@app.command("db-upgrade")
def db_upgrade() -> None:
    """Bring the database schema to the newest version (data is kept)."""
    from cli.common import console, open_database

    db = open_database()
    console.print(f"schema up to date ({db.dialect})")


def main() -> None:
    # Importing a command allocates some 100,000 objects and frees almost none: the collector's
    # passes over them cost ~60 ms of a short command, and a collection before freezing them
    # ~40 ms more. Paused until the command is loaded (the callback above freezes them).
    gc.disable()
    # pydantic looks for plugins in every installed package's entry points (~40 ms, and this
    # project uses none); a value of your own (even empty) lets them load again
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    try:
        app()
    except NurtureError as exc:
        from cli.common import err_console

        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except KeyboardInterrupt:
        from cli.common import err_console

        err_console.print("interrupted")
        sys.exit(130)
    finally:
        gc.enable()  # when no command ran (help, a usage error), or main() runs in a test
