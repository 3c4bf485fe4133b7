"""The store, on SQLite and on PostgreSQL: migrations, lead upsert, idempotent event ingest,
replayable timelines, and bulk scores that agree with the per-lead engine."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from agent.decisions import decide
from agent.playbook import Playbook, parse_playbook
from agent.settings import DEFAULT_PLAYBOOK
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import load_lead, upsert_leads
from agent.store.schema import EventRow, LeadScoreRow
from agent.store.scores import count_stale, hot_leads, refresh_derived, rescore_all
from agent.tools.timeline import load_timeline

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LEADS = [
    {
        "id": "L1",
        "email": "dana@northwind.example",
        "name": "Dana Reyes",
        "company": "Northwind",
        "attributes": {"industry": "software", "employees": 300, "title": "VP Operations"},
    },
    {"id": "L2", "email": "sam@contoso.example", "attributes": {"industry": "retail"}},
]


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def event(
    lead_id: str = "L1",
    type_: str = "blog_view",
    days_ago: float = 1,
    id: str | None = None,
    **properties: Any,
) -> dict[str, Any]:
    item = {
        "lead_id": lead_id,
        "type": type_,
        "occurred_at": at(days_ago),
        "properties": properties,
    }
    return item if id is None else {"id": id, **item}


@pytest.fixture
def seeded(db: Database, playbook: Playbook) -> Database:
    report = upsert_leads(db, LEADS, playbook, now=NOW)
    assert report.count("stored") == 2
    return db


def count_events(db: Database) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(EventRow)) or 0


def test_migrating_again_keeps_the_data(seeded: Database) -> None:
    seeded.migrate()
    lead = load_lead(seeded, "L1")
    assert lead is not None and lead.attributes["title"] == "VP Operations"


def test_lead_upsert_updates_and_rejects_bad_leads(seeded: Database, playbook: Playbook) -> None:
    report = upsert_leads(
        seeded,
        [
            {
                "id": "L1",
                "email": "dana@northwind.example",
                "attributes": {"industry": "logistics"},
                "do_not_contact": True,
            },
            {"id": "L3", "email": "not-an-email"},
            {"email": "x@y.example"},
        ],
        playbook,
        now=NOW,
    )
    assert [r.status for r in report.results] == ["stored", "rejected", "rejected"]
    assert "email" in (report.results[1].reason or "")
    assert report.results[2].reason == "id: Field required"
    lead = load_lead(seeded, "L1")
    assert lead is not None and lead.do_not_contact and lead.attributes == {"industry": "logistics"}
    assert load_lead(seeded, "L3") is None


def test_bad_events_are_rejected_with_a_reason_and_valid_ones_kept(
    seeded: Database, playbook: Playbook
) -> None:
    batch = [
        event(id="ok-1"),
        event(type_="tweet"),
        {"lead_id": "L1", "type": "blog_view"},
        {"lead_id": "L1", "type": "blog_view", "occurred_at": "2026-11-01T10:00:00"},
        event(days_ago=-0.01),  # 14 minutes ahead
        event(days_ago=-0.002),  # 3 minutes ahead: within clock skew
        event(lead_id="L404"),
        event(id="ok-2", type_="page_view", path="/pricing"),
        "not an object",
    ]
    report = ingest_events(seeded, batch, playbook, now=NOW)
    reasons = [(r.status, r.reason) for r in report.results]
    assert reasons[0] == ("stored", None)
    assert reasons[1][0] == "rejected" and "unknown event type 'tweet'" in (reasons[1][1] or "")
    assert reasons[2] == ("rejected", "occurred_at: Field required")
    assert reasons[3] == ("rejected", "occurred_at: Input should have timezone info")
    assert reasons[4] == ("rejected", "occurred_at: more than 5 minutes in the future")
    assert reasons[5] == ("stored", None)
    assert reasons[6] == ("rejected", "lead_id: unknown lead 'L404'")
    assert reasons[7] == ("stored", None)
    assert reasons[8][0] == "rejected"
    assert count_events(seeded) == 3


def test_the_same_event_id_is_stored_once(seeded: Database, playbook: Playbook) -> None:
    first = ingest_events(seeded, [event(id="e1"), event(id="e1")], playbook, now=NOW)
    again = ingest_events(seeded, [event(id="e1", days_ago=5)], playbook, now=NOW)
    assert [r.status for r in first.results] == ["stored", "duplicate"]
    assert [r.status for r in again.results] == ["duplicate"]
    assert count_events(seeded) == 1


def test_events_without_an_id_are_idempotent_by_content(
    seeded: Database, playbook: Playbook
) -> None:
    batch = [event(days_ago=3, url="/blog/a"), event(days_ago=2, url="/blog/a")]
    ingest_events(seeded, batch, playbook, now=NOW)
    report = ingest_events(seeded, batch, playbook, now=NOW)
    assert [r.status for r in report.results] == ["duplicate", "duplicate"]
    assert count_events(seeded) == 2


def test_timestamps_keep_their_instant_across_offsets(seeded: Database, playbook: Playbook) -> None:
    plus_two = datetime(2026, 11, 19, 14, 30, tzinfo=timezone(timedelta(hours=2)))
    ingest_events(
        seeded,
        [{"id": "tz", "lead_id": "L1", "type": "email_open", "occurred_at": plus_two.isoformat()}],
        playbook,
        now=NOW,
    )
    _, events = load_timeline(seeded, "L1", until=NOW)
    assert events[0].occurred_at == plus_two
    assert events[0].occurred_at.tzinfo is not None


def test_ten_thousand_events_in_one_batch(seeded: Database, playbook: Playbook) -> None:
    batch = [
        event(id=f"b{i}", days_ago=(i % 300) / 2, url=f"/blog/{i % 40}") for i in range(10_000)
    ]
    report = ingest_events(seeded, batch, playbook, now=NOW)
    assert report.count("stored") == 10_000
    assert count_events(seeded) == 10_000


def test_ingest_order_does_not_change_decisions(seeded: Database, playbook: Playbook) -> None:
    batch = [
        event(id="a", type_="pricing_page_view", days_ago=6),
        event(id="b", type_="whitepaper_download", days_ago=9, topic="routing"),
        event(id="c", type_="pricing_page_view", days_ago=2),
    ]
    for item in reversed(batch):  # one at a time, newest first
        ingest_events(seeded, [item], playbook, now=NOW)
    lead, events = load_timeline(seeded, "L1", until=NOW)
    in_order = decide(lead, sorted(events, key=lambda e: e.id), playbook, NOW)
    assert decide(lead, events, playbook, NOW) == in_order
    assert in_order.reasons[0].rule == "handoff.pricing_twice"


def test_replay_uses_only_events_that_had_occurred(seeded: Database, playbook: Playbook) -> None:
    ingest_events(
        seeded,
        [
            event(id="wp", type_="whitepaper_download", days_ago=10, topic="x"),
            event(id="demo", type_="demo_request", days_ago=2),
        ],
        playbook,
        now=NOW,
    )
    then = NOW - timedelta(days=5)
    lead, events = load_timeline(seeded, "L1", until=then)
    assert [e.id for e in events] == ["wp"]
    past = decide(lead, events, playbook, then)
    assert past.reasons[0].rule == "scenario.whitepaper_case_study"
    lead, events = load_timeline(seeded, "L1", until=NOW)
    assert decide(lead, events, playbook, NOW).reasons[0].rule == "handoff.demo_request"


def test_cached_classification_decides_like_a_fresh_one(
    seeded: Database, playbook: Playbook
) -> None:
    ingest_events(
        seeded,
        [
            event(id="p1", type_="page_view", days_ago=3, path="/pricing"),
            event(id="c1", type_="case_study_view", days_ago=2, completion=0.9),
            event(id="p2", type_="page_view", days_ago=1, path="/about"),
        ],
        playbook,
        now=NOW,
    )
    lead, cached = load_timeline(seeded, "L1", until=NOW, playbook=playbook)
    _, raw = load_timeline(seeded, "L1", until=NOW)
    assert [(e.signal, e.points) for e in cached] == [
        ("pricing_page_view", 10),
        ("case_study_view", 10),
        ("site_visit", 0),
    ]
    assert all(e.signal is None for e in raw)
    assert decide(lead, cached, playbook, NOW) == decide(lead, raw, playbook, NOW)
    other = parse_playbook(
        DEFAULT_PLAYBOOK.read_text().replace(
            "pricing_page_view: {points: 10}", "pricing_page_view: {points: 11}"
        )
    )
    _, stale = load_timeline(seeded, "L1", until=NOW, playbook=other)
    assert all(e.signal is None for e in stale)  # derived by another playbook: not trusted


def test_bulk_scores_match_the_engine(seeded: Database, playbook: Playbook) -> None:
    rng = random.Random(3)
    types = [
        "blog_view",
        "email_open",
        "case_study_view",
        "dsr_view",
        "whitepaper_download",
        "webinar_attended",
        "demo_request",
        "email_sent",
    ]
    batch = []
    for i in range(400):
        props = {
            "completion": rng.random(),
            "asset_kind": rng.choice(["pricing", "proposal"]),
            "seconds": rng.randint(0, 300),
        }
        batch.append(
            event(
                lead_id=rng.choice(["L1", "L2"]),
                type_=rng.choice(types),
                days_ago=rng.uniform(-0.001, 120),
                id=f"r{i}",
                **props,
            )
        )
    ingest_events(seeded, batch, playbook, now=NOW)
    assert rescore_all(seeded, playbook, NOW) == 2
    with seeded.session() as session:
        bulk = {row.lead_id: row for row in session.scalars(select(LeadScoreRow))}
    for lead_id in ("L1", "L2"):
        lead, events = load_timeline(seeded, lead_id, until=NOW)
        score = decide(lead, events, playbook, NOW).score
        assert bulk[lead_id].attribute == score.attribute
        assert bulk[lead_id].behaviour == pytest.approx(score.behaviour, abs=0.01)
        assert bulk[lead_id].hot == score.hot


def test_hot_leads_follow_the_playbook_threshold(seeded: Database, playbook: Playbook) -> None:
    ingest_events(
        seeded,
        [
            event(type_="demo_request", days_ago=0, id="d1"),
            event(type_="email_click", days_ago=0, id="d2"),
        ],
        playbook,
        now=NOW,
    )
    rescore_all(seeded, playbook, NOW)
    assert hot_leads(seeded) == []  # 30 fit + 33 behaviour = 63
    lower = parse_playbook(
        DEFAULT_PLAYBOOK.read_text().replace("hot_threshold: 70", "hot_threshold: 60")
    )
    rescore_all(seeded, lower, NOW)
    assert [h.lead_id for h in hot_leads(seeded)] == ["L1"]


def test_a_playbook_change_re_derives_stored_points(seeded: Database, playbook: Playbook) -> None:
    ingest_events(seeded, [event(type_="blog_view", days_ago=0, id="b1")], playbook, now=NOW)
    louder = parse_playbook(
        DEFAULT_PLAYBOOK.read_text().replace("blog_view: {points: 2}", "blog_view: {points: 20}")
    )
    stale = count_stale(seeded, louder)
    assert (stale.leads, stale.events) == (2, 1)
    refresh_derived(seeded, louder)
    assert count_stale(seeded, louder).events == 0
    rescore_all(seeded, louder, NOW)
    with seeded.session() as session:
        assert session.get(LeadScoreRow, "L1").behaviour == pytest.approx(20)  # type: ignore[union-attr]


def test_values_the_store_could_not_read_back_are_rejected(
    seeded: Database, playbook: Playbook
) -> None:
    """On both databases: NaN/Infinity (JSON parsers accept them, JSON cannot hold them) and
    NUL (PostgreSQL refuses it) are rejected per item; the valid items are stored."""
    batch = [
        event(id="fine"),
        event(id="nan", ratio=float("nan")),
        event(id="inf", nested={"deep": [1.0, float("inf")]}),
        event(id="nul", note="a\x00b"),
        event(id="line\nbreak"),
    ]
    report = ingest_events(seeded, batch, playbook, now=NOW)
    statuses = [(r.status, r.reason) for r in report.results]
    assert statuses[0] == ("stored", None)
    assert statuses[1] == (
        "rejected",
        "properties: Value error, numbers must be finite (no NaN or Infinity)",
    )
    assert statuses[2][0] == "rejected" and "finite" in (statuses[2][1] or "")
    assert statuses[3][0] == "rejected" and "NUL" in (statuses[3][1] or "")
    assert statuses[4][0] == "rejected" and (statuses[4][1] or "").startswith("id:")
    leads = upsert_leads(
        seeded,
        [
            {"id": "L\x00", "email": "a@b.example"},
            {"id": "L5", "email": "a@b.example", "attributes": {"note": "x\x00"}},
            {"id": "L6", "email": "a@b.example", "attributes": {"employees": float("inf")}},
        ],
        playbook,
        now=NOW,
    )
    assert [r.status for r in leads.results] == ["rejected"] * 3
    lead, events = load_timeline(seeded, "L1", until=NOW, playbook=playbook)
    assert [e.id for e in events] == ["fine"]
