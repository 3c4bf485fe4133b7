"""Bulk re-scoring of every lead inside the database.

The per-lead engine (agent/scoring.py) reads raw events; re-scoring 100,000 leads that way would
move millions of rows through Python. Instead each event row carries the points and half-life the
playbook gives it (derived on ingest, re-derived when the playbook's fingerprint changes), and one
SQL aggregation applies the decay. tests/test_store.py holds the two paths to the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Float, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement, Selectable

from agent.playbook import Playbook, fingerprint
from agent.scoring import fit_score
from agent.store.database import Database
from agent.store.leads import row_to_lead
from agent.store.schema import EventRow, LeadRow, LeadScoreRow, UTCDateTime
from agent.timeline import classify, signal_points

_CHUNK = 5_000
Progress = Callable[[int], None]


class epoch_seconds(FunctionElement[float]):  # noqa: N801 - reads as the SQL function it is
    """Seconds since 1970 for a timestamp column, in each dialect's own words."""

    type = Float()
    inherit_cache = True


@compiles(epoch_seconds, "sqlite")
def _epoch_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    return f"((julianday({compiler.process(element.clauses, **kw)}) - 2440587.5) * 86400.0)"


@compiles(epoch_seconds, "postgresql")
def _epoch_postgresql(element: Any, compiler: Any, **kw: Any) -> str:
    return f"extract(epoch from {compiler.process(element.clauses, **kw)})"


@dataclass(frozen=True, slots=True)
class Stale:
    leads: int
    events: int


def count_stale(db: Database, playbook: Playbook) -> Stale:
    current = fingerprint(playbook)
    with db.session() as session:
        return Stale(
            leads=session.scalar(select(func.count()).where(_stale(LeadRow.derived_by, current)))
            or 0,
            events=session.scalar(select(func.count()).where(_stale(EventRow.derived_by, current)))
            or 0,
        )


def refresh_derived(db: Database, playbook: Playbook, progress: Progress | None = None) -> Stale:
    """Re-derives fit points and event points that an older playbook computed."""
    current = fingerprint(playbook)
    leads = _refresh(
        db,
        LeadRow,
        current,
        lambda row: {"fit_points": fit_score(row_to_lead(row), playbook).points},
        progress,
    )
    events = _refresh(db, EventRow, current, lambda row: _event_derivation(row, playbook), progress)
    return Stale(leads, events)


def rescore_all(db: Database, playbook: Playbook, now: datetime | None = None) -> int:
    """Replaces the score snapshot with every lead's score as of `now`. Returns the lead count."""
    now = now or datetime.now(UTC)
    decay = func.exp(
        (epoch_seconds(EventRow.occurred_at) - bindparam("now_epoch", now.timestamp()))
        * (math.log(2) / 86_400.0)
        / EventRow.half_life_days
    )
    behaviour = (
        select(EventRow.lead_id, func.sum(EventRow.points * decay).label("behaviour"))
        .where(
            EventRow.occurred_at <= bindparam("now", now, type_=UTCDateTime()), EventRow.points > 0
        )
        .group_by(EventRow.lead_id)
        .subquery()
    )
    behaviour_value = func.coalesce(behaviour.c.behaviour, 0.0)
    total = LeadRow.fit_points + behaviour_value
    # typed as what INSERT ... SELECT takes: mypy cannot infer this many-column select's type
    snapshot: Selectable = select(
        LeadRow.id,
        LeadRow.fit_points,
        behaviour_value,
        total,
        total >= playbook.scoring.hot_threshold,
        bindparam("scored_at", now, type_=UTCDateTime()),
        bindparam("version", playbook.version),
    ).select_from(LeadRow.__table__.outerjoin(behaviour, behaviour.c.lead_id == LeadRow.id))
    columns = ["lead_id", "attribute", "behaviour", "total", "hot", "scored_at", "playbook_version"]
    with db.session() as session:
        session.execute(delete(LeadScoreRow))
        session.execute(insert(LeadScoreRow).from_select(columns, snapshot))
        # rowcount of INSERT ... SELECT is not reported by every driver (psycopg gives -1)
        return session.scalar(select(func.count()).select_from(LeadScoreRow)) or 0


@dataclass(frozen=True, slots=True)
class HotLead:
    lead_id: str
    name: str | None
    company: str | None
    attribute: float
    behaviour: float
    total: float


def hot_leads(db: Database, *, limit: int | None = None) -> list[HotLead]:
    query = (
        select(
            LeadScoreRow.lead_id,
            LeadRow.name,
            LeadRow.company,
            LeadScoreRow.attribute,
            LeadScoreRow.behaviour,
            LeadScoreRow.total,
        )
        .join(LeadRow, LeadRow.id == LeadScoreRow.lead_id)
        .where(LeadScoreRow.hot.is_(True))
        .order_by(LeadScoreRow.total.desc(), LeadScoreRow.lead_id)
        .limit(limit)
    )
    with db.session() as session:
        return [HotLead(*row) for row in session.execute(query)]


def _stale(column: Any, current: str) -> Any:
    return or_(column.is_(None), column != current)


def _refresh(
    db: Database,
    model: Any,
    current: str,
    derive: Callable[[Any], dict[str, Any]],
    progress: Progress | None,
) -> int:
    done = 0
    after = ""  # keyset pagination: each chunk starts where the last ended, no rescans
    while True:
        with db.session() as session:
            rows = session.scalars(
                select(model)
                .where(model.id > after, _stale(model.derived_by, current))
                .order_by(model.id)
                .limit(_CHUNK)
            ).all()
            if not rows:
                return done
            after = rows[-1].id
            changes = [{"_id": row.id, **derive(row), "derived_by": current} for row in rows]
            names = [name for name in changes[0] if name != "_id"]
            session.connection().execute(
                update(model.__table__)
                .where(model.__table__.c.id == bindparam("_id"))
                .values({name: bindparam(name) for name in names}),
                changes,
            )
        done += len(rows)
        if progress:
            progress(len(rows))


def _event_derivation(row: EventRow, playbook: Playbook) -> dict[str, Any]:
    signal = classify(row.type, row.properties, playbook)
    if signal is None:  # this playbook no longer knows the event: it scores nothing
        return {"signal": None, "points": 0.0, "half_life_days": playbook.scoring.half_life_days}
    return {
        "signal": signal,
        "points": signal_points(signal, row.properties, playbook),
        "half_life_days": playbook.half_life(signal),
    }
