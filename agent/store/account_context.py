"""What the account-level hand-off needs to know about a lead's account, read in one query:
each contact's score, last lead activity within the rule's days, whether it is suppressed, and
its hand-offs still open or last ended (agent/account_handoff.py decides with it)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, func, select, update

from agent.account_handoff import AccountContext, EngagedContact, best_first
from agent.account_roles import role_of
from agent.accounts import account_of
from agent.playbook import Playbook
from agent.store.database import Database
from agent.store.leads import row_to_lead
from agent.store.schema import EventRow, HandoffRow, LeadDecisionRow, LeadRow, LeadScoreRow
from agent.timeline import Lead

OPEN_STATES = ("new", "delivered", "accepted")
"""A hand-off sales still holds: the account is with sales."""
ENDED_STATES = ("recycled", "closed")
"""Sales gave it back or finished it: only activity after that counts towards the next one."""
CONTACT_LIMIT = 500


def load_account_context(
    db: Database,
    lead: Lead,
    playbook: Playbook,
    now: datetime,
    *,
    scores: Mapping[str, float] | None = None,
) -> AccountContext | None:
    """None without a rule (accounts.handoff unset) or an account (free mail, no account_id):
    then no query is made. `scores`: fresher scores than the recorded ones, by lead id (a batch
    decided but not yet recorded)."""
    rule = playbook.accounts.handoff
    account = account_of(lead)
    if rule is None or account is None:
        return None
    activity = playbook.engaging_signals()
    since = now - timedelta(days=rule.within_days)
    last_activity = (
        select(func.max(EventRow.occurred_at))
        .where(
            EventRow.lead_id == LeadRow.id,
            EventRow.signal.in_(activity),
            EventRow.occurred_at >= since,
            EventRow.occurred_at <= now,
        )
        .scalar_subquery()
    )
    open_handoff = (
        select(HandoffRow.id)
        .where(HandoffRow.lead_id == LeadRow.id, HandoffRow.state.in_(OPEN_STATES))
        .order_by(HandoffRow.created_at, HandoffRow.id)
        .limit(1)
        .scalar_subquery()
    )
    last_ended = (
        select(func.max(HandoffRow.state_changed_at))
        .where(HandoffRow.lead_id == LeadRow.id, HandoffRow.state.in_(ENDED_STATES))
        .scalar_subquery()
    )
    query = (
        select(
            LeadRow,
            func.coalesce(LeadScoreRow.total, LeadDecisionRow.total),
            LeadDecisionRow.action,
            last_activity,
            open_handoff,
            last_ended,
        )
        .outerjoin(LeadScoreRow, LeadScoreRow.lead_id == LeadRow.id)
        .outerjoin(LeadDecisionRow, LeadDecisionRow.lead_id == LeadRow.id)
        .where(LeadRow.account == account)
        .order_by(LeadRow.id)
        .limit(CONTACT_LIMIT)
    )
    with db.session() as session:
        rows = session.execute(query).all()
    ended = max((_aware(r[5]) for r in rows if r[5] is not None), default=None)
    opened = sorted(r[4] for r in rows if r[4] is not None)
    fresh = scores or {}
    engaged = [
        _engaged(row, fresh.get(row.id, score), activity_at)
        for row, score, action, activity_at, _open, _ended in rows
        if activity_at is not None
        and action != "suppress"
        and (ended is None or _aware(activity_at) > ended)
    ]
    return AccountContext(
        account_id=account,
        engaged=best_first(engaged),
        needed=rule.engaged_contacts,
        within_days=rule.within_days,
        open_handoff=opened[0] if opened else None,
    )


def _engaged(row: LeadRow, score: float | None, activity_at: datetime) -> EngagedContact:
    lead = row_to_lead(row)
    return EngagedContact(
        lead_id=row.id,
        name=row.name,
        role=role_of(lead),
        score=round(score or 0.0, 2),
        last_activity_at=_aware(activity_at),
        owner=row.owner,
    )


def _aware(moment: datetime) -> datetime:
    # a MAX() over the column comes back without the column type's UTC conversion on SQLite
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def release_account_holds(db: Database, lead_id: str, now: datetime) -> int:
    """After a hand-off of `lead_id` ends (recycled or closed): the contacts of its account that
    were held from nurture (with_sales) become `nurture run` candidates again, as an ended wait
    does, so the next run decides them afresh. Returns how many."""
    account = select(LeadRow.account).where(LeadRow.id == lead_id).scalar_subquery()
    contacts = select(LeadRow.id).where(LeadRow.account == account, LeadRow.account.is_not(None))
    with db.session() as session:
        moved = session.execute(
            update(LeadDecisionRow)
            .where(
                LeadDecisionRow.lead_id.in_(contacts),
                LeadDecisionRow.action == "with_sales",
            )
            .values(wait_until=now)
            .execution_options(synchronize_session=False)
        )
        return int(cast(CursorResult[Any], moved).rowcount or 0)
