"""`nurture playbook ...`: check a playbook file before it goes live."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from agent.cli.common import console
from agent.playbook import fingerprint, load_playbook

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
