"""Hand-offs to sales, one row per run that handed a lead over."""

from __future__ import annotations

from datetime import datetime

from agent.store.database import Database
from agent.store.schema import HandoffRow
from agent.store.upsert import insert_ignoring_duplicates


def record_handoff(
    db: Database,
    *,
    handoff_id: str,
    lead_id: str,
    rule: str,
    reason: str,
    webhook_status: str,
    webhook_error: str | None,
    at: datetime,
) -> None:
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
                    "webhook_status": webhook_status,
                    "webhook_error": webhook_error,
                    "created_at": at,
                }
            ],
        )
