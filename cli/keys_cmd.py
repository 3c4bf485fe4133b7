"""`nurture keys create|list|revoke`: API keys for people and systems. A key is shown once."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from agent.store.api_keys import EMAIL, ROLES, create_key, list_keys, revoke_key
from cli.common import console, open_database

app = typer.Typer(help="API keys with roles: admin, marketer, rep, ingest.", no_args_is_help=True)

ROLE_HELP = (
    "admin: everything (playbook, metrics); marketer: decide approvals, write leads; "
    "rep: read leads and next actions, request drafts; ingest: post events only."
)


@app.command("create")
def create(
    name: Annotated[str, typer.Option(help="Who or what holds it (shown in the audit).")],
    role: Annotated[str, typer.Option(help=ROLE_HELP)],
    email: Annotated[
        str | None,
        typer.Option(help="A rep's address: hand-offs are assigned to reps with one, by email."),
    ] = None,
) -> None:
    """Create a key and print it (only a hash is stored: copy it now)."""
    if role not in ROLES:
        raise typer.BadParameter(f"'{role}' is not a role; use one of {', '.join(ROLES)}")
    name = name.strip()
    if not name:
        raise typer.BadParameter("must not be empty", param_hint="--name")
    if email is not None and not EMAIL.fullmatch(email.strip()):
        raise typer.BadParameter(f"{email!r} is not an email address", param_hint="--email")
    key = create_key(open_database(), name=name, role=role, at=datetime.now(UTC), email=email)
    holder = f"{name} <{email.strip()}>" if email else name
    console.print(f"{role} key for {holder} (shown once):", highlight=False)
    typer.echo(key)


@app.command("list")
def list_() -> None:
    """Every key: id, holder, role, created, revoked (never the secret)."""
    table = Table("id", "name", "role", "email", "created", "revoked")
    for row in list_keys(open_database()):
        table.add_row(
            row.id,
            row.name,
            row.role,
            row.email or "",
            f"{row.created_at:%Y-%m-%d %H:%M}",
            f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
        )
    console.print(table)


@app.command("revoke")
def revoke(key_id: Annotated[str, typer.Argument(help="The key's id (from `keys list`).")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""
    revoke_key(open_database(), key_id, at=datetime.now(UTC))
    console.print(f"revoked {key_id}")
