"""Sending an email that waited for the playbook's send window, and cancelling one.

The graph's send node ends a run `scheduled` when the approval came outside the window (agent/
nodes/send.py); the executor calls `send_scheduled` when the window opens: a job with
procrastinate's `schedule_at` on PostgreSQL, the local executor's timer on SQLite (both read
the store, so a restart loses nothing). It is the scheduled path made explicit: like a person's
re-send (agent/resend.py), it runs outside the graph and records the run's end in the store.

Every send-time check runs at that moment, not at approval: the window itself (a job that ran
after the window closed waits for the next opening, where the account cap is applied again),
suppression, the frequency caps (without the send's own held touch) and staleness. The claim
scheduled -> sending is one conditional UPDATE, so the email goes out once whoever runs it and
however often; a cancelled one never."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from agent.context import AgentContext
from agent.decisions import decide
from agent.errors import NurtureError
from agent.nodes.common import finish
from agent.nodes.send import account_cap, blocked_reason, deliver, touch_id
from agent.resend import NoSuchSend, run_state, thread_config
from agent.send_windows import next_opening, scheduled_detail
from agent.staleness import stale_reason
from agent.store.account_caps import AccountCapReached
from agent.store.approvals import get_approval
from agent.store.leads import load_lead
from agent.store.scheduled_sends import (
    SCHEDULED,
    block_scheduled,
    cancel_scheduled,
    claim_scheduled,
    drop_scheduled_touch,
    reschedule,
    settle_scheduled_touch,
)
from agent.store.schema import SendRow
from agent.store.sends import finish_send, get_send
from agent.tools.email import OutgoingEmail
from agent.tools.timeline import load_timeline
from agent.unsubscribe import unsubscribe_links

EARLY = timedelta(seconds=5)
"""A job may start this much before its moment by our clock (the database's clock fires it)."""

Outcome = Literal["sent", "blocked", "send_failed", "needs_check", "not_due", "rescheduled", "gone"]


class CancelRefused(NurtureError):
    """The send is not waiting for its window (any more): it went out, or was cancelled."""


@dataclass(frozen=True, slots=True)
class ScheduledResult:
    outcome: Outcome
    detail: str
    due: datetime | None = None
    """When it is due now, for `not_due` and `rescheduled`."""


def send_scheduled(ctx: AgentContext, approval_id: str) -> ScheduledResult:
    """Sends a scheduled send whose moment has come (once); anything else is left as it is."""
    row = get_send(ctx.db, approval_id)
    if row is None or row.status != SCHEDULED or row.scheduled_for is None:
        return ScheduledResult("gone", f"not scheduled ({row.status if row else 'no send'})")
    now = ctx.clock()
    if row.scheduled_for > now + EARLY:
        return ScheduledResult("not_due", "not due yet", row.scheduled_for)
    moment = max(now, row.scheduled_for)
    window = ctx.playbook.send_window
    zone = ZoneInfo(row.send_zone or "UTC")
    if window is not None:
        opening = next_opening(moment, zone, window)
        if opening > moment:  # run late, after the window closed: wait for the next one
            return _move(ctx, row, opening, zone)
    if not claim_scheduled(ctx.db, approval_id, at=now):
        return ScheduledResult("gone", "cancelled or taken by another worker meanwhile")
    try:
        return _send_claimed(ctx, row)
    except Exception as exc:
        # Claimed, then something unforeseen: whether it went out is unknown, so a human checks.
        reason = f"the scheduled send stopped unexpectedly ({exc}): check the mail server's log"
        finish_send(ctx.db, approval_id, status="needs_check", at=ctx.clock(), reason=reason)
        raise


def _send_claimed(ctx: AgentContext, row: SendRow) -> ScheduledResult:
    approval = get_approval(ctx.db, row.approval_id)
    now = ctx.clock()
    own = touch_id(row.approval_id)  # the touch held for this very send must not cap it
    lead, events = load_timeline(ctx.db, row.lead_id, until=now, playbook=ctx.playbook)
    events = [e for e in events if e.id != own]
    config, state = thread_config(approval.thread_id), run_state(approval)
    decision = decide(lead, events, ctx.playbook, now)
    blocked = blocked_reason(decision, ctx.playbook) or stale_reason(approval, decision, ctx.assets)
    if blocked:
        finish_send(ctx.db, row.approval_id, status="blocked", at=now, reason=blocked)
        return _end_blocked(ctx, row.approval_id, blocked)
    # signed as of the send, as every send is: the link's validity counts from when it went out
    links = unsubscribe_links(ctx.settings, ctx.db)
    email = OutgoingEmail(
        to_address=row.to_address,
        to_name=lead.name,
        subject=row.subject,
        body=links.refresh(row.body, lead.id, now),
        message_id=row.message_id,
        unsubscribe_url=links.url_for(lead.id, now),
        from_address=ctx.settings.from_address,
        from_name=ctx.settings.from_name,
    )
    ended = deliver(ctx, config, state, lead, email, row.approval_id)  # type: ignore[arg-type]
    if ended["outcome"] == "send_failed":  # nothing went out: nothing to count
        drop_scheduled_touch(ctx.db, own)
    else:
        settle_scheduled_touch(ctx.db, own, at=ctx.clock())
    return ScheduledResult(ended["outcome"], ended["detail"])


def _move(ctx: AgentContext, row: SendRow, opening: datetime, zone: ZoneInfo) -> ScheduledResult:
    """Moves the send to the window's next opening, where the account cap is applied again:
    another contact of the account may hold the slot at the new time."""
    lead = load_lead(ctx.db, row.lead_id)
    cap = account_cap(lead, ctx.playbook) if lead is not None else None
    try:
        moved = reschedule(ctx.db, row.approval_id, scheduled_for=opening, account_cap=cap)
    except AccountCapReached as exc:
        if not block_scheduled(ctx.db, row.approval_id, reason=str(exc), at=ctx.clock()):
            return ScheduledResult("gone", "cancelled or taken by another worker meanwhile")
        return _end_blocked(ctx, row.approval_id, str(exc))
    if not moved:
        return ScheduledResult("gone", "cancelled or taken by another worker meanwhile")
    return ScheduledResult("rescheduled", scheduled_detail(opening, zone), opening)


def _end_blocked(ctx: AgentContext, approval_id: str, reason: str) -> ScheduledResult:
    """The send row says blocked: its held touch goes, and its run ends blocked."""
    drop_scheduled_touch(ctx.db, touch_id(approval_id))
    approval = get_approval(ctx.db, approval_id)
    finish(ctx, thread_config(approval.thread_id), run_state(approval), "blocked", reason)
    return ScheduledResult("blocked", reason)


def cancel_send(ctx: AgentContext, approval_id: str, *, by: str) -> SendRow:
    """Cancels a send waiting for its window: it never goes out, its held touch is gone, its
    job waits no more (PostgreSQL), and the lead may get a new draft. CancelRefused when it is
    not waiting (any more)."""
    row = get_send(ctx.db, approval_id)
    if row is None:
        raise NoSuchSend(f"no send for approval '{approval_id}'")
    now = ctx.clock()
    if not cancel_scheduled(ctx.db, approval_id, by=by, at=now):
        current = get_send(ctx.db, approval_id) or row
        raise CancelRefused(
            f"the email of '{approval_id}' is {current.status}, not scheduled: "
            "only an email waiting for its send window can be cancelled"
        )
    drop_scheduled_touch(ctx.db, touch_id(approval_id))
    if ctx.db.dialect == "postgresql":  # its job waits in procrastinate's queue: cancel it too
        # imported here: the queue imports this module, and only PostgreSQL has a queue
        from agent.jobs.queue import cancel_scheduled_send_jobs

        cancel_scheduled_send_jobs(ctx.settings, approval_id)
    approval = get_approval(ctx.db, approval_id)
    finish(ctx, thread_config(approval.thread_id), run_state(approval), "cancelled", f"by {by}")
    cancelled = get_send(ctx.db, approval_id)
    assert cancelled is not None  # it was just updated
    return cancelled
