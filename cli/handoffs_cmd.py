"""`nurture handoffs [accept|recycle|close]`: the hand-offs to sales, and what sales did with
them. The command line acts with the database's authority (like a marketer: any hand-off);
`--by` names who, for the audit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

from agent.context import AgentContext
from agent.errors import NurtureError
from agent.handoff_board import HandoffView, board
from agent.handoff_desk import Actor, act
from agent.handoff_states import STATES, Move, TransitionRefused
from cli.common import (
    ByOption,
    console,
    err_console,
    open_database,
    playbook,
    print_json,
    settings,
    who,
)

app = typer.Typer(help="Hand-offs to sales: list, accept, recycle, close.", no_args_is_help=False)
HandoffArgument = Annotated[
    str, typer.Argument(help="The hand-off's id (from `nurture handoffs`).")
]


@app.callback(invoke_without_command=True)
def handoffs(
    context: typer.Context,
    state: Annotated[
        str | None, typer.Option(help=f"Only hand-offs in this state: {', '.join(STATES)}.")
    ] = None,
    rep: Annotated[str | None, typer.Option(help="Only this rep's (key id or email).")] = None,
    limit: Annotated[int, typer.Option(min=1, max=10_000, help="At most this many.")] = 500,
    as_json: Annotated[bool, typer.Option("--json", help="Print GET /v1/handoffs' JSON.")] = False,
) -> None:
    """Hand-offs, longest waiting first, with the rep, the state and the SLA flag."""
    if context.invoked_subcommand is not None:
        return
    if state is not None and state not in STATES:
        raise typer.BadParameter(
            f"{state!r} is not one of {', '.join(STATES)}", param_hint="--state"
        )
    ctx = _context()
    views = board(
        ctx.db,
        now=ctx.clock(),
        sla_hours=ctx.playbook.handoffs.accept_within_hours,
        state=state,
        rep=rep,
        limit=limit,
    )
    if as_json:
        from api.routes.handoffs import handoff_out

        print_json([handoff_out(v).model_dump(mode="json") for v in views])
        return
    if not views:
        console.print("No hand-offs" + (f" {state}" if state else "") + ".")
        return
    _show(views, ctx.clock())


@app.command("accept")
def accept(handoff_id: HandoffArgument, by: ByOption = None) -> None:
    """The rep takes the lead."""
    _act(handoff_id, "accept", by, None)


@app.command("recycle")
def recycle(
    handoff_id: HandoffArgument,
    reason: Annotated[str, typer.Option(help="Why the lead goes back to nurture (required).")],
    by: ByOption = None,
) -> None:
    """Back to nurture: handed off again only on buying signals after this."""
    _act(handoff_id, "recycle", by, reason)


@app.command("close")
def close(
    handoff_id: HandoffArgument,
    reason: Annotated[str | None, typer.Option(help="How it ended (won, lost, ...).")] = None,
    by: ByOption = None,
) -> None:
    """Sales is done with an accepted hand-off."""
    _act(handoff_id, "close", by, reason)


def _act(handoff_id: str, move: Move, by: str | None, reason: str | None) -> None:
    ctx = _context()
    try:
        row = act(ctx, handoff_id, move, actor=Actor(who(by), "marketer"), reason=reason)
    except (LookupError, TransitionRefused, NurtureError) as exc:
        err_console.print(
            f"[bold red]error:[/] {exc.args[0] if exc.args else exc}", highlight=False
        )
        raise typer.Exit(2 if isinstance(exc, LookupError) else 1) from None
    console.print(f"{row.id}: {row.state} (lead {row.lead_id})", highlight=False)


def _context() -> AgentContext:
    """What the hand-off commands need: the database, the playbook in force, the clock."""
    db = open_database()
    return AgentContext(settings=settings(), db=db, playbook=playbook(db=db))


def _show(views: list[HandoffView], now: datetime) -> None:
    """One block per hand-off: ids are never cut, whatever the terminal's width."""
    for v in views:
        hours = (now - v.waiting_since).total_seconds() / 3600
        flag = "  [bold red]OVERDUE[/]" if v.overdue else ""
        company = f", {v.company}" if v.company else ""
        score = "" if v.score is None else f" · score {v.score:g}"
        console.print(f"[bold]{v.id}[/] · {v.state}{flag}", highlight=False, soft_wrap=True)
        console.print(
            f"  {v.lead_name or v.lead_email} ({v.lead_id}{company}){score} · waiting "
            f"{hours:.1f} h (since {v.waiting_since.astimezone(UTC):%Y-%m-%d %H:%M} UTC)",
            highlight=False,
            soft_wrap=True,
        )
        console.print(f"  why: {v.rule}: {v.why}", highlight=False, soft_wrap=True, markup=False)
        if v.account:
            console.print(
                f"  account: {v.account} · {_committee(v)}",
                highlight=False,
                soft_wrap=True,
                markup=False,
            )
        console.print(f"  rep: {v.assigned_to or 'unassigned'}", highlight=False, soft_wrap=True)


def _committee(view: HandoffView) -> str:
    """The account's engaged contacts as the rep got them: name (role, score)."""
    return ", ".join(
        f"{c.get('name') or c.get('lead_id')} ({str(c.get('role', 'unknown')).replace('_', ' ')}"
        f", score {c.get('score')})"
        for c in view.account_contacts
    )
