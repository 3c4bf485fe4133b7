"""SendGrid's and Mailgun's event formats read into MailEvents, field by field: the event name
to our kind, the provider's id, the time, our Message-ID, the address, the bounce's hardness;
events we do not track and malformed ones are skipped with why, and never cost the others."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.mailfeedback.events import MailEvent, Recorded
from agent.mailfeedback.providers import mailgun_events, sendgrid_events

AT = datetime(2026, 11, 30, 9, tzinfo=UTC)
EPOCH = int(AT.timestamp())


def test_sendgrid_fields_become_ours() -> None:
    events, skipped = sendgrid_events(
        [
            {"event": "bounce", "sg_event_id": "sg1", "timestamp": EPOCH, "smtp-id": "<m1@x>",
             "email": " dana@northwind.example ", "type": "blocked", "status": "4.2.2",
             "reason": "mailbox full"},
            {"event": "click", "sg_event_id": "sg2", "timestamp": str(EPOCH), "url": "https://x",
             "email": "sam@northwind.example"},
            {"event": "processed", "sg_event_id": "sg3", "timestamp": EPOCH},
            {"event": "open", "timestamp": EPOCH},
            "not an object",
        ]
    )  # fmt: skip
    assert events == [
        MailEvent("sendgrid", "sg1", "bounce", AT, ("<m1@x>",), "dana@northwind.example",
                  {"reason": "mailbox full", "hard": False, "status": "4.2.2"}),
        MailEvent("sendgrid", "sg2", "click", AT, (), "sam@northwind.example",
                  {"url": "https://x"}),
    ]  # fmt: skip
    assert skipped == [
        Recorded("sendgrid-sg3", "processed", "skipped", reason="not tracked"),
        Recorded("sendgrid-3", "open", "skipped", reason="needs sg_event_id and a timestamp"),
        Recorded("sendgrid-4", "?", "skipped", reason="an event must be an object"),
    ]
    assert sendgrid_events({"event": "open"}) == (
        [],
        [Recorded("sendgrid--", "body", "skipped",
                  reason="the body must be a JSON array of events")],
    )  # fmt: skip


def test_mailgun_fields_become_ours() -> None:
    body = {
        "event-data": {
            "event": "failed", "id": "mg1", "timestamp": EPOCH + 0.0, "severity": "permanent",
            "recipient": "dana@northwind.example", "reason": "bounce", "status": "ignored",
            "message": {"headers": {"message-id": "m1@x"}},
        }
    }  # fmt: skip
    assert mailgun_events(body) == (
        [MailEvent("mailgun", "mg1", "bounce", AT, ("m1@x",), "dana@northwind.example",
                   {"reason": "bounce", "hard": True})],
        [],
    )  # fmt: skip
    clicked = {"event-data": {"event": "clicked", "id": "mg2", "timestamp": EPOCH, "url": "u"}}
    assert mailgun_events(clicked) == ([MailEvent("mailgun", "mg2", "click", AT, (), None,
                                                  {"url": "u"})], [])  # fmt: skip
    accepted = {"event-data": {"event": "accepted", "id": "mg3", "timestamp": EPOCH}}
    assert mailgun_events(accepted) == (
        [], [Recorded("mailgun-mg3", "accepted", "skipped", reason="not tracked")]
    )  # fmt: skip
    no_id = {"event-data": {"event": "opened", "timestamp": EPOCH}}
    assert mailgun_events(no_id) == (
        [], [Recorded("mailgun--", "opened", "skipped",
                      reason="event-data needs an id and a timestamp")],
    )  # fmt: skip
    assert mailgun_events({"signature": {}}) == (
        [], [Recorded("mailgun--", "?", "skipped", reason="the body has no 'event-data' object")]
    )  # fmt: skip
