"""GET /v1/experiments: the playbook's experiments with their numbers per variant, the test and
its p-value, and the verdict, as the store holds them; a key is needed."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from agent.store.api_keys import ROLES, create_key
from agent.store.playbooks import activate_playbook
from api.main import create_app
from tests.test_experiments import NOW, SUBJECTS, _event, _sent, with_experiments
from tests.utils.agent_world import World
from tests.utils.service import Service


@pytest.fixture
def service(world: World) -> Iterator[Service]:
    """The service with a playbook in force that runs the subject-style experiment."""
    ctx, now = world.agent.ctx, datetime.now(UTC)
    text = re.sub(r"(?m)^version: .*$", "version: with-experiments", with_experiments(SUBJECTS))
    ctx.playbook = activate_playbook(ctx.db, text, by="test", at=now)
    keys: dict[str, str] = {
        role: create_key(ctx.db, name=f"{role}-1", role=role, at=now) for role in ROLES
    }
    with TestClient(create_app(world.settings)) as client:
        yield Service(client, world, "", keys)


def test_the_experiments_show_their_variants_and_verdict(service: Service) -> None:
    ctx = service.world.agent.ctx
    for i in range(3):
        _sent(ctx.db, ctx.playbook, f"T{i}", "topic", NOW + timedelta(minutes=i))
        _sent(ctx.db, ctx.playbook, f"Q{i}", "question", NOW + timedelta(minutes=i))
    _event(ctx.db, ctx.playbook, "Q0", "email_click", NOW + timedelta(hours=2))
    answer = service.call("GET", "/v1/experiments", "marketer")
    assert answer.status_code == 200, answer.text
    [experiment] = answer.json()["experiments"]
    assert experiment["element"] == "subject_style"
    clicks = {v["variant"]: (v["leads"], v["clicks"]) for v in experiment["variants"]}
    assert clicks == {"topic": (3, 0), "question": (3, 1)}
    assert experiment["verdict"]["status"] == "no_difference"  # 3 per variant: the minimum
    assert experiment["verdict"]["metric"] == "reply"


def test_without_a_key_the_experiments_are_refused(service: Service) -> None:
    assert service.call("GET", "/v1/experiments", None).status_code == 401


def test_the_experiments_page_shows_the_rates_and_verdict(service: Service) -> None:
    ctx = service.world.agent.ctx
    for i in range(3):
        _sent(ctx.db, ctx.playbook, f"T{i}", "topic", NOW + timedelta(minutes=i))
        _sent(ctx.db, ctx.playbook, f"Q{i}", "question", NOW + timedelta(minutes=i))
    _event(ctx.db, ctx.playbook, "Q0", "email_reply", NOW + timedelta(hours=2))
    login = service.client.post("/login", data={"key": service.keys["marketer"]})
    assert login.status_code == 200, login.text
    page = service.client.get("/experiments")
    assert page.status_code == 200, page.text
    assert 'data-experiment-id="subject-question"' in page.text
    assert "1 (33.3%)" in page.text  # one of the three question leads replied
    assert "no difference" in page.text and "fisher_exact" in page.text
