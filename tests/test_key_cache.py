"""The service trusts a verified API key for NURTURE_API_KEY_CACHE_SECONDS, then reads it again:
a key revoked through the CLI stops working within that time."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from agent.store.api_keys import create_key, split_key
from api.main import create_app
from tests.test_cli import run
from tests.utils.agent_world import DANA, World, drafted

TTL = 1.0


def test_a_revoked_key_stops_working_within_the_cache_time(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    drafted(world)
    key = create_key(world.agent.ctx.db, name="rep-1", role="rep", at=datetime.now(UTC))
    parts = split_key(key)
    assert parts is not None
    settings = world.settings.model_copy(update={"api_key_cache_seconds": TTL})
    monkeypatch.setenv("NURTURE_DATABASE_URL", str(settings.database_url))
    headers = {"Authorization": f"Bearer {key}"}
    path = f"/v1/leads/{DANA['id']}/next"
    with TestClient(create_app(settings)) as client:
        assert client.get(path, headers=headers).status_code == 200
        revoked_at = time.monotonic()
        assert run(monkeypatch, capsys, "keys", "revoke", parts[0])[0] == 0
        # within the cache time the key was verified a moment ago, and is not read again
        assert client.get(path, headers=headers).status_code == 200
        assert time.monotonic() - revoked_at < TTL, "the machine was too slow to tell"
        time.sleep(TTL - (time.monotonic() - revoked_at) + 0.1)
        refused = client.get(path, headers=headers)
        assert refused.status_code == 401, refused.text
        # a wrong key is never cached: it is refused at once, and every time
        wrong = {"Authorization": f"Bearer nk_{parts[0]}_not-the-secret"}
        assert client.get(path, headers=wrong).status_code == 401


def test_a_cache_time_of_zero_reads_the_key_every_time(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    drafted(world)
    key = create_key(world.agent.ctx.db, name="rep-1", role="rep", at=datetime.now(UTC))
    parts = split_key(key)
    assert parts is not None
    settings = world.settings.model_copy(update={"api_key_cache_seconds": 0})
    monkeypatch.setenv("NURTURE_DATABASE_URL", str(settings.database_url))
    headers = {"Authorization": f"Bearer {key}"}
    path = f"/v1/leads/{DANA['id']}/next"
    with TestClient(create_app(settings)) as client:
        assert client.get(path, headers=headers).status_code == 200
        assert run(monkeypatch, capsys, "keys", "revoke", parts[0])[0] == 0
        assert client.get(path, headers=headers).status_code == 401
