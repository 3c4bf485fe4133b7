"""The hand-offs as sales sees them (the inbox tab, GET /v1/handoffs, `nurture handoffs`):
who, why, the evidence, the score, since when it waits, the rep, the state, and whether it is
past the playbook's acceptance SLA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from agent.handoff_states import overdue
from agent.store.database import Database
from agent.store.handoffs import count_waiting_since_before, list_handoffs
from agent.store.schema import HandoffChangeRow

EVIDENCE = " — evidence: "
"""How a decision's reason text joins the rule's explanation and its evidence."""


@dataclass(frozen=True, slots=True)
class HandoffView:
    id: str
    lead_id: str
    lead_name: str | None
    lead_email: str
    company: str | None
    rule: str
    why: str
    evidence: str | None
    score: float | None
    stage: str | None
    state: str
    assigned_to: str | None
    assigned_key_id: str | None
    waiting_since: datetime
    state_changed_at: datetime | None
    overdue: bool
    webhook_status: str
    changes: list[HandoffChangeRow]
    account: str | None = None
    """The account handed over (accounts.handoff), as the payload the rep got names it."""
    account_contacts: tuple[dict[str, Any], ...] = ()
    """Its engaged contacts then: lead_id, name, role, score."""


def board(
    db: Database,
    *,
    now: datetime,
    sla_hours: float,
    state: str | None = None,
    rep: str | None = None,
    handoff_id: str | None = None,
    limit: int = 500,
) -> list[HandoffView]:
    """Hand-offs, longest waiting first; `rep` is a rep's key id or email address."""
    listed = list_handoffs(db, state=state, rep=rep, handoff_id=handoff_id, limit=limit)
    views = []
    for item in listed:
        row, lead = item.row, item.lead
        why, _, evidence = row.reason.partition(EVIDENCE)
        payload = row.payload or {}
        score = payload.get("score")
        views.append(
            HandoffView(
                id=row.id,
                lead_id=row.lead_id,
                lead_name=lead.name,
                lead_email=lead.email,
                company=lead.company,
                rule=row.rule,
                why=why,
                evidence=evidence or None,
                score=float(score) if isinstance(score, int | float) else None,
                stage=payload.get("stage"),
                state=row.state,
                assigned_to=row.assigned_to,
                assigned_key_id=row.assigned_key_id,
                waiting_since=row.created_at,
                state_changed_at=row.state_changed_at,
                overdue=overdue(row.state, row.created_at, now, sla_hours),
                webhook_status=row.webhook_status,
                changes=item.changes,
                account=payload.get("account"),
                account_contacts=tuple(payload.get("account_contacts") or ()),
            )
        )
    return views


def overdue_count(db: Database, *, now: datetime, sla_hours: float) -> int:
    """Hand-offs waiting for acceptance longer than the SLA (the /metrics gauge)."""
    return count_waiting_since_before(db, now - timedelta(hours=sla_hours))
