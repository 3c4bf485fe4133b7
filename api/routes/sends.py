"""Acting on a send after the agent let go of it: sending a safely failed one again, and
resolving an uncertain one (the mail server's verdict never came), cancelling one that waits
for the send window. The marketer's, like
approving; recorded with who, when and how it ended. (Listing sends is in approvals.py.)"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from agent.resend import NoSuchSend, ResendRefused, mark_delivered, send_again
from agent.scheduled_sends import CancelRefused, cancel_send
from agent.store.api_keys import Principal
from agent.store.sends import get_send, send_history
from api.convert import send_out
from api.deps import StateDep, require
from api.schemas import AUTH_ERRORS, SendOut, SendResolution, errors

router = APIRouter(prefix="/v1", tags=["sends"], responses=AUTH_ERRORS)

Sender = Annotated[Principal, Depends(require("marketer"))]


@router.post("/sends/{approval_id:id}/retry", response_model=SendOut, responses=errors(404, 409))
def retry(approval_id: str, state: StateDep, principal: Sender) -> SendOut:
    """Sends again an email whose send failed safely (status `failed`: the mail server never
    took it), with its original Message-ID. The send-time checks run again: an unsubscribe
    since the failure blocks it. 409 for any other status; an uncertain send (`needs_check`)
    is resolved at `/resolution`. The answer's `status` says how the new attempt ended."""
    ctx = state.agent.ctx
    with _refusals():
        send_again(ctx, approval_id, by=principal.name)
    return _send(state, approval_id)


@router.post(
    "/sends/{approval_id:id}/resolution", response_model=SendOut, responses=errors(400, 404, 409)
)
def resolve(approval_id: str, body: SendResolution, state: StateDep, principal: Sender) -> SendOut:
    """Resolves an uncertain send (`needs_check`) after checking the mail server's log:
    `delivered` marks it sent (nothing goes out), `send_again` sends it with the same
    Message-ID. 409 unless the send is `needs_check`."""
    ctx = state.agent.ctx
    with _refusals():
        if body.resolution == "delivered":
            mark_delivered(ctx, approval_id, by=principal.name)
        else:
            send_again(ctx, approval_id, by=principal.name, resolving=True)
    return _send(state, approval_id)


@router.post("/sends/{approval_id:id}/cancel", response_model=SendOut, responses=errors(404, 409))
def cancel(approval_id: str, state: StateDep, principal: Sender) -> SendOut:
    """Cancels an email waiting for the playbook's send window (status `scheduled`): it never
    goes out, it no longer counts as a touch, and the lead may get a new draft. Audited. 409
    once it has gone out (or was cancelled)."""
    ctx = state.agent.ctx
    with _refusals():
        cancel_send(ctx, approval_id, by=principal.name)
    return _send(state, approval_id)


@contextmanager
def _refusals() -> Iterator[None]:
    try:
        yield
    except NoSuchSend as exc:
        raise HTTPException(404, str(exc)) from exc
    except (ResendRefused, CancelRefused) as exc:
        raise HTTPException(409, str(exc)) from exc


def _send(state: StateDep, approval_id: str) -> SendOut:
    db = state.agent.ctx.db
    row = get_send(db, approval_id)
    assert row is not None  # it was just acted on
    return send_out(row, send_history(db, [approval_id])[approval_id])
