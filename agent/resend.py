"""Sending an approved email again, by a person's choice: a send that failed safely (nothing
went out), or an uncertain one (`needs_check`) after someone checked the mail server's log. An
uncertain one may instead be marked delivered. Every action is audited (send_actions).

The email goes out with its original Message-ID, subject, body and recipient, so a mail system
that did receive the first copy can recognise the second. The send-time re-check (suppression,
frequency cap) runs again, and the claim is one conditional UPDATE: two people pressing the
button at once send one email."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.runnables import RunnableConfig

from agent.context import AgentContext
from agent.decisions import decide
from agent.errors import NurtureError
from agent.nodes.common import finish
from agent.nodes.send import account_cap, blocked_reason, deliver, touch_id
from agent.staleness import stale_reason
from agent.store.account_caps import AccountCap, AccountCapReached
from agent.store.approvals import get_approval
from agent.store.leads import load_lead
from agent.store.schema import ApprovalRow, SendRow
from agent.store.sends import (
    SendAction,
    finish_action,
    finish_send,
    get_send,
    mark_sent,
    reclaim_send,
    settle_touch,
)
from agent.tools.email import OutgoingEmail
from agent.tools.timeline import load_timeline
from agent.unsubscribe import unsubscribe_links


class NoSuchSend(NurtureError):
    """Nothing was ever sent (or tried) for this approval."""


class ResendRefused(NurtureError):
    """The send is not in a state this action applies to (or someone else acted first)."""


@dataclass(frozen=True, slots=True)
class ResendResult:
    approval_id: str
    lead_id: str
    outcome: str
    """As a run's: sent, send_failed, needs_check or blocked."""
    detail: str


def send_again(
    ctx: AgentContext, approval_id: str, *, by: str, resolving: bool = False
) -> ResendResult:
    """Sends a failed send again, or (`resolving`) an uncertain one a person checked."""
    seen = _send(ctx, approval_id)
    if seen.status != ("needs_check" if resolving else "failed"):
        raise ResendRefused(why_not(seen, resolving=resolving))
    action: SendAction = "send_again" if resolving else "resend"
    try:
        action_id = reclaim_send(
            ctx.db, seen, action=action, by=by, at=ctx.clock(), account_cap=_cap(ctx, seen)
        )
    except AccountCapReached as exc:
        # nothing claimed: the send stays as it was, to be sent again once the window passed
        return ResendResult(approval_id, seen.lead_id, "blocked", str(exc))
    if action_id is None:
        raise ResendRefused(_changed(ctx, seen, resolving=resolving))
    try:
        ended = _send_claimed(ctx, seen)
    except Exception as exc:
        # Claimed, then something unforeseen: whether it went out is unknown, so a human checks.
        reason = f"the re-send stopped unexpectedly ({exc}): check the mail server's log"
        finish_send(ctx.db, approval_id, status="needs_check", at=ctx.clock(), reason=reason)
        finish_action(ctx.db, action_id, outcome="needs_check", detail=reason)
        raise
    if ended["outcome"] == "sent":
        settle_touch(ctx.db, touch_id(approval_id))
    after = get_send(ctx.db, approval_id)
    finish_action(
        ctx.db, action_id, outcome=after.status if after else "unknown", detail=ended["detail"]
    )
    return ResendResult(approval_id, seen.lead_id, ended["outcome"], ended["detail"])


def _cap(ctx: AgentContext, seen: SendRow) -> AccountCap | None:
    lead = load_lead(ctx.db, seen.lead_id)
    return account_cap(lead, ctx.playbook) if lead is not None else None


