"""Mail-system event webhooks: SendGrid's Event Webhook (ECDSA-signed), Mailgun's webhooks
(HMAC) and a generic JSON format (HMAC of the body) for any other sender.

No API key: the provider's signature is the credential. A request that is unsigned or
mis-signed is 401 and changes nothing; a route whose key is not configured is 404 naming the
setting. Events are stored on the timeline of the lead whose send they are about (the
Message-ID), else the lead with that address; the same provider event posted twice is stored
once. The response lists every event's fate."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request

from agent.mailfeedback.events import MailEvent, Recorded, record_mail_events
from agent.mailfeedback.providers import Parsed, generic_events, mailgun_events, sendgrid_events
from agent.mailfeedback.signatures import (
    GENERIC_SIGNATURE,
    SENDGRID_SIGNATURE,
    SENDGRID_TIMESTAMP,
    generic_problem,
    mailgun_problem,
    sendgrid_problem,
)
from api.deps import StateDep
from api.schemas import errors
from api.state import ServiceState

router = APIRouter(prefix="/v1/webhooks", tags=["mail feedback"])
SIGNED_ERRORS = errors(400, 401, 404)
SIGNED_ERRORS[401]["description"] = "Unsigned or mis-signed: nothing was recorded"
SIGNED_ERRORS[404]["description"] = "This webhook is off: its key is not set"


async def raw_body(request: Request) -> bytes:
    """The bytes exactly as signed: signatures are over them, not over re-encoded JSON."""
    return await request.body()


Body = Annotated[bytes, Depends(raw_body)]


@router.post("/sendgrid", responses=SIGNED_ERRORS)
def sendgrid(
    state: StateDep,
    body: Body,
    signature: Annotated[str | None, Header(alias=SENDGRID_SIGNATURE)] = None,
    timestamp: Annotated[str | None, Header(alias=SENDGRID_TIMESTAMP)] = None,
) -> dict[str, Any]:
    """SendGrid Event Webhook (turn on "Signed Event Webhook"): delivered, bounce, spamreport,
    unsubscribe, group_unsubscribe, open, click; other event types are skipped."""
    key = state.settings.sendgrid_webhook_public_key
    if not key:
        raise _not_configured("NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY")
    _refuse_unless_genuine(sendgrid_problem(key, body, signature, timestamp))
    return _record(state, sendgrid_events(_json(body)))


@router.post("/mailgun", responses=SIGNED_ERRORS)
def mailgun(state: StateDep, body: Body) -> dict[str, Any]:
    """Mailgun webhooks (delivered, failed, complained, unsubscribed, opened, clicked)."""
    key = state.settings.mailgun_signing_key
    if key is None:
        raise _not_configured("NURTURE_MAILGUN_SIGNING_KEY")
    parsed = _json(body, refuse_unreadable=True)
    signature = parsed.get("signature") if isinstance(parsed, dict) else None
    _refuse_unless_genuine(mailgun_problem(key.get_secret_value(), signature))
    assert isinstance(parsed, dict)
    return _record(state, mailgun_events(parsed))


@router.post("/mail", responses=SIGNED_ERRORS)
def generic(
    state: StateDep,
    body: Body,
    signature: Annotated[str | None, Header(alias=GENERIC_SIGNATURE)] = None,
) -> dict[str, Any]:
    """The generic format (README, "Mail-system webhooks"), signed with
    NURTURE_MAIL_WEBHOOK_SECRET: {"events": [{id, type, occurred_at, message_id?, email?,
    hard?, url?, reason?}]}."""
    secret = state.settings.mail_webhook_secret
    if secret is None:
        raise _not_configured("NURTURE_MAIL_WEBHOOK_SECRET")
    _refuse_unless_genuine(generic_problem(secret.get_secret_value(), body, signature))
    return _record(state, generic_events(_json(body)))


def record_and_redecide(state: ServiceState, events: list[MailEvent]) -> list[Recorded]:
    """Stores the events; the leads with new ones are decided again in the background."""
    ctx = state.agent.ctx
    recorded = record_mail_events(ctx.db, ctx.playbook, events, now=ctx.clock())
    stored = {r.lead_id for r in recorded if r.status == "stored" and r.lead_id}
    state.jobs.redecide(stored)
    for r in recorded:
        if r.status in ("stored", "duplicate", "rejected"):
            state.metrics.events.labels(r.status).inc()
    return recorded


def _record(state: ServiceState, parsed: Parsed) -> dict[str, Any]:
    events, skipped = parsed
    results = [*record_and_redecide(state, events), *skipped]
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status] = counts.get(result.status, 0) + 1
    return {"counts": counts, "results": [r.as_dict() for r in results]}


def _json(body: bytes, *, refuse_unreadable: bool = False) -> object:
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        if refuse_unreadable:  # Mailgun's signature is inside the body: unreadable is unsigned
            raise HTTPException(401, "unsigned: the body is not readable JSON") from exc
        raise HTTPException(400, f"the body is not readable JSON: {exc}") from exc


def _refuse_unless_genuine(problem: str | None) -> None:
    if problem is not None:
        raise HTTPException(401, f"{problem}; nothing was recorded")


def _not_configured(setting: str) -> HTTPException:
    return HTTPException(404, f"this webhook is off: set {setting} to receive it")
