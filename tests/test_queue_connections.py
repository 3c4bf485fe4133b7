"""How the job queue talks to PostgreSQL. Every procrastinate query is one statement (a
function call), so its pool connections run in autocommit: no BEGIN and COMMIT round trips
around each defer, fetch and finish. An enqueue is committed durably (the API has answered 202
for it); a worker's own bookkeeping (fetch, finish, heartbeats) commits asynchronously. A
connection the server dropped is still replaced before it is handed out."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import cast

import psycopg
import pytest
from procrastinate import App

from agent.jobs.queue import QueueExecutor, libpq_url, new_app, worker_app
from agent.runner import NurtureAgent
from agent.settings import Settings
from agent.store import Database
from tests.conftest import POSTGRES_URL

pytestmark = pytest.mark.postgres


@pytest.fixture
def settings(postgres_url: str, tmp_path: Path) -> Settings:
    Database(postgres_url).migrate()
    return Settings(database_url=postgres_url, data_dir=tmp_path)


def _worker_app(settings: Settings) -> App:
    """A worker's app; its jobs are not run here, so the agent they would use is a stand-in."""
    agent = cast(NurtureAgent, SimpleNamespace(ctx=SimpleNamespace()))
    return worker_app(agent, settings)


async def _setting(app: App, name: str) -> str:
    row = await app.connector.execute_query_one_async(f"SELECT current_setting('{name}') AS value")
    return str(row["value"])


async def _autocommit(app: App) -> bool:
    async with app.connector.pool.connection() as connection:  # type: ignore[attr-defined]
        return bool(connection.autocommit)


def test_the_queue_runs_its_statements_in_autocommit(settings: Settings) -> None:
    async def both() -> tuple[bool, bool]:
        enqueuing, working = new_app(settings), _worker_app(settings)
        async with enqueuing.open_async(), working.open_async():
            return await _autocommit(enqueuing), await _autocommit(working)

    assert asyncio.run(both()) == (True, True)

    executor = QueueExecutor(settings)  # the API's: opened synchronously
    executor.start()
    try:
        pool = executor._app.connector.get_sync_connector().pool  # type: ignore[attr-defined]
        with pool.connection() as connection:
            assert connection.autocommit
    finally:
        executor.stop()


def test_an_enqueue_is_durable_and_a_workers_bookkeeping_commits_asynchronously(
    settings: Settings,
) -> None:
    async def both() -> tuple[str, str]:
        enqueuing, working = new_app(settings), _worker_app(settings)
        async with enqueuing.open_async(), working.open_async():
            return (
                await _setting(enqueuing, "synchronous_commit"),
                await _setting(working, "synchronous_commit"),
            )

    assert asyncio.run(both()) == ("on", "off")


@pytest.fixture
def own_database(tmp_path: Path) -> Iterator[str]:
    """A database of this test's own: it ends every other session on it."""
    if not POSTGRES_URL:
        pytest.skip("needs NURTURE_TEST_DATABASE_URL")
    from tests.utils.replicas import fresh_postgres

    with fresh_postgres(POSTGRES_URL) as url:
        Database(url).migrate()
        yield url


def test_a_connection_the_server_dropped_is_replaced_before_use(
    own_database: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("agent.jobs.connections.CHECK_AFTER_IDLE_SECONDS", 0.2)
    settings = Settings(database_url=own_database, data_dir=tmp_path)

    async def after_the_server_drops_them() -> str:
        app = new_app(settings)
        async with app.open_async():
            assert await _setting(app, "synchronous_commit") == "on"
            with psycopg.connect(libpq_url(settings), autocommit=True) as admin:
                ended = admin.execute(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
            assert ended is not None and ended[0] >= 1
            await asyncio.sleep(0.5)  # idle longer than the check's threshold
            return await _setting(app, "synchronous_commit")

    assert asyncio.run(after_the_server_drops_them()) == "on"