def mark_delivered(ctx: AgentContext, approval_id: str, *, by: str) -> SendRow:
    """A person checked the mail server's log: the uncertain send did go out."""
    seen = _send(ctx, approval_id)
    if seen.status != "needs_check":
        raise ResendRefused(why_not(seen, resolving=True))
    if not mark_sent(ctx.db, seen, by=by, at=ctx.clock()):
        raise ResendRefused(_changed(ctx, seen, resolving=True))
    settle_touch(ctx.db, touch_id(approval_id))
    approval = get_approval(ctx.db, approval_id)
    finish(
        ctx,
        thread_config(approval.thread_id),
        run_state(approval),
        "sent",
        f"marked delivered by {by}",
    )
    row = get_send(ctx.db, approval_id)
    assert row is not None  # it was just updated
    return row


def why_not(row: SendRow, *, resolving: bool) -> str:
    """Why this send cannot be sent again (or resolved) as asked, and what can be done."""
    ident = row.approval_id
    if row.status == "sent":
        return f"the email of '{ident}' was already sent ({row.reason or 'delivered'}); not again"
    if row.status == "needs_check" and not resolving:
        return (
            f"the email of '{ident}' may have gone out ({row.reason}); check the mail server's "
            f"log, then resolve it: nurture sends resolve {ident} --delivered or --send-again "
            f"(API: POST /v1/sends/{ident}/resolution)"
        )
    if row.status == "failed" and resolving:
        return (
            f"the email of '{ident}' failed safely ({row.reason}), so nothing is uncertain: "
            f"send it again with nurture resend {ident} (API: POST /v1/sends/{ident}/retry)"
        )
    if row.status == "blocked":
        return (
            f"the email of '{ident}' was blocked at send time ({row.reason}); sending it again "
            "would be blocked too: the lead needs a new draft"
        )
    if row.status == "sending":
        return f"the email of '{ident}' is being sent right now"
    return f"the email of '{ident}' is {row.status}"


def _send(ctx: AgentContext, approval_id: str) -> SendRow:
    row = get_send(ctx.db, approval_id)
    if row is None:
        raise NoSuchSend(f"no send for approval '{approval_id}' (approve it first)")
    return row


def _changed(ctx: AgentContext, seen: SendRow, *, resolving: bool) -> str:
    now = get_send(ctx.db, seen.approval_id) or seen
    return f"someone acted on it at the same moment: {why_not(now, resolving=resolving)}"


def _send_claimed(ctx: AgentContext, seen: SendRow) -> dict[str, Any]:
    """The send-time re-check, then the email as it was approved, with its Message-ID."""
    approval = get_approval(ctx.db, seen.approval_id)
    now = ctx.clock()
    lead, events = load_timeline(ctx.db, seen.lead_id, until=now, playbook=ctx.playbook)
    own = touch_id(seen.approval_id)  # an uncertain first copy must not hold back its re-send
    events = [e for e in events if e.id != own]
    config, state = thread_config(approval.thread_id), run_state(approval)
    decision = decide(lead, events, ctx.playbook, now)
    blocked = blocked_reason(decision, ctx.playbook) or stale_reason(approval, decision, ctx.assets)
    if blocked:
        finish_send(ctx.db, seen.approval_id, status="blocked", at=now, reason=blocked)
        return finish(ctx, config, state, "blocked", blocked)
    links = unsubscribe_links(ctx.settings, ctx.db)
    email = OutgoingEmail(
        to_address=seen.to_address,
        to_name=lead.name,
        subject=seen.subject,
        body=links.refresh(seen.body, lead.id, now),
        message_id=seen.message_id,
        unsubscribe_url=links.url_for(lead.id, now),
        from_address=ctx.settings.from_address,
        from_name=ctx.settings.from_name,
    )
    return deliver(ctx, config, state, lead, email, seen.approval_id)  # type: ignore[arg-type]


def thread_config(thread_id: str) -> RunnableConfig:
    return {"configurable": {"thread_id": thread_id}}


def run_state(approval: ApprovalRow) -> dict[str, Any]:
    """What `finish` and the touch need of the run's state, from the approval."""
    return {
        "lead_id": approval.lead_id,
        "draft": {"cited_asset_ids": approval.cited_asset_ids},
        "decision": approval.decision,
    }
