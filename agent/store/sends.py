"""Sends as a state machine keyed to the approval: the key to sending exactly once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from agent.store.database import Database
from agent.store.schema import SendRow

FINAL = {"sent", "blocked", "failed", "needs_check"}


def get_send(db: Database, approval_id: str) -> SendRow | None:
    with db.session() as session:
        return session.get(SendRow, approval_id)


def claim_send(
    db: Database,
    *,
    approval_id: str,
    lead_id: str,
    message_id: str,
    to_address: str,
    subject: str,
    body: str,
    at: datetime,
) -> bool:
    """Writes 'sending' before the SMTP conversation. False when a row exists already: someone
    (maybe a crashed earlier attempt) got this far, so this attempt must not send."""
    try:
        with db.session() as session:
            session.add(
                SendRow(
                    approval_id=approval_id,
                    lead_id=lead_id,
                    message_id=message_id,
                    status="sending",
                    to_address=to_address,
                    subject=subject,
                    body=body,
                    attempted_at=at,
                )
            )
        return True
    except IntegrityError:
        return False


def finish_send(
    db: Database, approval_id: str, *, status: str, at: datetime, reason: str | None = None
) -> None:
    with db.session() as session:
        row = session.get(SendRow, approval_id)
        if row is None:
            raise LookupError(approval_id)
        row.status = status
        row.reason = reason
        row.finished_at = at


def record_blocked(
    db: Database,
    *,
    approval_id: str,
    lead_id: str,
    message_id: str,
    to_address: str,
    subject: str,
    body: str,
    at: datetime,
    reason: str,
) -> None:
    if claim_send(
        db,
        approval_id=approval_id,
        lead_id=lead_id,
        message_id=message_id,
        to_address=to_address,
        subject=subject,
        body=body,
        at=at,
    ):
        finish_send(db, approval_id, status="blocked", at=at, reason=reason)
