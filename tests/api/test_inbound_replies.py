"""Replies to our emails through the inbound webhooks (Postmark JSON, SendGrid Inbound Parse):
matched by In-Reply-To/References to the Message-ID we sent, stored as `email_reply` with the
new text only, and, through the default playbook's `handoff.replied`, the lead is handed to a
person with the reply quoted and nurture pauses. An out-of-office reply does neither. Both
webhooks need NURTURE_INBOUND_SECRET (basic auth or the last path segment)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from agent.decisions import decide
from agent.mailfeedback.replies import auto_reply_reason, new_text
from agent.settings import Settings
from agent.store.handoffs import get_handoff
from agent.store.runs import get_run
from agent.store.schema import EventRow, HandoffRow
from agent.tools.timeline import load_timeline
from api.main import create_app
from tests.utils.agent_world import DANA, World, drafted

SECRET = "inbound-test-secret"
NEW_TEXT = "Forwarded to our CFO. Who should we talk to about a Q1 rollout?"
QUOTED = "Here is how Northwind Freight cut empty miles by 18%"
REPLY_BODY = f"""{NEW_TEXT}

Best,
Dana

On Tue, 1 Dec 2026 at 09:00, Routewise <nurture@routewise.example> wrote:
> Hi Dana,
> {QUOTED}.
> Not useful? Unsubscribe: https://example.invalid/unsubscribe/x
"""


@pytest.fixture
def sent(world: World) -> str:
    approval_id = drafted(world)
    assert world.agent.answer(approval_id, "accept", by="m").outcome == "sent"
    return str(world.delivered()[0]["Message-ID"])


@pytest.fixture
def client(world: World) -> Iterator[TestClient]:
    settings = Settings(**{**world.settings.model_dump(), "inbound_secret": SECRET})
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def postmark(message_id: str, subject: str, text: str, **headers: str) -> dict[str, Any]:
    """Postmark's inbound JSON, as its docs show it (the fields we read, and a few more)."""
    return {
        "FromName": "Dana Reyes",
        "MessageStream": "inbound",
        "From": DANA["email"],
        "FromFull": {"Email": DANA["email"], "Name": "Dana Reyes", "MailboxHash": ""},
        "To": "nurture@routewise.example",
        "Subject": subject,
        "MessageID": "73e6d360-66eb-11e1-8e72-a8904824019b",
        "Date": "Thu, 3 Dec 2026 10:00:00 +0000",
        "TextBody": text,
        "HtmlBody": "",
        "StrippedTextReply": "",
        "Headers": [
            {"Name": "In-Reply-To", "Value": message_id},
            {"Name": "References", "Value": f"<older@elsewhere.example> {message_id}"},
            {"Name": "Message-ID", "Value": f"<reply-{hash(subject)}@mail.northwind.example>"},
            *({"Name": name.replace("_", "-"), "Value": value} for name, value in headers.items()),
        ],
        "Attachments": [],
    }


def replies(world: World) -> list[EventRow]:
    with world.agent.ctx.db.session() as session:
        query = select(EventRow).where(
            EventRow.lead_id == DANA["id"], EventRow.type == "email_reply"
        )
        return list(session.scalars(query))


def handoffs(world: World) -> list[HandoffRow]:
    with world.agent.ctx.db.session() as session:
        return list(session.scalars(select(HandoffRow).where(HandoffRow.lead_id == DANA["id"])))


def decision(world: World) -> Any:
    ctx = world.agent.ctx
    lead, events = load_timeline(ctx.db, DANA["id"], until=ctx.clock(), playbook=ctx.playbook)
    return decide(lead, events, ctx.playbook, ctx.clock())


