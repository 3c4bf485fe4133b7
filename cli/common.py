"""What every command shares: settings, the database, the playbook, time parsing, the console."""

from __future__ import annotations

import getpass
import json
import os
import shlex
import shutil
import sys
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from agent.playbook import Playbook, load_playbook
from agent.settings import Settings, get_settings
from agent.store import Database

console = Console()
err_console = Console(stderr=True)

PlaybookOption = Annotated[
    Path | None,
    typer.Option(
        "--playbook",
        help="Playbook YAML to decide with (default: the one in force: last activated, "
        "else NURTURE_PLAYBOOK).",
        show_default=False,
    ),
]
ByOption = Annotated[
    str | None, typer.Option("--by", help="Who decides, for the audit (default: your user).")
]
AtOption = Annotated[
    str | None,
    typer.Option(
        "--at",
        help="Answer as of this moment (ISO 8601), using only events that had occurred by then.",
    ),
]


def status_option(statuses: Sequence[str], listed: str) -> Any:
    """`--status`, one of `statuses`: any other word is a usage error (exit 2) naming the
    option and listing them. `listed` says what it filters ("jobs"). (Typer vendors its own
    click and takes no click_type: the check is the option's parser, the choices its metavar.)"""
    choices = "|".join(statuses)

    def one_of(value: str) -> str:
        if value not in statuses:
            raise typer.BadParameter(f"{value!r} is not one of {', '.join(statuses)}")
        return value

    return typer.Option(
        help=f"Only {listed} in this status.", parser=one_of, metavar=f"[{choices}]"
    )


def who(by: str | None) -> str:
    """Who is acting, for the audit: --by, else the logged-in user."""
    if by:
        return by
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError:
        return "cli"


def nurture_command() -> str:
    """How to run this very `nurture` again from a new shell, where the virtual environment is
    probably not active: its path, relative when it lies under the working folder (where the
    default data folder is too), else absolute."""
    invoked = sys.argv[0]
    found = invoked if os.sep in invoked else shutil.which(invoked)
    if not found or Path(found).name != "nurture":  # e.g. python -m / -c: the venv's script
        found = str(Path(sys.executable).parent / "nurture")
    path = Path(os.path.abspath(found))
    try:
        relative = path.relative_to(Path.cwd())
    except ValueError:
        return shlex.quote(str(path))
    return shlex.quote(str(relative)) if relative.parent != Path() else f"./{relative}"


def print_json(value: object) -> None:
    """JSON on stdout, untouched by rich (no wrapping at the terminal width, no markup)."""
    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def settings() -> Settings:
    return get_settings()


def open_database(config: Settings | None = None) -> Database:
    """The configured database, migrated to the newest schema."""
    db = Database((config or settings()).resolved_database_url)
    db.migrate()
    return db


def playbook(
    path: Path | None = None, db: Database | None = None, config: Settings | None = None
) -> Playbook:
    """The file given, else the playbook in force (last activated, else NURTURE_PLAYBOOK).
    Pass the command's `db` when it has one: opening another migrates again; and its settings
    when it has them: reading them again costs ~10 ms."""
    if path is not None:
        return load_playbook(path)
    from agent.store.playbooks import playbook_in_force

    config = config or settings()
    return playbook_in_force(db or open_database(config), config)


def parse_moment(text: str | None, *, option: str = "--at") -> datetime:
    """An ISO 8601 moment with a time zone (or a plain date, taken as midnight UTC); now if None."""
    if text is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not an ISO 8601 time (e.g. 2026-11-20T09:30:00Z)", param_hint=option
        ) from None
    if moment.tzinfo is None:
        if len(text) == 10 and date.fromisoformat(text) == moment.date():
            return moment.replace(tzinfo=UTC)
        raise typer.BadParameter(
            f"{text!r} has no time zone; add Z or an offset such as +01:00", param_hint=option
        )
    return moment.astimezone(UTC)
