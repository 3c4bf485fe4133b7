"""`nurture playbook ...`: check a playbook file before it goes live, and put one in force."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from agent.errors import NurtureError
from agent.playbook import fingerprint, load_playbook
from cli.common import console

app = typer.Typer(help="Check and inspect playbooks.", no_args_is_help=True)


@app.command("check")
def check(file: Annotated[Path, typer.Argument(help="The playbook YAML to validate.")]) -> None:
    """Validate a playbook; every problem is reported with its YAML path and line."""
    playbook = load_playbook(file)
    console.print(
        f"[green]ok[/] {file}: version {playbook.version}, {len(playbook.signals)} signals, "
        f"{len(playbook.event_mappings)} event mappings, {len(playbook.stages.rules)} stage rules, "
        f"{len(playbook.action_rules)} action rules (fingerprint {fingerprint(playbook)})",
        highlight=False,
    )


@app.command("preview")
def preview(
    file: Annotated[Path, typer.Argument(help="The candidate playbook YAML.")],
    as_json: Annotated[
        bool, typer.Option("--json", help="What POST /v1/playbook/preview returns.")
    ] = False,
) -> None:
    """Before activating: every lead decided as of now with the playbook in force and with
    FILE. Shows what would move (stage, action, hot), the waiting drafts that would go stale
    and the rules that would fire more or less often. Changes nothing. Runs here, in the
    foreground, with a progress bar (the service runs it as a job)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    from agent.content.assets import load_library
    from agent.jobs.previews import lead_count
    from agent.preview import preview as run_preview
    from api.convert import preview_out
    from cli.common import err_console, open_database, playbook, print_json, settings
    from cli.preview_view import print_preview

    candidate = load_playbook(file)
    db = open_database()
    current = playbook(db=db)
    assets = {a.id: a for a in load_library(settings().content_dir).assets}
    columns = ("{task.description}", BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    # on stderr, gone when done: --json's stdout stays the JSON alone
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task("leads previewed", total=lead_count(db))
        result = run_preview(
            db,
            current,
            candidate,
            assets,
            datetime.now(UTC),
            progress=lambda done: bar.update(task, completed=done),
        )
    if as_json:
        print_json(preview_out(result).model_dump(mode="json"))
    else:
        print_preview(result)


@app.command("activate")
def activate(
    file: Annotated[Path, typer.Argument(help="The playbook YAML to put in force.")],
    by: Annotated[str, typer.Option(help="Who activates it (kept with the version).")] = "cli",
) -> None:
    """Put a playbook in force for the service and the CLI: every decision and draft from now
    on records its version. Its events and leads are re-derived with the new rules."""
    from agent.store.playbooks import activate_playbook
    from agent.store.scores import refresh_derived
    from cli.common import open_database, settings

    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise NurtureError(f"cannot read playbook {file}: {exc.strerror or exc}") from exc
    db = open_database()
    playbook = activate_playbook(db, text, by=by, at=datetime.now(UTC), settings=settings())
    stale = refresh_derived(db, playbook)
    console.print(
        f"[green]activated[/] version {playbook.version} "
        f"({stale.leads} leads and {stale.events} events re-derived). Running services switch "
        "to it within seconds.",
        highlight=False,
    )


@app.command("active")
def active() -> None:
    """Which playbook is in force, and every version activated before."""
    from agent.store.playbooks import playbook_history
    from cli.common import open_database, settings

    history = playbook_history(open_database())
    if not history:
        console.print(f"in force: the configured file {settings().playbook} (none activated)")
        return
    console.print(f"in force: version [bold]{history[0].version}[/]", highlight=False)
    for row in history:
        console.print(
            f"  {row.version}  activated {row.activated_at:%Y-%m-%d %H:%M} UTC "
            f"by {row.activated_by}",
            highlight=False,
        )
