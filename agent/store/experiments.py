"""What the experiments' results are read from: the sends of drafts that recorded a variant,
and the mail-system events (replies, clicks, unsubscribes) their leads had afterwards."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from agent.store.database import Database
from agent.store.schema import ApprovalRow, EventRow, SendRow

OUTCOME_EVENTS: dict[str, str] = {
    "reply": "email_reply",
    "click": "email_click",
    "unsubscribe": "unsubscribe",
}
"""Outcome name → the event type mail feedback stores it as (agent/mailfeedback/events.py)."""
_CHUNK = 500  # lead ids per IN (…) query: PostgreSQL and SQLite both take it comfortably


@dataclass
class ExposedLead:
    """One lead's part in one experiment: its variant, its first send in that variant, how many
    it got, and which outcomes it had after the first."""

    lead_id: str
    variant: str
    first_sent_at: datetime
    sends: int = 1
    outcomes: set[str] = field(default_factory=set)


def exposed_leads(db: Database) -> dict[str, list[ExposedLead]]:
    """Experiment id → its leads, in the order of their first send. The unit is the lead (the
    variant is assigned per lead), so a second email to the same lead is not a second trial."""
    query = (
        select(ApprovalRow.experiments, SendRow.lead_id, SendRow.finished_at, SendRow.attempted_at)
        .join(SendRow, SendRow.approval_id == ApprovalRow.id)
        .where(SendRow.status == "sent")
    )
    by_experiment: dict[str, dict[str, ExposedLead]] = defaultdict(dict)
    with db.session() as session:
        rows = session.execute(query).all()
    for experiments, lead_id, finished_at, attempted_at in rows:
        sent_at = finished_at or attempted_at
        for experiment_id, variant in (experiments or {}).items():
            leads = by_experiment[experiment_id]
            seen = leads.get(lead_id)
            if seen is None:
                leads[lead_id] = ExposedLead(lead_id, variant, sent_at)
                continue
            seen.sends += 1
            if sent_at < seen.first_sent_at:
                seen.first_sent_at = sent_at
    _add_outcomes(db, [lead for leads in by_experiment.values() for lead in leads.values()])
    return {
        experiment_id: sorted(leads.values(), key=lambda lead: lead.first_sent_at)
        for experiment_id, leads in by_experiment.items()
    }


def _add_outcomes(db: Database, leads: list[ExposedLead]) -> None:
    by_id: dict[str, list[ExposedLead]] = defaultdict(list)
    for lead in leads:
        by_id[lead.lead_id].append(lead)
    names = {event_type: name for name, event_type in OUTCOME_EVENTS.items()}
    ids = list(by_id)
    with db.session() as session:
        for start in range(0, len(ids), _CHUNK):
            query = select(EventRow.lead_id, EventRow.type, EventRow.occurred_at).where(
                EventRow.lead_id.in_(ids[start : start + _CHUNK]),
                EventRow.type.in_(list(names)),
            )
            for lead_id, event_type, occurred_at in session.execute(query):
                for lead in by_id[lead_id]:
                    if occurred_at >= lead.first_sent_at:
                        lead.outcomes.add(names[event_type])
