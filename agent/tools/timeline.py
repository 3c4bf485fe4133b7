"""Reads a lead and its event timeline from the store, as of any moment (for replay): every raw
event (`load_timeline`, for whoever shows or filters them), or only what deciding needs
(`load_signals`)."""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from itertools import pairwise
from operator import attrgetter
from typing import Any, cast

import orjson
from sqlalchemy import ColumnElement, Connection, Select, literal_column, or_, select, true

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
    with db.session() as session:
        row = session.get(LeadRow, lead_id)
        if row is None:
            raise NurtureError(f"no lead with id '{lead_id}'")
        query = select(*_SIGNAL_COLUMNS).where(EventRow.occurred_at <= until, _may_count({current}))
        raw = _raw_rows(session.connection(), _of_lead(query, lead_id, db.dialect))
        signals = _signals(_decoded(raw, db.dialect), current, playbook)
        return row_to_lead(row), Timeline.of_signals(signals)


def load_signal_timelines(
    db: Database, lead_ids: Collection[str], *, until: datetime, playbooks: Sequence[Playbook]
) -> dict[str, tuple[Lead, list[Timeline]]]:
    """`load_signals` for many leads, with one timeline per playbook from a single read: each
    row is fetched and parsed once, then read by every playbook (the store's derived signal where
    that playbook derived it, classified again where not). Unknown ids are left out."""
    stamps = [fingerprint(p) for p in playbooks]
    ids = sorted(set(lead_ids))
    found: dict[str, tuple[Lead, list[Timeline]]] = {}
    with db.session() as session:
        conn = session.connection()
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            leads = conn.execute(select(*_LEAD_COLUMNS).where(LeadRow.id.in_(chunk))).all()
            query = select(EventRow.lead_id, *_SIGNAL_COLUMNS).where(
                EventRow.lead_id.in_(chunk), EventRow.occurred_at <= until, _may_count(set(stamps))
            )
            in_order = _in_time_order(query.order_by(EventRow.lead_id), db.dialect)
            by_lead = _signals_by_lead(_raw_rows(conn, in_order), db.dialect, stamps, playbooks)
            for lead in leads:
                signals = by_lead.get(lead.id) or [[] for _ in playbooks]
                for each in signals:
                    _keep_timeline_order(each)
                found[lead.id] = (_lead_of(lead), [Timeline.of_signals(s) for s in signals])
    return found


_LEAD_COLUMNS = (
    LeadRow.id,
    LeadRow.email,
    LeadRow.name,
    LeadRow.company,
    LeadRow.attributes,
    LeadRow.do_not_contact,
    LeadRow.owner,
)


def _lead_of(row: Any) -> Lead:
    return Lead(*row)


def _may_count(stamps: set[str]) -> ColumnElement[bool]:
    """Rows some of these playbooks may read as a signal. Only a row the one playbook asked
    about already derived as no signal is left out: with several, it may be another's signal."""
    if len(stamps) != 1:
        return true()
    (stamp,) = stamps
    return or_(
        EventRow.signal.is_not(None),
        EventRow.derived_by.is_(None),
        EventRow.derived_by != stamp,  # derived by another playbook: classified again here
    )


def _of_lead(query: Select[Any], lead_id: str, dialect: str) -> Select[Any]:
    """The lead's rows in time order, read as cheaply as the database can.

    SQLite walking the index in time order fetches each row from wherever it lies in the file:
    for a lead with 100,000 events that cost 154x one with 1,000 (raw query, CPU time).
    Finding the row ids through the index, reading the rows in table order and sorting them
    in SQLite cost 96x. PostgreSQL plans its own heap access."""
    if dialect != "sqlite":
        return _in_time_order(query.where(EventRow.lead_id == lead_id), dialect)
    rowids: Select[Any] = (
        select(literal_column("rowid")).select_from(EventRow).where(EventRow.lead_id == lead_id)
    )
    return _in_time_order(query.where(literal_column("events.rowid").in_(rowids)), dialect)


def _in_time_order(query: Select[Any], dialect: str) -> Select[Any]:
    """Ordered as the timeline orders its signals: by time, ties by id compared code point by
    code point (SQLite's binary collation does; PostgreSQL's default collation may not, "C"
    does), so the rows need no sort in Python."""
    event_id = EventRow.id if dialect == "sqlite" else EventRow.id.collate("C")
    return query.order_by(EventRow.occurred_at, event_id)