def finished(world: World, thread_id: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while True:
        row = get_run(world.agent.ctx.db, thread_id)
        if row is not None and row.outcome not in ("queued", "running"):
            return row.outcome
        assert time.monotonic() < deadline, row and row.outcome
        time.sleep(0.05)


def test_a_reply_pauses_the_lead_and_hands_it_to_a_person_with_its_new_text(
    world: World, sent: str, client: TestClient
) -> None:
    body = postmark(sent, "Re: How Northwind cut empty miles", REPLY_BODY)
    answer = client.post("/v1/inbound/postmark", json=body, auth=("postmark", SECRET))
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert result["status"] == "stored" and result["matched_by"] == "message_id"
    assert result["text"].startswith(NEW_TEXT) and QUOTED not in result["text"]

    (reply,) = replies(world)
    assert reply.properties["message"].startswith(NEW_TEXT)
    assert QUOTED not in reply.properties["message"]
    assert finished(world, result["run"]["thread_id"]) == "handed_off"
    handoff = get_handoff(world.agent.ctx.db, f"handoff-{result['run']['thread_id']}")
    assert handoff is not None and handoff.rule == "handoff.replied"
    assert NEW_TEXT in handoff.reason and QUOTED not in handoff.reason
    assert handoff.payload is not None and NEW_TEXT in handoff.payload["reason"]
    paused = decision(world)
    assert paused.action == "with_sales"  # no nurture email while a person has the lead

    # the provider retries: the same reply is stored once and hands nothing over again
    again = client.post("/v1/inbound/postmark", json=body, auth=("postmark", SECRET))
    assert again.json()["status"] == "duplicate" and "run" not in again.json()
    assert len(replies(world)) == 1 and len(handoffs(world)) == 1


@pytest.mark.parametrize(
    ("subject", "headers"),
    [
        ("Out of Office: back on 14 December", {}),
        ("Re: How Northwind cut empty miles", {"Auto_Submitted": "auto-replied"}),
        ("Automatic reply: How Northwind cut empty miles", {}),
        ("Abwesenheitsnotiz: How Northwind cut empty miles", {}),
        ("Re: How Northwind cut empty miles", {"X_Autoreply": "yes"}),
        ("Re: How Northwind cut empty miles", {"Precedence": "auto_reply"}),
    ],
)
def test_an_auto_reply_neither_pauses_nor_hands_off(
    world: World, sent: str, client: TestClient, subject: str, headers: dict[str, str]
) -> None:
    before = decision(world).action
    text = "I am out of the office until 14 December with limited access to email."
    body = postmark(sent, subject, text, **headers)
    answer = client.post("/v1/inbound/postmark", json=body, auth=("postmark", SECRET))
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "auto_reply"
    assert not replies(world) and not handoffs(world)
    assert decision(world).action == before


def test_sendgrid_inbound_parse_with_the_secret_in_the_path(
    world: World, sent: str, client: TestClient
) -> None:
    headers = (
        f"From: Dana Reyes <{DANA['email']}>\r\nTo: nurture@routewise.example\r\n"
        f"Subject: Re: your email\r\nMessage-ID: <sg-reply-1@mail.northwind.example>\r\n"
        f"In-Reply-To: {sent}\r\nReferences: {sent}\r\n"
    )
    form = {
        "headers": headers,
        "text": REPLY_BODY,
        "from": f"Dana Reyes <{DANA['email']}>",
        "to": "nurture@routewise.example",
        "subject": "Re: your email",
        "envelope": '{"to":["nurture@routewise.example"],"from":"dana@northwind.example"}',
    }
    assert client.post("/v1/inbound/sendgrid/wrong", data=form).status_code == 401
    answer = client.post(f"/v1/inbound/sendgrid/{SECRET}", data=form)
    assert answer.status_code == 200, answer.text
    assert answer.json()["matched_by"] == "message_id"
    assert finished(world, answer.json()["run"]["thread_id"]) == "handed_off"
    (reply,) = replies(world)
    assert reply.id == "sendgrid-reply-sg-reply-1@mail.northwind.example"


def test_inbound_needs_its_secret(world: World, sent: str, client: TestClient) -> None:
    body = postmark(sent, "Re: hello", REPLY_BODY)
    assert client.post("/v1/inbound/postmark", json=body).status_code == 401
    wrong = client.post("/v1/inbound/postmark", json=body, auth=("postmark", "guess"))
    assert wrong.status_code == 401
    assert not replies(world)
    with TestClient(create_app(world.settings)) as unconfigured:
        answer = unconfigured.post("/v1/inbound/postmark", json=body, auth=("p", SECRET))
        assert answer.status_code == 404 and "NURTURE_INBOUND_SECRET" in answer.text


def test_guessing_the_inbound_secret_meets_the_sign_in_limit(world: World, sent: str) -> None:
    settings = Settings(
        **{**world.settings.model_dump(), "inbound_secret": SECRET, "auth_failures_per_minute": 3}
    )
    body = postmark(sent, "Re: hello", REPLY_BODY)
    with TestClient(create_app(settings)) as client:
        guesses = [
            client.post("/v1/inbound/sendgrid/guess-" + str(n), data={"x": "1"}).status_code
            for n in range(3)
        ]
        assert guesses == [401, 401, 401]
        limited = client.post("/v1/inbound/postmark", json=body, auth=("p", "guess"))
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
    assert not replies(world)


def test_quote_stripping_and_auto_reply_rules() -> None:
    assert new_text(REPLY_BODY).startswith(NEW_TEXT)
    assert QUOTED not in new_text(REPLY_BODY)
    german = "Passt gut, bitte rufen Sie mich an.\n\nAm 1. Dez. 2026 schrieb Routewise:\n> Hallo"
    assert new_text(german) == "Passt gut, bitte rufen Sie mich an."
    assert auto_reply_reason({"Auto-Submitted": "no"}, "Re: pricing") is None
    assert auto_reply_reason({}, "Re: Out of office hours support?") is None
    assert auto_reply_reason({"Precedence": "bulk"}, "Re: x") == "Precedence: bulk"
    assert auto_reply_reason({}, "AW: Abwesenheitsnotiz") is not None
