"""Engine and sessions for the configured database, and schema upgrades through Alembic.

Every command opens the database migrated, so the up-to-date case is checked with one SELECT
against the head revision read from the migration files; Alembic (~0.4 s to import) loads only
when a migration is due."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, DisconnectionError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection

from agent.errors import NurtureError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
PING_AFTER_IDLE_SECONDS = 2.0
"""A PostgreSQL connection back in the pool this long is pinged before it is handed out."""


class Database:
    """One database: SQLite (a file) or PostgreSQL, chosen by its URL."""

    def __init__(self, url: str) -> None:
        try:
            parsed = make_url(url)
        except ArgumentError as exc:
            raise NurtureError(f"NURTURE_DATABASE_URL is not a database URL: {url!r}") from exc
        self.url = url
        self.dialect = parsed.get_backend_name()
        if self.dialect == "sqlite" and parsed.database not in (None, "", ":memory:"):
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = _engine(url, self.dialect)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session whose work is committed as one transaction, or rolled back on error."""
        with self._sessions() as session, session.begin():
            yield session

    def migrate(self) -> None:
        """Brings the schema to the newest version, keeping the data."""
        head = head_revision()
        if head is not None and self.schema_revision() == head:
            return
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        try:
            with self.engine.begin() as connection:
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise NurtureError(
                f"cannot reach the database at {_safe(self.url)}: {exc.orig}"
            ) from exc

    def schema_revision(self) -> str | None:
        """The revision the schema is at; None when it has none (or cannot be read)."""
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        except DBAPIError:  # no table yet, or no database: `migrate` then says which
            return None
        return rows[0][0] if len(rows) == 1 else None

    def dispose(self) -> None:
        self.engine.dispose()


_REVISION = re.compile(r"^revision\b[^=]*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\b[^=]*=\s*[\"']([^\"']+)[\"']", re.MULTILINE)


@cache
def head_revision() -> str | None:
    """The newest revision in migrations/versions, read from the files' `revision` and
    `down_revision` lines without importing Alembic; None unless exactly one revision is
    nobody's parent (then Alembic decides)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        source = path.read_text(encoding="utf-8")
        revisions.update(_REVISION.findall(source))
        parents.update(_DOWN.findall(source))
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _engine(url: str, dialect: str) -> Engine:
    # Timelines decode one JSON object per event; orjson does it several times faster.
    kwargs: dict[str, Any] = {
        "json_deserializer": orjson.loads,
        # a backstop behind input validation: refuse to write JSON that cannot be read back
        "json_serializer": _strict_json,
    }
    if dialect == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    engine = create_engine(url, **kwargs)
    if dialect == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        # not pool_pre_ping: a round trip at every checkout, and a draft run checks out about
        # 16 times. A connection the server dropped (a restart, an idle timeout) has idled
        event.listen(engine, "connect", _checked_in)  # a new connection needs no ping
        event.listen(engine, "checkin", _checked_in)
        event.listen(engine, "checkout", _ping_if_idle)
    return engine


def _checked_in(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
    record.info["checked_in"] = time.monotonic()


def _ping_if_idle(
    dbapi_connection: Any, record: ConnectionPoolEntry, proxy: PoolProxiedConnection
) -> None:
    """SQLAlchemy's pessimistic disconnect handling, for connections that idled: a failed ping
    raises DisconnectionError, and the pool replaces the connection and checks out again."""
    idle = time.monotonic() - record.info.get("checked_in", float("-inf"))
    if idle < PING_AFTER_IDLE_SECONDS:
        return
    dialect = proxy._pool._dialect
    try:
        alive = dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as exc:  # the driver's own error: not wrapped here
        raise DisconnectionError(str(exc)) from exc
    if not alive:
        raise DisconnectionError("the connection did not answer a ping")


def _strict_json(value: Any) -> str:
    return json.dumps(value, allow_nan=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)
