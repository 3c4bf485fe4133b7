"""NURTURE_HANDOFF_WEBHOOK_FORMAT=slack: the hand-off webhook posts an incoming-webhook message
(`text`, `blocks`) naming the lead, why and the rep, signed like the default body, and a
delivered webhook makes the hand-off `delivered` (no email to the rep then). A real HTTP
receiver on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.runner import NurtureAgent
from agent.settings import Settings
from agent.store.handoffs import get_handoff
from agent.tools.crm import SIGNATURE_HEADER, verify
from tests.test_crm_webhook import WebhookServer
from tests.utils.agent_world import World
from tests.utils.handoffs import hand_off, lead, make_rep
from tests.utils.smtp import CollectingHandler


@pytest.fixture
def slack_world(
    settings: Settings, smtp_server: tuple[CollectingHandler, int], monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[World, WebhookServer]]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with WebhookServer() as server:
        config = settings.model_copy(
            update={"sales_webhook_url": server.url, "handoff_webhook_format": "slack"}
        )
        with open_checkpointer(config) as checkpointer:
            agent = NurtureAgent(build_context(config), checkpointer)
            yield World(agent, smtp_server[0], config), server


def test_a_slack_compatible_body_signed_as_usual(
    slack_world: tuple[World, WebhookServer],
) -> None:
    world, server = slack_world
    make_rep(world.agent.ctx.db, "riley", "riley@routewise.example")
    row = hand_off(world, lead(1, name="Ada Lovelace"))
    [request] = server.requests
    body = json.loads(request.body)
    assert "Ada Lovelace" in body["text"] and "riley@routewise.example" in body["text"]
    assert body["blocks"][0]["text"]["text"] == body["text"]
    assert body["handoff_id"] == row.id
    secret = world.settings.webhook_secret.get_secret_value()
    assert verify(request.body, secret, request.headers[SIGNATURE_HEADER])
    assert get_handoff(world.agent.ctx.db, row.id).state == "delivered"  # type: ignore[union-attr]
    assert world.delivered() == []  # the webhook told sales: no email
