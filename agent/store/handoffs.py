"""Hand-offs to sales, one row per run that handed a lead over, with the delivery of its
webhook (status, attempts, last error, when delivered)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from agent.store.database import Database
from agent.store.schema import HandoffRow
from agent.store.upsert import insert_ignoring_duplicates

UNSETTLED = ("queued", "retrying")
"""Deliveries still to be attempted."""


def record_handoff(
    db: Database,
    *,
    handoff_id: str,
    lead_id: str,
    rule: str,
    reason: str,
    payload: dict[str, Any],
    webhook_status: str,
    at: datetime,
) -> None:
    """Records the hand-off; a second call for the same id changes nothing (a node re-runs
    when a graph resumes)."""
    with db.session() as session:
        insert_ignoring_duplicates(
            session,
            HandoffRow,
            [
                {
                    "id": handoff_id,
                    "lead_id": lead_id,
                    "rule": rule,
                    "reason": reason,
                    "payload": payload,
                    "webhook_status": webhook_status,
                    "webhook_error": None,
                    "attempts": 0,
                    "created_at": at,
                }
            ],
        )


def get_handoff(db: Database, handoff_id: str) -> HandoffRow | None:
    with db.session() as session:
        return session.get(HandoffRow, handoff_id)


def record_attempt(
    db: Database,
    handoff_id: str,
    *,
    status: str,
    error: str | None,
    attempts: int,
    at: datetime,
) -> None:
    """What `attempts` requests came to: delivered, retrying or failed, with the last error
    (an error of None keeps the one recorded before)."""
    values: dict[str, Any] = {"webhook_status": status, "attempts": HandoffRow.attempts + attempts}
    if error is not None:
        values["webhook_error"] = error[:2000]
    if status == "delivered":
        values["delivered_at"] = at
    with db.session() as session:
        session.execute(
            update(HandoffRow)
            .where(HandoffRow.id == handoff_id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )


def unsettled_handoffs(db: Database, limit: int = 10_000) -> list[str]:
    """Hand-offs whose delivery is not over, oldest first (for an executor starting again)."""
    with db.session() as session:
        query = select(HandoffRow.id).where(HandoffRow.webhook_status.in_(UNSETTLED))
        return list(session.scalars(query.order_by(HandoffRow.created_at).limit(limit)))
