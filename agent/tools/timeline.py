"""Reads a lead and its event timeline from the store, as of any moment (for replay): every raw
event (`load_timeline`, for whoever shows or filters them), or only what deciding needs
(`load_signals`)."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import Select, literal_column, or_, select

from agent.errors import NurtureError
from agent.playbook import Playbook, fingerprint
from agent.store.database import Database
from agent.store.leads import row_to_lead
from agent.store.schema import EventRow, LeadRow
from agent.timeline import Event, Lead, SignalEvent, Timeline, classify

_COLUMNS = (
    EventRow.id,
    EventRow.lead_id,
    EventRow.type,
    EventRow.occurred_at,
    EventRow.properties,
    EventRow.signal,
    EventRow.points,
    EventRow.derived_by,
)


def load_timeline(
    db: Database, lead_id: str, *, until: datetime, playbook: Playbook | None = None
) -> tuple[Lead, list[Event]]:
    """The lead and every event that had occurred by `until`. Raises when the lead is unknown.

    With `playbook`, events keep the signal and points the store derived with that very playbook,
    so deciding does not classify them again."""
    current = fingerprint(playbook) if playbook is not None else None
    with db.session() as session:
        row = session.get(LeadRow, lead_id)
        if row is None:
            raise NurtureError(f"no lead with id '{lead_id}'")
        rows = (
            session.connection()
            .execute(  # Core rows: no ORM loading machinery
                select(*_COLUMNS)
                .where(EventRow.lead_id == lead_id, EventRow.occurred_at <= until)
                .order_by(EventRow.occurred_at)
            )
            .all()
        )
        return row_to_lead(row), _events(rows, current)


def load_timelines(
    db: Database, lead_ids: Collection[str], *, until: datetime, playbook: Playbook | None = None
) -> dict[str, tuple[Lead, list[Event]]]:
    """`load_timeline` for many leads in two queries a chunk of ids; unknown ids are left out."""
    current = fingerprint(playbook) if playbook is not None else None
    ids = sorted(set(lead_ids))
    found: dict[str, tuple[Lead, list[Event]]] = {}
    with db.session() as session:
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            leads = session.scalars(select(LeadRow).where(LeadRow.id.in_(chunk))).all()
            rows = (
                session.connection()
                .execute(
                    select(*_COLUMNS)
                    .where(EventRow.lead_id.in_(chunk), EventRow.occurred_at <= until)
                    .order_by(EventRow.occurred_at)
                )
                .all()
            )
            by_lead: dict[str, list[Any]] = {}
            for event_row in rows:
                by_lead.setdefault(event_row[1], []).append(event_row)
            for lead in leads:
                found[lead.id] = (row_to_lead(lead), _events(by_lead.get(lead.id, []), current))
    return found


_CHUNK = 500  # ids per IN list: well inside every database's limit on bound parameters


def _events(rows: Sequence[Any], current: str | None) -> list[Event]:
    return [
        Event(id_, lead, type_, at, props, signal, points)
        if derived_by == current
        else Event(id_, lead, type_, at, props)
        for id_, lead, type_, at, props, signal, points, derived_by in rows
    ]


_SIGNAL_COLUMNS = (
    EventRow.id,
    EventRow.type,
    EventRow.occurred_at,
    EventRow.properties,
    EventRow.signal,
    EventRow.points,
    EventRow.derived_by,
)


def load_signals(
    db: Database, lead_id: str, *, until: datetime, playbook: Playbook
) -> tuple[Lead, Timeline]:
    """The lead and its timeline as of `until`, read for deciding: no event this playbook
    already found to be no signal, no lead id per row, straight into the timeline's signals
    (store ids are unique: nothing to drop). `decide` takes the Timeline as it is. Raises when
    the lead is unknown."""
    current = fingerprint(playbook)
    counts = or_(
        EventRow.signal.is_not(None),
        EventRow.derived_by.is_(None),
        EventRow.derived_by != current,  # derived by another playbook: classified again here
    )
    with db.session() as session:
        row = session.get(LeadRow, lead_id)
        if row is None:
            raise NurtureError(f"no lead with id '{lead_id}'")
        query = select(*_SIGNAL_COLUMNS).where(EventRow.occurred_at <= until, counts)
        rows = session.connection().execute(_of_lead(query, lead_id, db.dialect)).all()
        return row_to_lead(row), Timeline.of_signals(_signals(rows, current, playbook))


def _of_lead(query: Select[Any], lead_id: str, dialect: str) -> Select[Any]:
    """The lead's rows in time order, read as cheaply as the database can.

    SQLite walking the index in time order fetches each row from wherever it lies in the file:
    for a lead with 100,000 events that cost 154x one with 1,000 (raw query, CPU time).
    Finding the row ids through the index, reading the rows in table order and sorting them
    in SQLite cost 96x. PostgreSQL plans its own heap access."""
    if dialect != "sqlite":
        return query.where(EventRow.lead_id == lead_id).order_by(EventRow.occurred_at)
    rowids: Select[Any] = (
        select(literal_column("rowid")).select_from(EventRow).where(EventRow.lead_id == lead_id)
    )
    return query.where(literal_column("events.rowid").in_(rowids)).order_by(
        EventRow.occurred_at, EventRow.id
    )


def _signals(rows: Sequence[Any], current: str, playbook: Playbook) -> list[SignalEvent]:
    signals: list[SignalEvent] = []
    keep = signals.append
    for id_, type_, at, props, signal, points, derived_by in rows:
        if derived_by != current:
            signal, points = classify(type_, props, playbook), None
            if signal is None:
                continue
        keep(SignalEvent(id_, signal, at, props, points))
    # ties in time go by id as the timeline orders them, here: PostgreSQL's collation may
    # order ids otherwise (the rows come in time order, so this pass costs little)
    signals.sort(key=_TIMELINE_ORDER)
    return signals


_TIMELINE_ORDER = attrgetter("occurred_at", "event_id")
