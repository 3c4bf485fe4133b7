"""`nurture ingest rejections`: messages a Segment-compatible client sent that were answered
200 but not stored. The client never reads why; this lists it."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from agent.store.rejections import REASONS, list_rejections
from agent.store.schema import IngestRejectionRow
from cli.common import console, open_database, print_json

app = typer.Typer(help="What arrived through /segment and could not be stored.")

REASON_HELP = "Only this reason: " + ", ".join(REASONS) + "."


@app.command("rejections")
def rejections(
    source: Annotated[str | None, typer.Option(help="Only this source (segment).")] = None,
    reason: Annotated[str | None, typer.Option(help=REASON_HELP)] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print them as JSON.")] = False,
) -> None:
    """Rejected messages, newest first: when, source, type, messageId, reason code and why."""
    if reason is not None and reason not in REASONS:
        raise typer.BadParameter(
            f"{reason!r} is not a reason; use one of {', '.join(REASONS)}", param_hint="--reason"
        )
    rows = list_rejections(open_database(), source=source, reason=reason, limit=limit)
    if as_json:
        print_json([_as_json(row) for row in rows])
        return
    if not rows:
        console.print("No rejected messages" + (f" ({reason})" if reason else "") + ".")
        return
    for row in rows:  # one line each: a table would fold the reasons, which are the point
        console.print(
            f"{row.received_at:%Y-%m-%d %H:%M:%S}  {row.source}  {row.kind or '-'}  "
            f"{row.message_id or '-'}  {row.reason_code}: {row.reason}",
            highlight=False,
            markup=False,
            soft_wrap=True,
        )


def _as_json(row: IngestRejectionRow) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source,
        "message_id": row.message_id,
        "kind": row.kind,
        "reason_code": row.reason_code,
        "reason": row.reason,
        "message": row.message,
        "received_at": row.received_at.isoformat(),
    }
