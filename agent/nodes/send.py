"""Send an approved draft exactly once, and record the touch on the lead's timeline.

LangGraph re-runs a node when a thread resumes, so the send is keyed to the approval: a `sends`
row is written ('sending') before the SMTP conversation and finished after it. Finding a row
already there means an earlier attempt got at least that far; it is never sent again.

Before that, the lead is decided again: a suppression, the frequency cap or a draft gone stale
(agent.staleness) blocks the send, with the reason; so does the playbook's emails-per-account
cap, checked in the claim's own transaction (agent/store/account_caps.py). Outside the
playbook's send window the email is not sent here: it is written as scheduled for the window's
next opening and the run ends `scheduled`; agent/scheduled_sends.py sends it then, outside
the graph, with every check run again (the explicit scheduled path, as for a person's
re-send: agent/resend.py)."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.accounts import account_of
from agent.context import AgentContext
from agent.decisions import Decision, decide
from agent.nodes.common import context_of, finish
from agent.playbook import Playbook
from agent.send_windows import lead_zone, next_opening, scheduled_detail
from agent.staleness import stale_reason
from agent.state import AgentState
from agent.store.account_caps import AccountCap, AccountCapReached
from agent.store.approvals import get_approval
from agent.store.ingest import ingest_events
from agent.store.scheduled_sends import schedule_send
from agent.store.sends import claim_send, finish_send, get_send, record_blocked
from agent.timeline import Lead
from agent.tools.email import OutgoingEmail, build_message
from agent.tools.timeline import load_timeline
from agent.unsubscribe import unsubscribe_links

TOUCH = "email_sent"  # what a send records; the frequency-cap rules count these
APPROVED = {"accepted", "edited"}


class _SendRecord(TypedDict):
    """What claim_send and record_blocked both take about the send."""

    approval_id: str
    lead_id: str
    message_id: str
    to_address: str
    subject: str
    body: str
    at: datetime


def send_email(
    state: AgentState, runtime: Runtime[AgentContext], config: RunnableConfig
) -> dict[str, Any]:
    ctx = context_of(runtime)
    approval = get_approval(ctx.db, state["approval_id"])
    if approval.status not in APPROVED:
        return finish(ctx, config, dict(state), "blocked", f"approval is {approval.status}")
    earlier = get_send(ctx.db, approval.id)
    if earlier is not None:
        return _after_interruption(ctx, config, state, earlier.status, approval.id)

    now = ctx.clock()
    lead, events = load_timeline(ctx.db, approval.lead_id, until=now, playbook=ctx.playbook)
    draft = state["draft"]
    links = unsubscribe_links(ctx.settings, ctx.db)
    email = OutgoingEmail(
        to_address=lead.email,
        to_name=lead.name,
        subject=draft["subject"],
        # the link the draft carries was signed when it was written: valid from today instead
        body=links.refresh(draft["body"], lead.id, now),
        message_id=message_id_for(approval.id),
        unsubscribe_url=links.url_for(lead.id, now),
        from_address=ctx.settings.from_address,
        from_name=ctx.settings.from_name,
    )
    record: _SendRecord = {
        "approval_id": approval.id,
        "lead_id": lead.id,
        "message_id": email.message_id,
        "to_address": lead.email,
        "subject": email.subject,
        "body": email.body,
        "at": now,
    }
    decision = decide(lead, events, ctx.playbook, now)
    # a playbook change or new events since the draft may have taken away its reason
    blocked = blocked_reason(decision, ctx.playbook) or stale_reason(approval, decision, ctx.assets)
    if blocked:
        record_blocked(ctx.db, **record, reason=blocked)
        return finish(ctx, config, dict(state), "blocked", blocked)
    window = ctx.playbook.send_window
    if window is not None:
        zone = lead_zone(lead, window)
        opening = next_opening(now, zone.zone, window)
        if opening > now:  # outside the window: the email waits for it (agent/scheduled_sends.py)
            return _schedule(ctx, config, state, lead, record, opening, zone.zone)
    try:
        claimed = claim_send(ctx.db, **record, account_cap=account_cap(lead, ctx.playbook))
    except AccountCapReached as exc:
        record_blocked(ctx.db, **record, reason=str(exc))
        return finish(ctx, config, dict(state), "blocked", str(exc))
    if not claimed:
        return finish(ctx, config, dict(state), "needs_check", "another attempt claimed this send")
    return deliver(ctx, config, state, lead, email, approval.id)


def account_cap(lead: Lead, playbook: Playbook) -> AccountCap | None:
    """The playbook's emails-per-account cap as it applies to this lead's account, if any."""
    cap = playbook.accounts.max_emails
    account = account_of(lead)
    if cap is None or account is None:
        return None
    return AccountCap(account=account, count=cap.count, days=cap.days)


def _schedule(
    ctx: AgentContext,
    config: RunnableConfig,
    state: AgentState,
    lead: Lead,
    record: _SendRecord,
    opening: datetime,
    zone: ZoneInfo,
) -> dict[str, Any]:
    """Writes the send as scheduled for the window's next opening, holds its touch on the
    timeline (the frequency caps and the lead's one draft count it until it is sent or
    cancelled), and hands it to the executor that sends it then."""
    approval_id = record["approval_id"]
    try:
        scheduled = schedule_send(
            ctx.db,
            **record,
            scheduled_for=opening,
            zone=zone.key,
            account_cap=account_cap(lead, ctx.playbook),
        )
    except AccountCapReached as exc:
        record_blocked(ctx.db, **record, reason=str(exc))
        return finish(ctx, config, dict(state), "blocked", str(exc))
    if not scheduled:
        return finish(ctx, config, dict(state), "needs_check", "another attempt claimed this send")
    _record_touch(ctx, state, record["lead_id"], approval_id, scheduled_for=opening)
    if ctx.scheduled_sends is not None:
        ctx.scheduled_sends.schedule_send(approval_id, opening)
    return finish(ctx, config, dict(state), "scheduled", scheduled_detail(opening, zone))


def message_id_for(approval_id: str) -> str:
    """A valid RFC 5322 Message-ID, the same for every attempt at this approval. Approval ids
    may hold characters a msg-id may not (':'), so those become dots and a hash keeps it unique."""
    safe = re.sub(r"[^A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+", ".", approval_id).strip(".")
    digest = hashlib.sha256(approval_id.encode()).hexdigest()[:8]
    return f"<{safe}.{digest}@nurture.local>"


def blocked_reason(decision: Decision, playbook: Playbook) -> str | None:
    """The send-time re-check: an unsubscribe or bounce since approval, or the frequency cap."""
    rule = decision.reasons[0]
    if decision.action == "suppress":
        return f"suppressed at send time: {rule.rule}"
    if decision.action == "wait" and _is_frequency_cap(rule.rule, playbook):
        until = f" until {decision.wait_until:%Y-%m-%d %H:%M} UTC" if decision.wait_until else ""
        return f"frequency cap at send time: {rule.rule}{until}"
    return None


def _is_frequency_cap(rule_id: str, playbook: Playbook) -> bool:
    rule = next((r for r in playbook.action_rules if r.id == rule_id), None)
    return bool(rule and rule.when.event and TOUCH in rule.when.event.signals)


def deliver(
    ctx: AgentContext,
    config: RunnableConfig,
    state: AgentState,
    lead: Lead,
    email: OutgoingEmail,
    approval_id: str,
) -> dict[str, Any]:
    """Hands the claimed send to the mail server and records how it ended (also the way a
    person's re-send goes out: agent/resend.py)."""
    from agent.tools.email import SendOutcomeUnknown, SendRefused

    try:
        ctx.sender.send(build_message(email))
    except SendRefused as exc:  # refused before acceptance: nothing went out
        finish_send(ctx.db, approval_id, status="failed", at=ctx.clock(), reason=str(exc))
        return finish(ctx, config, dict(state), "send_failed", str(exc))
    except SendOutcomeUnknown as exc:
        finish_send(ctx.db, approval_id, status="needs_check", at=ctx.clock(), reason=str(exc))
        _record_touch(ctx, state, lead.id, approval_id, uncertain=True)
        return finish(ctx, config, dict(state), "needs_check", str(exc))
    ctx.after_send(approval_id)
    finish_send(ctx.db, approval_id, status="sent", at=ctx.clock())
    _record_touch(ctx, state, lead.id, approval_id)
    return finish(ctx, config, dict(state), "sent", f"sent as {email.message_id}")


def _after_interruption(
    ctx: AgentContext, config: RunnableConfig, state: AgentState, status: str, approval_id: str
) -> dict[str, Any]:
    if status == "sending":
        # The process stopped after claiming the send: the SMTP server may have accepted it.
        reason = "interrupted during sending: check the mail server log before sending again"
        finish_send(ctx.db, approval_id, status="needs_check", at=ctx.clock(), reason=reason)
        _record_touch(ctx, state, state["lead_id"], approval_id, uncertain=True)
        return finish(ctx, config, dict(state), "needs_check", reason)
    if status == "scheduled":  # the node re-ran after the schedule was written: it stands
        row = get_send(ctx.db, approval_id)
        assert row is not None and row.scheduled_for is not None  # what "scheduled" means
        # the touch may not have been written before the stop (ingesting it twice stores one)
        _record_touch(ctx, state, state["lead_id"], approval_id, scheduled_for=row.scheduled_for)
        if ctx.scheduled_sends is not None:
            ctx.scheduled_sends.schedule_send(approval_id, row.scheduled_for)
        detail = scheduled_detail(row.scheduled_for, ZoneInfo(row.send_zone or "UTC"))
        return finish(ctx, config, dict(state), "scheduled", detail)
    return finish(ctx, config, dict(state), status, f"already {status}; not sent again")


def _record_touch(
    ctx: AgentContext,
    state: AgentState,
    lead_id: str,
    approval_id: str,
    *,
    uncertain: bool = False,
    scheduled_for: datetime | None = None,
) -> None:
    record_touch(
        ctx,
        lead_id,
        approval_id,
        cited_asset_ids=state["draft"]["cited_asset_ids"],
        topic=(state["decision"].get("content") or {}).get("topic"),
        uncertain=uncertain,
        scheduled_for=scheduled_for,
    )


def touch_id(approval_id: str) -> str:
    """The id of the timeline event a send of this approval records (one per approval)."""
    return f"sent-{approval_id}"


def record_touch(
    ctx: AgentContext,
    lead_id: str,
    approval_id: str,
    *,
    cited_asset_ids: list[str],
    topic: str | None,
    uncertain: bool = False,
    scheduled_for: datetime | None = None,
) -> None:
    """Puts the send on the timeline so the frequency cap counts it. A send that may have gone
    out (the outcome is unknown) counts too: better one email too few than one too many. So
    does one waiting for the window (`scheduled_for`), from the moment it was scheduled; it
    moves to when it went out, or goes when it is cancelled (agent/scheduled_sends.py)."""
    asset = ctx.assets.get(cited_asset_ids[0]) if cited_asset_ids else None
    properties = {
        "asset": asset.id if asset else None,
        "message_id": message_id_for(approval_id),
        "uncertain": uncertain or None,
        "scheduled_for": scheduled_for.isoformat() if scheduled_for else None,
        "asset_kind": asset.meta.kind if asset else None,
        "topic": topic,
        "url": asset.meta.url if asset else None,
    }
    ingest_events(
        ctx.db,
        [
            {
                "id": touch_id(approval_id),
                "lead_id": lead_id,
                "type": TOUCH,
                "occurred_at": ctx.clock().isoformat(),
                "properties": {k: v for k, v in properties.items() if v},
            }
        ],
        ctx.playbook,
        now=ctx.clock(),
    )
