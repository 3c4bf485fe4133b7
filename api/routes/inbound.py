"""Inbound replies: SendGrid Inbound Parse (multipart form) and Postmark's inbound JSON.

A reply is matched to the email of ours it answers (In-Reply-To, then References, against our
Message-IDs; else the lead with the sender's address), stored as an `email_reply` event with
its new text (the quoted history stripped), and the lead's run starts at once: the default
playbook's `handoff.replied` hands it to a person with the reply quoted, and nurture pauses.
An auto-reply (out of office and the like) is recognised and does neither.

Authentication: NURTURE_INBOUND_SECRET, as the password of HTTP basic auth (put it in the URL
you give the provider: https://any:SECRET@host/v1/inbound/postmark) or as the last path segment
(/v1/inbound/sendgrid/SECRET). Without it these routes are 404; a wrong or missing secret 401."""

from __future__ import annotations

import hmac
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from agent.jobs.drafts import accept_draft
from agent.mailfeedback.replies import InboundReply, from_postmark, from_sendgrid
from agent.store.runs import DraftRefused
from api.deps import StateDep, client_address
from api.routes.mail_events import raw_body, record_and_redecide
from api.schemas import errors
from api.state import ServiceState

router = APIRouter(prefix="/v1/inbound", tags=["mail feedback"])
basic = HTTPBasic(auto_error=False)
Credentials = Annotated[HTTPBasicCredentials | None, Depends(basic)]


def check_secret(state: ServiceState, request: Request, given: str | None) -> None:
    configured = state.settings.inbound_secret
    if configured is None:
        raise HTTPException(404, "inbound replies are off: set NURTURE_INBOUND_SECRET")
    expected = configured.get_secret_value().encode()
    if given is None or not hmac.compare_digest(given.encode(), expected):
        # a shared secret can be guessed like a key: wrong ones count towards the same limit
        state.auth_failures.failed(client_address(request), "")
        raise HTTPException(
            401,
            "the inbound secret is missing or wrong (basic auth password or last path "
            "segment); nothing was recorded",
            headers={"WWW-Authenticate": 'Basic realm="nurture inbound"'},
        )


def by_basic_auth(state: StateDep, request: Request, credentials: Credentials) -> None:
    check_secret(state, request, credentials.password if credentials else None)


def by_path(state: StateDep, request: Request, secret: str) -> None:
    check_secret(state, request, secret)


async def form_fields(request: Request) -> dict[str, str]:
    """The text fields of the form (attachments are files: not read here)."""
    form = await request.form()
    return {name: value for name, value in form.items() if isinstance(value, str)}


BasicAuthenticated = Annotated[None, Depends(by_basic_auth)]
PathAuthenticated = Annotated[None, Depends(by_path)]
RawBody = Annotated[bytes, Depends(raw_body)]
Form = Annotated[dict[str, str], Depends(form_fields)]
INBOUND_ERRORS = errors(400, 401, 404, 429)
INBOUND_ERRORS[401]["description"] = "The inbound secret is missing or wrong; nothing recorded"
INBOUND_ERRORS[404]["description"] = "Inbound replies are off: NURTURE_INBOUND_SECRET is not set"


@router.post("/postmark", responses=INBOUND_ERRORS)
def postmark(state: StateDep, _: BasicAuthenticated, body: RawBody) -> dict[str, Any]:
    """Postmark inbound webhook (JSON), authenticated by basic auth."""
    return _postmark(state, body)


@router.post("/postmark/{secret}", include_in_schema=False)
def postmark_secret_in_path(state: StateDep, _: PathAuthenticated, body: RawBody) -> dict[str, Any]:
    return _postmark(state, body)


@router.post("/sendgrid", responses=INBOUND_ERRORS)
def sendgrid(state: StateDep, _: BasicAuthenticated, form: Form) -> dict[str, Any]:
    """SendGrid Inbound Parse (multipart form; parsed or raw), authenticated by basic auth."""
    return _handle(state, from_sendgrid(form, now=state.agent.ctx.clock()))


@router.post("/sendgrid/{secret}", include_in_schema=False)
def sendgrid_secret_in_path(state: StateDep, _: PathAuthenticated, form: Form) -> dict[str, Any]:
    return _handle(state, from_sendgrid(form, now=state.agent.ctx.clock()))


def _postmark(state: ServiceState, body: bytes) -> dict[str, Any]:
    try:
        parsed = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, f"the body is not readable JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise HTTPException(400, "the body must be Postmark's inbound JSON object")
    return _handle(state, from_postmark(parsed, now=state.agent.ctx.clock()))


def _handle(state: ServiceState, reply: InboundReply) -> dict[str, Any]:
    auto = reply.auto_reply()
    if auto is not None:
        return {"status": "auto_reply", "reason": f"an auto-reply ({auto}): nothing recorded"}
    recorded = record_and_redecide(state, [reply.as_event()])[0]
    answer: dict[str, Any] = {**recorded.as_dict(), "text": reply.text}
    if recorded.status == "stored" and recorded.lead_id:
        answer["run"] = _start_run(state, recorded.lead_id)
    return answer


def _start_run(state: ServiceState, lead_id: str) -> dict[str, str]:
    """The lead's run decides again now: the playbook says what a reply means (by default, a
    hand-off to a person)."""
    try:
        thread_id = accept_draft(state.agent, lead_id)
    except DraftRefused as exc:
        return {"status": "not_started", "reason": str(exc)}
    state.jobs.submit_draft(thread_id, lead_id)
    return {"status": "queued", "thread_id": thread_id, "status_url": f"/v1/runs/{thread_id}"}
