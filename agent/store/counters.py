"""Counters shared by every process: one row per name, incremented by the database in one
statement (INSERT ... ON CONFLICT DO UPDATE ... RETURNING), so concurrent callers on any
replica each get a different value."""

from __future__ import annotations

from agent.store.database import Database
from agent.store.schema import CounterRow
from agent.store.upsert import dialect_insert


def next_value(db: Database, name: str) -> int:
    """The counter's next value: 1 the first time, then 2, 3, ..."""
    with db.session() as session:
        stmt = dialect_insert(session, CounterRow).values(name=name, value=1)
        stmt = stmt.on_conflict_do_update(
            index_elements=["name"], set_={"value": CounterRow.value + 1}
        ).returning(CounterRow.value)
        value: int = session.execute(stmt).scalar_one()
    return value
