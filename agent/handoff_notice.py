"""Telling sales about a hand-off: the email to the assigned rep when no webhook is configured,
and the Slack-compatible webhook body (NURTURE_HANDOFF_WEBHOOK_FORMAT=slack)."""

from __future__ import annotations

import logging
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, formataddr
from typing import Any

from agent.context import AgentContext
from agent.store.handoffs import get_handoff, mark_delivered
from agent.tools.email import SendError

log = logging.getLogger(__name__)


def summary(payload: dict[str, Any]) -> str:
    """One line a rep reads first: who, why, how hot."""
    who = payload.get("lead_name") or payload.get("lead_email") or payload.get("lead_id")
    company = f" ({payload['company']})" if payload.get("company") else ""
    return f"{who}{company}: {payload.get('reason', '')} (score {payload.get('score', '?')})"


def slack_body(payload: dict[str, Any]) -> dict[str, Any]:
    """An incoming-webhook message Slack (and Mattermost, Rocket.Chat, Teams' Slack bridge)
    shows as is; the hand-off id stays in the body so a receiver can still deduplicate."""
    rep = payload.get("assigned_to") or "no rep assigned"
    text = f"New hand-off for {rep}: {summary(payload)}"
    return {
        "text": text,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        "handoff_id": payload.get("handoff_id"),
    }


def email_rep(ctx: AgentContext, handoff_id: str) -> bool:
    """Emails the assigned rep through the configured sender (SMTP, or the outbox folder) and
    marks the hand-off delivered. False when there is no rep or the send failed (the hand-off
    still waits in the list, state new)."""
    row = get_handoff(ctx.db, handoff_id)
    if row is None or row.assigned_to is None or row.payload is None:
        return False
    if row.state != "new":
        return True  # told already (the node runs again when a graph resumes): no second email
    message = _message(ctx, handoff_id, row.assigned_to, row.payload, ctx.clock())
    try:
        ctx.sender.send(message)
    except SendError as exc:
        log.warning("hand-off %s: emailing %s failed: %s", handoff_id, row.assigned_to, exc)
        return False
    mark_delivered(ctx.db, handoff_id, how=f"emailed {row.assigned_to}", at=ctx.clock())
    return True


def _message(
    ctx: AgentContext, handoff_id: str, to: str, payload: dict[str, Any], now: datetime
) -> EmailMessage:
    settings = ctx.settings
    message = EmailMessage()
    message["From"] = formataddr((settings.from_name, settings.from_address))
    message["To"] = to
    message["Subject"] = f"Hand-off: {summary(payload)}"[:150]
    message["Date"] = format_datetime(now)
    message["Message-ID"] = f"<{handoff_id}@nurture.local>"
    hours = ctx.playbook.handoffs.accept_within_hours
    message.set_content(
        "\n".join(
            [
                "A lead is yours to follow up:",
                "",
                f"  Lead:   {payload.get('lead_name') or ''} <{payload.get('lead_email', '')}>",
                f"  Company: {payload.get('company') or ''}",
                f"  Why:    {payload.get('rule')}: {payload.get('reason')}",
                f"  Score:  {payload.get('score')} (stage {payload.get('stage')})",
                *_committee(payload),
                "",
                f"Please accept it within {hours:g} hours, or recycle it to nurture with a reason:",
                f"  nurture handoffs accept {handoff_id}",
                f"  nurture handoffs recycle {handoff_id} --reason '...'",
                "or on the inbox's Hand-offs tab (/inbox/handoffs).",
            ]
        )
        + "\n"
    )
    return message


def _committee(payload: dict[str, Any]) -> list[str]:
    """The account's buying committee, one contact a line, when the account was handed over."""
    if not payload.get("account"):
        return []
    return [
        f"  Account: {payload['account']}, engaged contacts:",
        *(
            f"    - {c.get('name') or c.get('lead_id')} ({c.get('role')}, score {c.get('score')})"
            for c in payload.get("account_contacts") or ()
        ),
    ]
