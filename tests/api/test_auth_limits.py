"""Brute-force limits: failed key attempts are counted per client address and per key id,
however the key arrives (bearer, X-API-Key, HTTP Basic, the inbox cookie, the login form);
past the limit the answer is 429 with Retry-After. Valid keys are never slowed. The count lives
in memory, or in Redis when NURTURE_REDIS_URL is set so that replicas share it."""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from agent.settings import Settings
from agent.store.api_keys import create_key
from api.main import create_app
from tests.utils.agent_world import World
from tests.utils.serve import serve

LIMIT = 3
REDIS_URL = os.environ.get("NURTURE_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


def wrong_key(key_id: str | None = None) -> str:
    """A well-formed key that is not stored: a new key id each time unless one is given."""
    return f"nk_{key_id or secrets.token_hex(6)}_{secrets.token_urlsafe(24)}"


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"anyone:{key}".encode()).decode()


WAYS: dict[str, Callable[[str], dict[str, str]]] = {
    "bearer": lambda key: {"Authorization": f"Bearer {key}"},
    "x-api-key": lambda key: {"X-API-Key": key},
    "basic": lambda key: {"Authorization": basic(key)},
    "cookie": lambda key: {"Cookie": f"nurture_key={key}"},
}


def limited(
    settings: Settings, per_address: int = LIMIT, per_key: int = 1000, **more: Any
) -> Settings:
    return settings.model_copy(
        update={
            "auth_failures_per_minute": per_address,
            "auth_failures_per_key_per_minute": per_key,
            **more,
        }
    )


@pytest.fixture
def marketer(world: World) -> str:
    return create_key(world.agent.ctx.db, name="mara", role="marketer", at=datetime.now(UTC))


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    with TestClient(create_app(limited(world.settings))) as client:
        yield client


def assert_too_many(response: Any) -> None:
    assert response.status_code == 429, response.text
    retry_after = response.headers.get("retry-after", "")
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60, retry_after


@pytest.mark.parametrize("way", list(WAYS))
def test_wrong_keys_from_one_address_get_429_after_the_limit(client: TestClient, way: str) -> None:
    for _ in range(LIMIT):
        assert client.get("/v1/leads", headers=WAYS[way](wrong_key())).status_code == 401
    refused = client.get("/v1/leads", headers=WAYS[way](wrong_key()))
    assert_too_many(refused)
    assert "too many failed" in refused.json()["detail"].lower()


def test_wrong_secrets_for_one_key_id_get_429_from_any_address(world: World, marketer: str) -> None:
    key_id = marketer.split("_")[1]
    with TestClient(create_app(limited(world.settings, per_address=1000, per_key=LIMIT))) as client:
        for _ in range(LIMIT):
            assert (
                client.get("/v1/leads", headers=WAYS["bearer"](wrong_key(key_id))).status_code
                == 401
            )
        assert_too_many(client.get("/v1/leads", headers=WAYS["x-api-key"](wrong_key(key_id))))
        # another key id is not locked by this one's failures
        assert client.get("/v1/leads", headers=WAYS["bearer"](wrong_key())).status_code == 401
        # and the real key with that id still works
        assert client.get("/v1/leads", headers=WAYS["bearer"](marketer)).status_code == 200


@pytest.mark.parametrize("way", list(WAYS))
def test_a_valid_key_passes_during_a_lockout(client: TestClient, marketer: str, way: str) -> None:
    for _ in range(LIMIT + 1):
        client.get("/v1/leads", headers=WAYS["bearer"](wrong_key()))
    assert_too_many(client.get("/v1/leads", headers=WAYS["bearer"](wrong_key())))
    for _ in range(2 * LIMIT):
        assert client.get("/v1/leads", headers=WAYS[way](marketer)).status_code == 200
    signed_in = client.post("/login", data={"key": marketer}, follow_redirects=False)
    assert signed_in.status_code == 303
    # the address is still locked for wrong keys
    assert_too_many(client.get("/v1/leads", headers=WAYS["bearer"](wrong_key())))


def test_only_failures_count(client: TestClient, marketer: str) -> None:
    for _ in range(5 * LIMIT):
        assert client.get("/v1/leads", headers=WAYS["bearer"](marketer)).status_code == 200
    for _ in range(LIMIT):
        assert client.get("/v1/leads", headers=WAYS["bearer"](wrong_key())).status_code == 401


