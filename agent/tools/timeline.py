"""Reads a lead and its event timeline from the store, as of any moment (for replay)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from agent.errors import NurtureError
from agent.store.database import Database
from agent.store.leads import row_to_lead
from agent.store.schema import EventRow, LeadRow
from agent.timeline import Event, Lead

_COLUMNS = (EventRow.id, EventRow.lead_id, EventRow.type, EventRow.occurred_at, EventRow.properties)


def load_timeline(db: Database, lead_id: str, *, until: datetime) -> tuple[Lead, list[Event]]:
    """The lead and every event that had occurred by `until`. Raises when the lead is unknown."""
    with db.session() as session:
        row = session.get(LeadRow, lead_id)
        if row is None:
            raise NurtureError(f"no lead with id '{lead_id}'")
        rows = session.execute(
            select(*_COLUMNS)
            .where(EventRow.lead_id == lead_id, EventRow.occurred_at <= until)
            .order_by(EventRow.occurred_at)
        ).all()
        return row_to_lead(row), [Event(*r) for r in rows]
