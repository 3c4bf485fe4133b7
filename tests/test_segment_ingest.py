"""Segment messages into the store, on SQLite and PostgreSQL: the anonymous journey, links that
outlive the batch, rejections kept once, and lead fields from traits."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from agent.playbook import Playbook
from agent.segment.ingest import derived_lead_id, ingest_segment_messages
from agent.store import Database
from agent.store.identities import pending_count
from agent.store.leads import load_lead
from agent.store.rejections import list_rejections, rejection_counts
from agent.store.schema import EventRow

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def at(minutes_ago: float) -> str:
    return (NOW - timedelta(minutes=minutes_ago)).isoformat()


def signals(db: Database, lead_id: str) -> list[tuple[str, str | None]]:
    with db.session() as session:
        rows = session.execute(
            select(EventRow.id, EventRow.signal)
            .where(EventRow.lead_id == lead_id)
            .order_by(EventRow.occurred_at)
        ).all()
    return [(event_id, signal) for event_id, signal in rows]


def test_an_anonymous_journey_lands_on_the_lead_an_identify_creates(
    db: Database, playbook: Playbook
) -> None:
    first = ingest_segment_messages(
        db,
        [
            {
                "type": "page",
                "messageId": "p1",
                "anonymousId": "a1",
                "properties": {"url": "https://x.example/pricing"},
                "timestamp": at(30),
            },
            {
                "type": "track",
                "messageId": "t1",
                "anonymousId": "a1",
                "event": "Whitepaper Downloaded",
                "timestamp": at(20),
            },
        ],
        playbook,
        now=NOW,
    )
    assert (first.pending, first.stored) == (2, 0)
    assert pending_count(db) == 2

    # an identify with no userId: the lead is created from the address, its id derived from it
    identify = {
        "type": "identify",
        "messageId": "i1",
        "anonymousId": "a1",
        "traits": {"email": "Sam@Acme.example", "name": "Sam Lee", "unsubscribed": "yes"},
        "timestamp": at(10),
    }
    second = ingest_segment_messages(db, [identify], playbook, now=NOW)
    lead_id = derived_lead_id("sam@acme.example")
    assert second.stored == 2 and lead_id in second.leads
    assert signals(db, lead_id) == [("p1", "pricing_page_view"), ("t1", "whitepaper_download")]
    assert pending_count(db) == 0
    lead = load_lead(db, lead_id)
    assert lead is not None and lead.name == "Sam Lee"
    assert lead.do_not_contact  # an opt-out trait wins

    # the link outlives the batch; the same messages again store nothing twice
    again = ingest_segment_messages(
        db,
        [
            {
                "type": "track",
                "messageId": "t1",
                "anonymousId": "a1",
                "event": "Whitepaper Downloaded",
                "timestamp": at(20),
            },  # noqa: E501
            {
                "type": "track",
                "messageId": "t2",
                "anonymousId": "a1",
                "event": "Demo Requested",
                "timestamp": at(5),
            },  # noqa: E501
        ],
        playbook,
        now=NOW,
    )
    assert (again.stored, again.duplicate, again.pending) == (1, 1, 0)
    assert [s for _, s in signals(db, lead_id)][-1] == "demo_request"

    # a later identify that omits the opt-out does not turn contact back on
    ingest_segment_messages(
        db,
        [{**identify, "messageId": "i2", "traits": {"email": "sam@acme.example"}}],
        playbook,
        now=NOW,
    )
    lead = load_lead(db, lead_id)
    assert lead is not None and lead.do_not_contact and lead.name == "Sam Lee"


def test_rejections_are_kept_once_with_their_reason(db: Database, playbook: Playbook) -> None:
    batch: list[object] = [
        {"type": "track", "messageId": "r1", "userId": "u1", "event": "Rocket", "timestamp": at(1)},
        {"type": "group", "messageId": "r2", "userId": "u1", "groupId": "g"},
        {
            "type": "track",
            "messageId": "r3",
            "userId": "u1",
            "event": "Demo Requested",
            "timestamp": at(-60),
        },  # noqa: E501
        {"type": "identify", "messageId": "r4", "userId": "nobody", "traits": {"plan": "pro"}},
        {"type": "alias", "messageId": "r5", "previousId": "x", "userId": "y"},
        "not an object",
    ]
    for _ in range(2):
        report = ingest_segment_messages(db, batch, playbook, now=NOW)
        assert report.rejected == 6
    assert rejection_counts(db) == {
        ("segment", "unmapped_event"): 1,
        ("segment", "unsupported_type"): 1,
        ("segment", "invalid_event"): 1,
        ("segment", "unknown_lead"): 1,
        ("segment", "unknown_identity"): 1,
        ("segment", "invalid_message"): 1,
    }
    reasons = {row.message_id: row.reason for row in list_rejections(db)}
    assert "future" in (reasons["r3"] or "")
    assert "traits.email" in (reasons["r4"] or "")


def test_an_alias_before_the_lead_exists_hands_the_kept_events_to_the_new_id(
    db: Database, playbook: Playbook
) -> None:
    page = {
        "type": "page",
        "messageId": "p-early",
        "anonymousId": "anon-9",
        "properties": {"url": "https://x.example/roi-calculator"},
        "timestamp": at(40),
    }
    alias = {"type": "alias", "messageId": "al-1", "previousId": "anon-9", "userId": "u-9"}
    report = ingest_segment_messages(db, [page, alias], playbook, now=NOW)
    assert report.pending == 1 and report.rejected == 1  # the alias names no lead yet: said so
    [rejection] = list_rejections(db)
    assert "1 kept event" in rejection.reason and "u-9" in rejection.reason

    # identify names only the userId, not the anonymousId: the page still reaches the lead
    identify = {
        "type": "identify",
        "messageId": "id-9",
        "userId": "u-9",
        "traits": {"email": "nine@x.example"},
        "timestamp": at(1),
    }
    ingest_segment_messages(db, [identify], playbook, now=NOW)
    assert signals(db, "u-9") == [("p-early", "roi_calculator_used")]


def test_a_page_whose_url_cannot_be_parsed_is_kept_without_a_path(
    db: Database, playbook: Playbook
) -> None:
    ingest_segment_messages(
        db,
        [
            {
                "type": "identify",
                "messageId": "i",
                "userId": "u",
                "traits": {"email": "u@x.example"},
            },
            {
                "type": "page",
                "messageId": "bad-url",
                "userId": "u",
                "properties": {"url": "http://[::1/pricing"},
                "timestamp": at(1),
            },
        ],
        playbook,
        now=NOW,
    )
    assert signals(db, "u") == [("bad-url", "site_visit")]
