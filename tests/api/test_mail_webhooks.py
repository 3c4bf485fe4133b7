"""The mail-system webhooks on the app: Mailgun (HMAC of timestamp and token), the generic JSON
(HMAC of the body) and SendGrid's event types. Each kind lands as its signal on the timeline
of the lead whose send it is about (by Message-ID, else by address); a complaint suppresses
through the playbook; bad signatures are 401 and store nothing; a bad event never costs its
valid siblings; a webhook whose key is not set is 404 naming the setting."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.decisions import decide
from agent.mailfeedback.signatures import generic_signature
from agent.settings import Settings
from agent.store.schema import EventRow
from agent.tools.timeline import load_timeline
from api.main import create_app
from tests.utils.agent_world import DANA, World, drafted
from tests.utils.sendgrid import SendGridKeys

MAILGUN_KEY = "key-mailgun-test-signing"
GENERIC_SECRET = "generic-shared-secret"


@pytest.fixture
def sendgrid_keys() -> SendGridKeys:
    return SendGridKeys()


@pytest.fixture
def sent(world: World) -> str:
    """Dana's draft approved and delivered by aiosmtpd; its Message-ID."""
    approval_id = drafted(world)
    assert world.agent.answer(approval_id, "accept", by="m").outcome == "sent"
    return str(world.delivered()[0]["Message-ID"])


@pytest.fixture
def client(world: World, sendgrid_keys: SendGridKeys) -> Iterator[TestClient]:
    settings = Settings(
        **{
            **world.settings.model_dump(),
            "mailgun_signing_key": MAILGUN_KEY,
            "mail_webhook_secret": GENERIC_SECRET,
            "sendgrid_webhook_public_key": sendgrid_keys.public,
        }
    )
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def timeline_types(world: World) -> list[tuple[str, dict[str, Any]]]:
    with world.agent.ctx.db.session() as session:
        rows = session.scalars(
            select(EventRow).where(EventRow.lead_id == DANA["id"]).order_by(EventRow.occurred_at)
        )
        return [(row.type, row.properties) for row in rows]


def decision(world: World) -> Any:
    ctx = world.agent.ctx
    lead, events = load_timeline(ctx.db, DANA["id"], until=ctx.clock(), playbook=ctx.playbook)
    return decide(lead, events, ctx.playbook, ctx.clock())


def mailgun_body(event: dict[str, Any], key: str = MAILGUN_KEY) -> dict[str, Any]:
    timestamp, token = str(int(time.time())), "a8ce0edb2dd8301dee6c2405235584e45aa91d1e9f979f3de0"
    signature = hmac.new(key.encode(), f"{timestamp}{token}".encode(), hashlib.sha256)
    return {
        "signature": {"timestamp": timestamp, "token": token, "signature": signature.hexdigest()},
        "event-data": {"timestamp": time.time() - 1, **event},
    }


def test_mailgun_events_are_verified_and_land_on_the_timeline(
    world: World, sent: str, client: TestClient
) -> None:
    headers = {"message-id": sent.strip("<>")}  # Mailgun gives it without the brackets
    opened = mailgun_body(
        {
            "event": "opened",
            "id": "mg-1",
            "recipient": DANA["email"],
            "message": {"headers": headers},
        }
    )
    answer = client.post("/v1/webhooks/mailgun", json=opened)
    assert answer.status_code == 200, answer.text
    assert answer.json()["results"][0]["matched_by"] == "message_id"

    forged = mailgun_body({"event": "complained", "id": "mg-2", "recipient": DANA["email"]}, "x")
    assert client.post("/v1/webhooks/mailgun", json=forged).status_code == 401
    unsigned = {"event-data": forged["event-data"]}
    assert client.post("/v1/webhooks/mailgun", json=unsigned).status_code == 401
    assert client.post("/v1/webhooks/mailgun", content=b"not json").status_code == 401
    assert [t for t, _ in timeline_types(world) if t == "spam_complaint"] == []

    soft = mailgun_body(
        {"event": "failed", "severity": "temporary", "id": "mg-3", "recipient": DANA["email"]}
    )
    assert client.post("/v1/webhooks/mailgun", json=soft).json()["results"][0]["status"] == "stored"
    assert decision(world).action != "suppress"  # a soft bounce is not a reason to stop

    complaint = mailgun_body({"event": "complained", "id": "mg-4", "recipient": DANA["email"]})
    answer = client.post("/v1/webhooks/mailgun", json=complaint)
    assert answer.json()["results"][0]["matched_by"] == "address"
    kinds = [t for t, _ in timeline_types(world)]
    assert {"email_open", "email_bounce", "spam_complaint"} <= set(kinds)
    assert [p.get("hard") for t, p in timeline_types(world) if t == "email_bounce"] == [False]
    suppressed = decision(world)
    assert suppressed.action == "suppress"
    assert suppressed.reasons[0].rule == "suppress.spam_complaint"


