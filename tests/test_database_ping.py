"""The store's PostgreSQL pool asks the server whether a connection is alive only when it has
been idle a while: a draft run opens about 16 sessions, and pinging at each checkout cost as
many extra round trips. A connection the server dropped is still replaced before use."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from agent.store import Database
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.postgres


@pytest.fixture
def database() -> Iterator[Database]:
    """A database of this test's own: one test ends every other session on it."""
    if not POSTGRES_URL:
        pytest.skip("needs NURTURE_TEST_DATABASE_URL")
    from tests.utils.replicas import fresh_postgres

    with fresh_postgres(POSTGRES_URL) as url:
        db = Database(url)
        yield db
        db.dispose()


def _pings(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    seen: list[float] = []
    dialect = db.engine.dialect
    original = dialect.do_ping

    def counting(dbapi_connection: Any) -> bool:
        seen.append(time.monotonic())
        return original(dbapi_connection)

    monkeypatch.setattr(dialect, "do_ping", counting)
    return seen


def _one(db: Database) -> int:
    with db.session() as session:
        return int(session.execute(text("SELECT 1")).scalar_one())


def test_a_connection_in_steady_use_is_not_pinged(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    _one(database)  # the pool's first connection
    pings = _pings(database, monkeypatch)
    for _ in range(10):
        assert _one(database) == 1
    assert pings == []


def test_an_idle_connection_is_pinged_and_a_dropped_one_replaced(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agent.store.database.PING_AFTER_IDLE_SECONDS", 0.2)
    _one(database)
    pings = _pings(database, monkeypatch)
    url = database.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    time.sleep(0.4)
    assert _one(database) == 1
    assert len(pings) == 1
