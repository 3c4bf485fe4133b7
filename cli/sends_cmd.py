"""`nurture sends [resolve|cancel]` and `nurture resend`: what was sent, sending a safely failed
email again, a human resolving an uncertain one (the mail server's verdict never came), and
cancelling one waiting for the send window."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import typer
from rich.table import Table

from agent.context import AgentContext, build_context
from agent.store.schema import SendRow
from agent.store.sends import list_sends, send_history
from cli.common import ByOption, console, open_database, print_json, settings, status_option, who
from cli.exit_codes import exit_code

STATUSES = ("scheduled", "sending", "sent", "needs_check", "blocked", "failed", "cancelled")
ROOM_BESIDE_IDS = 50
"""Columns the table needs beside the ids to stay readable; a narrower terminal gets blocks."""

app = typer.Typer(help="Emails sent or attempted; resolve uncertain ones.", no_args_is_help=False)
ApprovalArgument = Annotated[str, typer.Argument(help="The approval id of the send.")]


@app.callback(invoke_without_command=True)
def sends(
    context: typer.Context,
    status: Annotated[str | None, status_option(STATUSES, "sends")] = None,
    lead: Annotated[str | None, typer.Option(help="Only this lead's sends.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="Print GET /v1/sends' JSON.")] = False,
) -> None:
    """Emails sent or attempted, newest first, with what people did to each."""
    if context.invoked_subcommand is not None:
        return
    db = open_database()
    rows = list_sends(db, status=status, lead_id=lead, limit=limit)
    history = send_history(db, [row.approval_id for row in rows])
    if as_json:
        from api.convert import send_out

        print_json([send_out(r, history[r.approval_id]).model_dump(mode="json") for r in rows])
        return
    if not rows:
        console.print("No sends" + (f" {status}" if status else "") + ".")
        return
    _show(rows)
    _next_steps(rows)


@app.command("resolve")
def resolve(
    approval_id: ApprovalArgument,
    delivered: Annotated[
        bool, typer.Option("--delivered", help="It went out (the mail server's log shows it).")
    ] = False,
    send_again: Annotated[
        bool, typer.Option("--send-again", help="It did not: send it again (same Message-ID).")
    ] = False,
    by: ByOption = None,
) -> None:
    """Resolve an uncertain send (needs_check) after checking the mail server's log."""
    from agent.resend import mark_delivered
    from agent.resend import send_again as send

    if delivered == send_again:
        raise typer.BadParameter("say --delivered or --send-again (one of them)")
    with _context() as ctx:
        if delivered:
            row = mark_delivered(ctx, approval_id, by=who(by))
            console.print(f"{row.lead_id}: [bold]sent[/] — {row.reason}", highlight=False)
            return
        result = send(ctx, approval_id, by=who(by), resolving=True)
    _finish(result.lead_id, result.outcome, result.detail)


@app.command("cancel")
def cancel(approval_id: ApprovalArgument, by: ByOption = None) -> None:
    """Cancel an email waiting for the send window: it never goes out (audited)."""
    from agent.scheduled_sends import cancel_send

    with _context() as ctx:
        row = cancel_send(ctx, approval_id, by=who(by))
    console.print(f"{row.lead_id}: [bold]cancelled[/] — {row.reason}", highlight=False)


def resend(approval_id: ApprovalArgument, by: ByOption = None) -> None:
    """Send again an email whose send failed safely (nothing went out), same Message-ID."""
    from agent.resend import send_again

    with _context() as ctx:
        result = send_again(ctx, approval_id, by=who(by))
    _finish(result.lead_id, result.outcome, result.detail)


@contextmanager
def _context() -> Iterator[AgentContext]:
    ctx = build_context(settings())
    try:
        yield ctx
    finally:
        ctx.db.dispose()


def _finish(lead_id: str, outcome: str, detail: str) -> None:
    console.print(f"{lead_id}: [bold]{outcome}[/] — {detail}", highlight=False)
    code = exit_code("resend", outcome)
    if code:
        raise typer.Exit(code)


def _show(rows: list[SendRow]) -> None:
    approval = max(len(r.approval_id) for r in rows)
    lead = max(len(r.lead_id) for r in rows)
    if console.width < approval + lead + ROOM_BESIDE_IDS:  # one block per send
        for row in rows:
            console.print(f"\n[bold]{row.approval_id}[/]", soft_wrap=True, highlight=False)
            console.print(
                f"  to {row.lead_id} · {row.status} · {row.attempted_at:%Y-%m-%d %H:%M} UTC"
                + (f"\n  {_why(row)}" if _why(row) else ""),
                highlight=False,
            )
        return
    table = Table(title=f"{len(rows)} sends", title_justify="left")
    # Ids are what people copy into the next command: never cut, the other columns give way.
    table.add_column("approval", no_wrap=True, min_width=approval)
    table.add_column("lead", no_wrap=True, min_width=lead)
    table.add_column("status", no_wrap=True)
    table.add_column("attempted (UTC)")
    table.add_column("reason")
    for row in rows:
        table.add_row(
            row.approval_id,
            row.lead_id,
            row.status,
            f"{row.attempted_at:%Y-%m-%d %H:%M}",
            _why(row),
        )
    console.print(table)


def _why(row: SendRow) -> str:
    """The reason, or for a send waiting for the window when it goes out (the lead's time)."""
    if row.status == "scheduled" and row.scheduled_for is not None:
        from zoneinfo import ZoneInfo

        from agent.send_windows import scheduled_detail

        return scheduled_detail(row.scheduled_for, ZoneInfo(row.send_zone or "UTC"))
    return row.reason or ""


def _next_steps(rows: list[SendRow]) -> None:
    failed = [r.approval_id for r in rows if r.status == "failed"]
    uncertain = [r.approval_id for r in rows if r.status == "needs_check"]
    if failed:
        console.print("\nNothing went out for these, so sending again is safe:", highlight=False)
        for approval_id in failed:
            console.print(f"  nurture resend {approval_id}", soft_wrap=True, highlight=False)
    if uncertain:
        console.print(
            "\nThese may have gone out: look for their Message-ID in the mail server's log, "
            "then nurture sends resolve ID --delivered (it went out) or --send-again (it did "
            "not):",
            highlight=False,
        )
        for approval_id in uncertain:
            console.print(
                f"  nurture sends resolve {approval_id} --delivered|--send-again",
                soft_wrap=True,
                highlight=False,
            )
