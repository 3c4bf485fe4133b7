"""Engine and sessions for the configured database, and schema upgrades through Alembic."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from agent.errors import NurtureError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


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

    def dispose(self) -> None:
        self.engine.dispose()


def _engine(url: str, dialect: str) -> Engine:
    # Timelines decode one JSON object per event; orjson does it several times faster.
    kwargs: dict[str, Any] = {
        "json_deserializer": orjson.loads,
        # a backstop behind input validation: refuse to write JSON that cannot be read back
        "json_serializer": _strict_json,
    }
    if dialect == "sqlite":
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(url, **kwargs)
    if dialect == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


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