def test_the_generic_webhook_keeps_valid_events_beside_bad_ones(
    world: World, sent: str, client: TestClient
) -> None:
    now = "2026-12-01T10:00:00+00:00"
    events = {
        "events": [
            {"id": "g-1", "type": "delivered", "message_id": sent, "occurred_at": now},
            {
                "id": "g-2",
                "type": "click",
                "email": DANA["email"].upper(),
                "occurred_at": now,
                "url": "https://routewise.example/customers/northwind",
            },
            {"id": "g-3", "type": "teleported", "email": DANA["email"], "occurred_at": now},
            {"id": "g-4", "type": "open", "email": "stranger@nowhere.example", "occurred_at": now},
            {"type": "open", "email": DANA["email"], "occurred_at": now},
        ]
    }
    body = json.dumps(events).encode()
    signature = {"X-Nurture-Signature": generic_signature(GENERIC_SECRET, body)}
    bad = {"X-Nurture-Signature": generic_signature("wrong", body)}
    assert client.post("/v1/webhooks/mail", content=body, headers=bad).status_code == 401
    assert client.post("/v1/webhooks/mail", content=body).status_code == 401
    assert not [t for t, _ in timeline_types(world) if t == "email_delivered"]

    answer = client.post("/v1/webhooks/mail", content=body, headers=signature)
    assert answer.status_code == 200, answer.text
    statuses = {r["event_id"]: r["status"] for r in answer.json()["results"]}
    assert statuses["mail-delivered-g-1"] == "stored"
    assert statuses["mail-click-g-2"] == "stored"
    assert statuses["mail-g-3"] == "rejected"
    assert statuses["mail-open-g-4"] == "unmatched"
    assert "rejected" in answer.json()["counts"]
    again = client.post("/v1/webhooks/mail", content=body, headers=signature)
    assert again.json()["counts"]["duplicate"] == 2
    types = [t for t, _ in timeline_types(world)]
    assert types.count("email_delivered") == 1 and types.count("email_click") == 1


def test_sendgrid_event_types(
    world: World, sent: str, client: TestClient, sendgrid_keys: SendGridKeys
) -> None:
    stamp = int(time.time()) - 10
    events = [
        {"event": "processed", "sg_event_id": "s-0", "timestamp": stamp, "smtp-id": sent},
        {"event": "delivered", "sg_event_id": "s-1", "timestamp": stamp, "smtp-id": sent},
        {"event": "open", "sg_event_id": "s-2", "timestamp": stamp, "email": DANA["email"]},
        {
            "event": "bounce",
            "type": "blocked",
            "sg_event_id": "s-3",
            "timestamp": stamp,
            "smtp-id": sent,
        },
        {"event": "unsubscribe", "sg_event_id": "s-4", "timestamp": stamp, "smtp-id": sent},
    ]
    body = json.dumps(events).encode()
    answer = client.post("/v1/webhooks/sendgrid", content=body, headers=sendgrid_keys.headers(body))
    assert answer.status_code == 200, answer.text
    assert answer.json()["counts"] == {"stored": 4, "skipped": 1}
    types = [t for t, _ in timeline_types(world)]
    assert {"email_delivered", "email_open", "email_bounce", "unsubscribe"} <= set(types)
    assert decision(world).reasons[0].rule == "suppress.unsubscribed"


def test_a_webhook_without_its_key_is_off(world: World) -> None:
    with TestClient(create_app(world.settings)) as plain:
        for path in ("/v1/webhooks/sendgrid", "/v1/webhooks/mailgun", "/v1/webhooks/mail"):
            answer = plain.post(path, json=[])
            assert answer.status_code == 404
            assert "NURTURE_" in answer.json()["detail"]