def _raw_rows(conn: Connection, query: Select[Any]) -> Iterator[tuple[Any, ...]]:
    """The query's rows straight from the driver's cursor, one at a time: SQLAlchemy binds the
    parameters, but builds no Row object per row and no list of all of them (a 100,000-event
    timeline made ~15 objects per event for the collector to walk; issue #13). The values are
    the driver's own: _decoded turns them into what the timeline holds."""
    result = conn.execute(query)
    try:
        yield from cast(Iterable[tuple[Any, ...]], result.cursor)  # the DBAPI cursor iterates
    finally:
        result.close()


_Decoded = tuple[str, str, datetime, Mapping[str, Any], str | None, float | None, str | None]
"""(id, type, occurred_at, properties, signal, points, derived_by) as the timeline reads them."""


def _decoded(rows: Iterable[Sequence[Any]], dialect: str) -> Iterator[_Decoded]:
    """Driver values made the timeline's: SQLite gives UTC time and JSON as text (the formats
    agent/store/schema.py writes); psycopg gives aware times and decoded JSON (with the
    engine's orjson), whose zone may be the session's."""
    if dialect == "sqlite":
        parse, loads = datetime.fromisoformat, orjson.loads
        for id_, type_, at, props, signal, points, derived_by in rows:
            yield (
                id_,
                type_,
                parse(at + "+00:00"),
                {} if props is None else loads(props),
                signal,
                points,
                derived_by,
            )
        return
    for id_, type_, at, props, signal, points, derived_by in rows:
        yield (
            id_,
            type_,
            at.astimezone(UTC),
            {} if props is None else props,
            signal,
            points,
            derived_by,
        )


def _signals_by_lead(
    rows: Iterable[Sequence[Any]], dialect: str, stamps: list[str], playbooks: Sequence[Playbook]
) -> dict[str, list[list[SignalEvent]]]:
    """Each lead's signals as each playbook reads them, from rows of (lead id, then the
    _SIGNAL_COLUMNS), in one pass: a row is parsed once whatever the number of playbooks (the
    preview reads 2,000,000 rows; a generator or a list per row there cost seconds)."""
    sqlite = dialect == "sqlite"
    parse, loads = datetime.fromisoformat, orjson.loads
    readers = list(zip(stamps, playbooks, strict=True))
    found: dict[str, list[list[SignalEvent]]] = {}
    for lead_id, id_, type_, at, props, stored, stored_points, derived_by in rows:
        if sqlite:
            at, props = parse(at + "+00:00"), {} if props is None else loads(props)
        else:
            at, props = at.astimezone(UTC), {} if props is None else props
        lists = found.get(lead_id)
        if lists is None:
            lists = found[lead_id] = [[] for _ in readers]
        for signals, (stamp, playbook) in zip(lists, readers, strict=True):
            if derived_by == stamp:
                signal, points = stored, stored_points
            else:  # derived by another playbook, or by none yet: classified here
                signal, points = classify(type_, props, playbook), None
            if signal is not None:
                signals.append(SignalEvent(id_, signal, at, props, points))
    return found


def _signals(rows: Iterable[_Decoded], current: str, playbook: Playbook) -> list[SignalEvent]:
    signals: list[SignalEvent] = []
    keep = signals.append
    for id_, type_, at, props, signal, points, derived_by in rows:
        if derived_by != current:
            signal, points = classify(type_, props, playbook), None
            if signal is None:
                continue
        elif signal is None:
            continue  # this playbook derived it: no signal
        keep(SignalEvent(id_, signal, at, props, points))
    _keep_timeline_order(signals)
    return signals


def _keep_timeline_order(signals: list[SignalEvent]) -> None:
    """Sorts by (time, id) only if the rows came otherwise (e.g. times written by hand in
    another text format): a check that allocates nothing, where a sort would build a key per
    event."""
    for earlier, later in pairwise(signals):
        if later.occurred_at < earlier.occurred_at or (
            later.occurred_at == earlier.occurred_at and later.event_id < earlier.event_id
        ):
            signals.sort(key=_TIMELINE_ORDER)
            return


_TIMELINE_ORDER = attrgetter("occurred_at", "event_id")
