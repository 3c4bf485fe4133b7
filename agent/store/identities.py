"""Segment identities: which lead an anonymousId or userId stands for, and the events that
arrived before anyone said (kept in `pending_events` until an identify or alias links them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import delete, func, or_, select, update

from agent.store.database import Database
from agent.store.schema import EventRow, IdentityLinkRow, LeadRow, PendingEventRow
from agent.store.upsert import insert_ignoring_duplicates, upsert

IdKind = Literal["anonymous", "user"]


def linked_lead(db: Database, kind: IdKind, value: str) -> str | None:
    with db.session() as session:
        return session.scalar(
            select(IdentityLinkRow.lead_id).where(
                IdentityLinkRow.kind == kind, IdentityLinkRow.value == value
            )
        )


def lead_exists(db: Database, lead_id: str) -> bool:
    with db.session() as session:
        return session.get(LeadRow, lead_id) is not None


def link(db: Database, lead_id: str, ids: Iterable[tuple[IdKind, str]], at: datetime) -> None:
    """Links each id to the lead; an id linked before now names this lead (the newest identify
    wins, as on a shared computer)."""
    rows = [
        {"kind": kind, "value": value[:200], "lead_id": lead_id, "linked_at": at}
        for kind, value in dict.fromkeys(ids)
    ]
    if rows:
        with db.session() as session:
            upsert(session, IdentityLinkRow, rows)


def is_stored_event(db: Database, event_id: str) -> bool:
    with db.session() as session:
        return session.get(EventRow, event_id) is not None


def keep_pending(db: Database, event: dict[str, Any]) -> None:
    """Keeps an event whose lead is not known yet (the same id twice is kept once)."""
    with db.session() as session:
        insert_ignoring_duplicates(session, PendingEventRow, [event])


def pending_for(
    db: Database, anonymous_ids: Iterable[str], user_ids: Iterable[str]
) -> list[PendingEventRow]:
    anonymous, users = [*set(anonymous_ids)], [*set(user_ids)]
    if not anonymous and not users:
        return []
    query = (
        select(PendingEventRow)
        .where(or_(PendingEventRow.anonymous_id.in_(anonymous), PendingEventRow.user_id.in_(users)))
        .order_by(PendingEventRow.occurred_at, PendingEventRow.id)
    )
    with db.session() as session:
        return list(session.scalars(query))


def hand_pending_to(db: Database, previous: str, user_id: str) -> int:
    """Events kept under `previous` (an anonymousId or userId) now wait for `user_id`: an alias
    said they are the same person before any lead was known. Returns how many."""
    with db.session() as session:
        moved = session.execute(
            update(PendingEventRow)
            .where(
                or_(PendingEventRow.anonymous_id == previous, PendingEventRow.user_id == previous)
            )
            .values(user_id=user_id[:200])
        )
        return int(getattr(moved, "rowcount", 0) or 0)


def forget_pending(db: Database, event_ids: Iterable[str]) -> None:
    ids = [*event_ids]
    if ids:
        with db.session() as session:
            session.execute(delete(PendingEventRow).where(PendingEventRow.id.in_(ids)))


def pending_count(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(PendingEventRow)) or 0
