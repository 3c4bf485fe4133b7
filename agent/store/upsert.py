"""Dialect-aware bulk writes: SQLite and PostgreSQL both speak ON CONFLICT, through different
SQLAlchemy constructs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from agent.store.schema import Base


def _insert(session: Session, model: type[Base]) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return postgresql.insert(model)
    if dialect == "sqlite":
        return sqlite.insert(model)
    raise NotImplementedError(f"no upsert for the {dialect} dialect")


def dialect_insert(session: Session, model: type[Base]) -> Any:
    """The INSERT construct of the session's dialect, which knows ON CONFLICT."""
    return _insert(session, model)


def insert_ignoring_duplicates(
    session: Session, model: type[Base], rows: Sequence[dict[str, Any]]
) -> None:
    """Inserts rows; a row whose primary key exists already is skipped (a concurrent writer won).
    Only the primary key: a row that breaks another unique index (one pending draft per lead)
    raises, where a bare ON CONFLICT DO NOTHING would drop it without a word."""
    if rows:
        keys = [c.name for c in model.__table__.primary_key.columns]  # type: ignore[attr-defined]
        stmt = _insert(session, model).on_conflict_do_nothing(index_elements=keys)
        session.execute(stmt, list(rows))


def upsert(
    session: Session,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    *,
    keep: Sequence[str] = (),
    unless_newer: str | None = None,
) -> None:
    """Inserts rows, or updates every column but the key and `keep` where the key exists;
    with `unless_newer` (a column), a stored row whose value there is later is left alone."""
    if not rows:
        return
    stmt = _insert(session, model)
    keys = [c.name for c in model.__table__.primary_key.columns]  # type: ignore[attr-defined]
    columns = [c for c in rows[0] if c not in keys and c not in keep]
    where = None
    if unless_newer is not None:
        where = getattr(stmt.excluded, unless_newer) >= getattr(model, unless_newer)
    stmt = stmt.on_conflict_do_update(
        index_elements=keys, set_={c: getattr(stmt.excluded, c) for c in columns}, where=where
    )
    session.execute(stmt, list(rows))
