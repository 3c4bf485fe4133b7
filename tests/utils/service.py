"""The running service for API tests: the app on the agent test world, with a draft waiting
and a key for every role (fixture: service)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from agent.store.api_keys import ROLES, create_key
from api.main import create_app
from tests.utils.agent_world import World, drafted


@dataclass
class Service:
    client: TestClient
    world: World
    approval_id: str
    keys: dict[str, str]

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}

    def call(self, method: str, path: str, role: str | None, **kwargs: Any) -> Any:
        headers = self.as_(role) if role else {}
        return self.client.request(method, path, headers=headers, **kwargs)

    def wait_for_run(self, status_url: str, role: str = "rep", timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.call("GET", status_url, role).json()
            if body["status"] not in ("queued", "running", "started"):
                return body
            time.sleep(0.05)
        raise AssertionError(f"run {status_url} still going after {timeout} s")


@pytest.fixture
def service(world: World) -> Iterator[Service]:
    approval_id = drafted(world)
    now = datetime.now(UTC)
    keys: dict[str, str] = {
        role: create_key(world.agent.ctx.db, name=f"{role}-1", role=role, at=now) for role in ROLES
    }
    with TestClient(create_app(world.settings)) as client:
        yield Service(client, world, approval_id, keys)
