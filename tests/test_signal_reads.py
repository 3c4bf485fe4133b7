"""The lean timeline read (`load_signals`) gives exactly the signals the full read gives, whatever
the order events arrived in, re-sent ids, ties in time, events after the moment asked about,
nested properties and rows derived by another playbook; and it makes few objects per event for
the garbage collector to count and walk (issue #13: a 100,000-event lead paid ~0.5 s of
collections)."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from agent.decisions import decide
from agent.playbook import Playbook
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.timeline import Timeline
from agent.tools.timeline import load_signals, load_timeline

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LEAD = "mixed-lead"
TYPES = ("pricing_page_view", "email_open", "email_click", "webinar_attended", "page_view")


def _event(index: int, at: datetime, **properties: Any) -> dict[str, Any]:
    return {
        "id": f"ev-{index:04d}",
        "lead_id": LEAD,
        "type": TYPES[index % len(TYPES)],
        "occurred_at": at.isoformat(),
        "properties": properties,
    }


def _mixed_timeline() -> list[list[dict[str, Any]]]:
    """Batches to ingest in this order: newest first, then older ones, then re-sent ids."""
    start = NOW - timedelta(days=40)
    tied = NOW - timedelta(days=3)
    newest = [_event(i, start + timedelta(hours=9 * i), path="/pricing") for i in range(60, 120)]
    oldest = [
        _event(i, start + timedelta(hours=9 * i), url=f"https://x.example/p/{i}?utm_source=ad")
        for i in range(60)
    ]
    ties = [
        # one moment, ids whose order differs between collations, received in one batch
        {**_event(200 + n, tied, asset_id="guide"), "id": f"tie-{suffix}"}
        for n, suffix in enumerate(("b", "A", "a_", "B"))
    ]
    nested = [_event(300, tied - timedelta(hours=1), form={"fields": ["email", "company"]})]
    future = [_event(400, NOW + timedelta(days=1), path="/pricing")]
    resent = [dict(newest[0]), dict(oldest[5]), dict(ties[1])]  # same ids again: kept once
    return [newest, oldest, ties + nested + future, resent]


def _seed(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, [{"id": LEAD, "email": "mixed@northwind.example"}], playbook, now=NOW)
    for batch in _mixed_timeline():
        ingest_events(db, batch, playbook, now=NOW + timedelta(days=2))
    with db.engine.begin() as conn:  # rows derived by another playbook: classified again
        conn.execute(
            text("UPDATE events SET derived_by = 'older', signal = NULL WHERE id LIKE '%3'")
        )


def test_the_lean_read_gives_the_full_reads_signals(db: Database, playbook: Playbook) -> None:
    _seed(db, playbook)
    for until in (NOW, NOW - timedelta(days=3), NOW - timedelta(days=30)):
        lead, full = load_timeline(db, LEAD, until=until, playbook=playbook)
        same_lead, timeline = load_signals(db, LEAD, until=until, playbook=playbook)
        expected = Timeline(full, playbook, until).events
        assert same_lead == lead
        assert len(expected) > 10  # the comparison covers real signals
        assert len(timeline.events) == len(expected)
        for got, want in zip(timeline.events, expected, strict=True):
            assert got.occurred_at.utcoffset() == timedelta(0)  # UTC on either database
            assert (got.event_id, got.signal, got.occurred_at, got.points) == (
                want.event_id,
                want.signal,
                want.occurred_at,
                want.points,
            )
            assert dict(got.properties) == dict(want.properties)
        assert decide(lead, timeline, playbook, until) == decide(lead, full, playbook, until)
    ids = [e.event_id for e in load_signals(db, LEAD, until=NOW, playbook=playbook)[1].events]
    assert "ev-0400" not in ids  # after the moment asked about
    assert ids.count("ev-0060") == 1  # re-sent: once


def test_the_lean_read_keeps_about_two_collector_objects_per_event(
    db: Database, playbook: Playbook
) -> None:
    """What the read leaves behind per event is its signal and its properties: no row object,
    no list of rows, no sort key. Counted with the collector paused (its generation-0 count is
    then the net number of container objects made), on a 2,000-event timeline."""
    start = NOW - timedelta(days=300)
    upsert_leads(db, [{"id": LEAD, "email": "mixed@northwind.example"}], playbook, now=NOW)
    events = [_event(i, start + timedelta(hours=3 * i), path="/pricing") for i in range(2_000)]
    ingest_events(db, events, playbook, now=NOW)
    load_signals(db, LEAD, until=NOW, playbook=playbook)  # warm: statement caches, connection
    gc.collect()
    gc.disable()
    try:
        before = gc.get_count()[0]
        _, timeline = load_signals(db, LEAD, until=NOW, playbook=playbook)
        made = gc.get_count()[0] - before
    finally:
        gc.enable()
    assert len(timeline.events) == 2_000
    assert made <= 2.5 * len(timeline.events), f"{made} objects for 2,000 events"
