"""A bounded schemathesis run over the whole /v1 API against the real service (uvicorn on
127.0.0.1, admin key so every route is reached past its gate): no 5xx, and every response
matches the OpenAPI schema (status, content type, body)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from agent.store.api_keys import create_key
from api.main import create_app
from tests.utils.agent_world import World, drafted
from tests.utils.serve import serve

schema = schemathesis.openapi.from_dict(create_app().openapi())
# CI runs a bounded number per operation; a deeper run: NURTURE_FUZZ_EXAMPLES=200
EXAMPLES = int(os.environ.get("NURTURE_FUZZ_EXAMPLES", "25"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def running(world: World) -> Iterator[tuple[str, str]]:
    drafted(world)
    from datetime import UTC, datetime

    key = create_key(world.agent.ctx.db, name="fuzz", role="admin", at=datetime.now(UTC))
    with serve(create_app(world.settings)) as url:
        yield url, key


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    derandomize=True,  # the same examples every run: CI stays reproducible
)
def test_api_matches_its_schema(case: schemathesis.Case, running: tuple[str, str]) -> None:
    url, key = running
    case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {key}"}, checks=CHECKS)
