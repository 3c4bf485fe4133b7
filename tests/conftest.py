"""Shared fixtures: the default playbook, and a migrated database on SQLite and PostgreSQL."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator

import pytest
from sqlalchemy import text

from agent.playbook import Playbook, load_playbook
from agent.settings import DEFAULT_PLAYBOOK
from agent.store import Database

# Shared servers on 127.0.0.1: a real SMTP server, and a scripted OpenAI-compatible endpoint.
pytest_plugins = [
    "tests.utils.smtp",
    "tests.utils.fake_openai",
    "tests.utils.agent_world",
    "tests.utils.service",
]

POSTGRES_URL = os.environ.get("NURTURE_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def playbook() -> Playbook:
    return load_playbook(DEFAULT_PLAYBOOK)


@pytest.fixture(autouse=True)
def _isolated_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """No test reads the developer's own NURTURE_* settings or writes into the working tree."""
    for name in list(os.environ):
        if name.startswith("NURTURE_") and name != "NURTURE_TEST_DATABASE_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("NURTURE_DATA_DIR", str(tmp_path_factory.mktemp("nurture-data")))


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection beyond this machine fails the test that tried it."""
    real_connect = socket.socket.connect

    def guarded(sock: socket.socket, address: object) -> None:
        host = address[0] if isinstance(address, tuple) else address
        if isinstance(host, str) and sock.family in (socket.AF_INET, socket.AF_INET6):
            if not ipaddress.ip_address(host.split("%")[0]).is_loopback:
                raise AssertionError(f"test tried to reach the network: {address!r}")
        real_connect(sock, address)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throw-away PostgreSQL database on the server NURTURE_TEST_DATABASE_URL names."""
    if not POSTGRES_URL:
        pytest.skip(
            "PostgreSQL tests need NURTURE_TEST_DATABASE_URL "
            "(e.g. postgresql+psycopg://postgres@127.0.0.1:5432/postgres)"
        )
    # imported here: at module level it would import tests.utils.smtp before pytest registers it
    # as a plugin, and its asserts would not be rewritten
    from tests.utils.replicas import fresh_postgres

    with fresh_postgres(POSTGRES_URL) as url:
        yield url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db(request: pytest.FixtureRequest, tmp_path) -> Iterator[Database]:  # noqa: ANN001
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'nurture.db'}")
        database.migrate()
        yield database
        database.dispose()
        return
    url = request.getfixturevalue("postgres_url")
    database = Database(url)
    database.migrate()
    with database.engine.begin() as conn:
        # tables with no foreign key to leads are not reached by CASCADE: named too
        conn.execute(
            text("TRUNCATE lead_scores, events, leads, pending_events, ingest_rejections CASCADE")
        )
    yield database
    database.dispose()