def test_the_login_form_answers_a_429_page_after_the_limit(
    client: TestClient, marketer: str
) -> None:
    for _ in range(LIMIT):
        failed = client.post("/login", data={"key": wrong_key()}, follow_redirects=False)
        assert failed.status_code == 401 and "not valid" in failed.text
    refused = client.post("/login", data={"key": "not even a key"}, follow_redirects=False)
    assert_too_many(refused)
    assert "text/html" in refused.headers["content-type"]
    assert "Too many failed sign-ins" in refused.text
    assert "set-cookie" not in refused.headers
    # a page with a stale cookie is refused the same way, not sent round the login loop
    stale = client.get("/inbox", headers=WAYS["cookie"](wrong_key()), follow_redirects=False)
    assert_too_many(stale)
    assert client.post("/login", data={"key": marketer}, follow_redirects=False).status_code == 303


def test_every_key_protected_route_declares_429_with_retry_after() -> None:
    schema = create_app().openapi()
    protected = [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if operation.get("security")
    ]
    assert len(protected) >= 15  # the /v1 routes and /metrics: or this test proves nothing
    for method, path, operation in protected:
        answer = operation["responses"].get("429")
        assert answer, f"{method} {path} does not declare 429"
        assert "Retry-After" in answer.get("headers", {}), f"{method} {path}: no Retry-After"
    schemes = schema["components"]["securitySchemes"].values()
    assert any(s.get("scheme", "").lower() == "basic" for s in schemes)


def _statuses(url: str, forwarded_for: list[str]) -> list[int]:
    with httpx.Client(base_url=url) as http:
        return [
            http.get(
                "/v1/leads",
                headers={**WAYS["bearer"](wrong_key()), "X-Forwarded-For": address},
            ).status_code
            for address in forwarded_for
        ]


def test_x_forwarded_for_is_ignored_without_trusted_proxies(world: World) -> None:
    from cli.serve_cmd import uvicorn_options

    settings = limited(world.settings)
    with serve(create_app(settings), **uvicorn_options(settings)) as url:
        addresses = [f"203.0.113.{n}" for n in range(LIMIT + 1)]
        assert _statuses(url, addresses) == [401] * LIMIT + [429]


def test_trusted_proxies_name_the_client(world: World) -> None:
    from cli.serve_cmd import uvicorn_options

    settings = limited(world.settings, forwarded_allow_ips="127.0.0.1")
    with serve(create_app(settings), **uvicorn_options(settings)) as url:
        locked = _statuses(url, ["203.0.113.1"] * (LIMIT + 1))
        assert locked == [401] * LIMIT + [429]
        assert _statuses(url, ["203.0.113.2"]) == [401]  # another client behind the proxy


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The real Redis on 127.0.0.1:6379 (or NURTURE_TEST_REDIS_URL), its counts cleared."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.skip(f"the shared-count test needs a Redis server at {REDIS_URL} ({exc})")

    def clear() -> None:
        for name in client.scan_iter(match="*nurture-auth*"):
            client.delete(name)

    clear()
    try:
        yield REDIS_URL
    finally:
        clear()
        client.close()


def test_replicas_share_the_count_through_redis(
    world: World, marketer: str, redis_url: str
) -> None:
    settings = limited(world.settings, redis_url=redis_url)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        statuses = [
            c.get("/v1/leads", headers=WAYS["bearer"](wrong_key())) for c in (one, two, one)
        ]
        assert [s.status_code for s in statuses] == [401] * LIMIT
        assert_too_many(two.get("/v1/leads", headers=WAYS["bearer"](wrong_key())))
        assert_too_many(one.get("/v1/leads", headers=WAYS["bearer"](wrong_key())))
        assert two.get("/v1/leads", headers=WAYS["bearer"](marketer)).status_code == 200


def test_without_redis_each_process_counts_alone(world: World) -> None:
    settings = limited(world.settings)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        statuses = [c.get("/v1/leads", headers=WAYS["bearer"](wrong_key())) for c in (one, two) * 2]
        assert [s.status_code for s in statuses] == [401] * 4


def test_an_unreachable_redis_locks_nobody_out(
    world: World, marketer: str, caplog: pytest.LogCaptureFixture
) -> None:
    from tests.utils.smtp import free_port

    settings = limited(world.settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    with TestClient(create_app(settings)) as client:
        statuses = [
            client.get("/v1/leads", headers=WAYS["bearer"](wrong_key())) for _ in range(LIMIT + 1)
        ]
        assert [s.status_code for s in statuses] == [401] * (LIMIT + 1)
        assert client.get("/v1/leads", headers=WAYS["bearer"](marketer)).status_code == 200
    assert "failed sign-ins are not being limited" in caplog.text
