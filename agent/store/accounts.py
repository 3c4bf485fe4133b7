"""An account as the store holds it: its contacts with their roles, scores and stages, its score
and stage (agent/account_score.py), and its recent events across every contact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from agent.account_roles import Role, role_of
from agent.account_score import AccountStanding, ContactStanding, account_standing
from agent.playbook.models import Playbook, Stage
from agent.store.account_context import OPEN_STATES
from agent.store.database import Database
from agent.store.leads import row_to_lead
from agent.store.schema import EventRow, HandoffRow, LeadDecisionRow, LeadRow, LeadScoreRow
from agent.timeline import Lead

TIMELINE_LIMIT = 100
CONTACT_LIMIT = 500  # an account page lists a committee, not a whole company's staff


@dataclass(frozen=True, slots=True)
class Contact:
    lead: Lead
    role: Role
    standing: ContactStanding


@dataclass(frozen=True, slots=True)
class AccountEvent:
    lead_id: str
    lead_name: str | None
    event_id: str
    type: str
    occurred_at: datetime
    signal: str | None
    properties: dict[str, Any]


@dataclass(frozen=True, slots=True)
class AccountHandoff:
    """The account's hand-off sales holds (new, delivered, accepted), else its latest."""

    id: str
    lead_id: str
    rule: str
    state: str
    webhook_status: str
    created_at: datetime
    assigned_to: str | None


@dataclass(frozen=True, slots=True)
class Account:
    id: str
    contacts: list[Contact]
    standing: AccountStanding
    timeline: list[AccountEvent]
    handoff: AccountHandoff | None = None
    """None: no contact of the account was ever handed to sales."""


def load_account(
    db: Database, account_id: str, playbook: Playbook, now: datetime
) -> Account | None:
    """None when no lead belongs to the account. Contacts best-scored first. A contact's
    engagement is its latest engaging signal (playbook.engaging_signals), as the account
    hand-off counts it."""
    engaging = playbook.engaging_signals()
    last_event = (
        select(
            EventRow.lead_id,
            func.max(EventRow.occurred_at).label("last_at"),
            func.max(case((EventRow.signal.in_(engaging), EventRow.occurred_at))).label(
                "engaged_at"
            ),
        )
        .where(EventRow.occurred_at <= now)
        .group_by(EventRow.lead_id)
        .subquery()
    )
    with db.session() as session:
        rows = session.execute(
            select(
                LeadRow,
                LeadScoreRow.total,
                LeadDecisionRow,
                last_event.c.last_at,
                last_event.c.engaged_at,
            )
            .outerjoin(LeadScoreRow, LeadScoreRow.lead_id == LeadRow.id)
            .outerjoin(LeadDecisionRow, LeadDecisionRow.lead_id == LeadRow.id)
            .outerjoin(last_event, last_event.c.lead_id == LeadRow.id)
            .where(LeadRow.account == account_id)
            .order_by(LeadRow.id)
            .limit(CONTACT_LIMIT)
        ).all()
        if not rows:
            return None
        contacts = [_contact(*row) for row in rows]
        names = {c.lead.id: c.lead.name for c in contacts}
        events = session.execute(
            select(EventRow)
            .where(EventRow.lead_id.in_(names), EventRow.occurred_at <= now)
            .order_by(EventRow.occurred_at.desc(), EventRow.id)
            .limit(TIMELINE_LIMIT)
        ).scalars()
        timeline = [
            AccountEvent(
                e.lead_id, names[e.lead_id], e.id, e.type, e.occurred_at, e.signal, e.properties
            )
            for e in events
        ]
        handoff = _handoff(session, list(names))
    contacts.sort(key=lambda c: (-(c.standing.score or 0.0), c.lead.id))
    standing = account_standing([c.standing for c in contacts], playbook.accounts, now)
    return Account(account_id, contacts, standing, timeline, handoff)


def _handoff(session: Session, lead_ids: list[str]) -> AccountHandoff | None:
    held = case((HandoffRow.state.in_(OPEN_STATES), 0), else_=1)
    row = session.scalars(
        select(HandoffRow)
        .where(HandoffRow.lead_id.in_(lead_ids))
        .order_by(held, HandoffRow.created_at.desc(), HandoffRow.id)
        .limit(1)
    ).first()
    if row is None:
        return None
    return AccountHandoff(
        row.id,
        row.lead_id,
        row.rule,
        row.state,
        row.webhook_status,
        row.created_at,
        row.assigned_to,
    )


def _contact(
    row: LeadRow,
    scored: float | None,
    decision: LeadDecisionRow | None,
    last_at: datetime | None,
    engaged_at: datetime | None,
) -> Contact:
    lead = row_to_lead(row)
    # the latest re-score (`nurture scores`) else the latest decision's score
    score = scored if scored is not None else (decision.total if decision else None)
    stage = cast(Stage, decision.stage) if decision else None
    standing = ContactStanding(score, stage, _aware(last_at), _aware(engaged_at))
    return Contact(lead, role_of(lead), standing)


def _aware(moment: datetime | None) -> datetime | None:
    # a MAX() over the column comes back without the column type's UTC conversion on SQLite
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)
