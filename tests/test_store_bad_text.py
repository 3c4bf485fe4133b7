"""Text the store could not keep or read back (issue #10, items 1, 2, 4), on SQLite and on
PostgreSQL alike: NUL and lone UTF-16 surrogates in any string field, and lead ids that would
shadow a route, are refused per item; the valid items of the same batch are stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from agent.playbook import Playbook
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import all_lead_ids, upsert_leads
from agent.tools.timeline import load_timeline

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def event(event_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "id": event_id,
        "lead_id": "L1",
        "type": "blog_view",
        "occurred_at": (NOW - timedelta(days=1)).isoformat(),
        "properties": {"path": "/blog/x"},
    } | overrides


def test_nul_in_any_lead_field_is_refused_and_the_valid_leads_are_kept(
    db: Database, playbook: Playbook
) -> None:
    batch = [
        {"id": "L1", "email": "l1@x.example", "name": "Lee"},
        {"id": "L2", "email": "l2@x.example", "name": "Le\x00e"},
        {"id": "L3", "email": "l3@x.example", "company": "Acme\x00"},
        {"id": "L4", "email": "l4\x00@x.example"},
        {"id": "L5", "email": "l5@x.example", "attributes": {"no\x00te": "x"}},
        {"id": "L6", "email": "l6@x.example", "name": "Sam"},
    ]
    report = upsert_leads(db, batch, playbook, now=NOW)
    assert [r.status for r in report.results] == ["stored"] + ["rejected"] * 4 + ["stored"]
    for result, field in zip(
        report.rejected, ("name", "company", "email", "attributes"), strict=True
    ):
        assert (result.reason or "").startswith(f"{field}:") and "NUL" in (result.reason or "")
    assert all_lead_ids(db) == ["L1", "L6"]


def test_lone_surrogates_are_refused_and_the_valid_items_are_kept(
    db: Database, playbook: Playbook
) -> None:
    leads = [
        {"id": "L1", "email": "l1@x.example"},
        {"id": "L2", "email": "l2@x.example", "name": "\udfff"},
        {"id": "L3", "email": "l3@x.example", "attributes": {"title": "VP\ud800"}},
    ]
    report = upsert_leads(db, leads, playbook, now=NOW)
    assert [r.status for r in report.results] == ["stored", "rejected", "rejected"]
    assert all("surrogate" in (r.reason or "") for r in report.rejected)
    events = [
        event("fine"),
        event("s1", properties={"path": "/\ud800"}),
        event("s2", properties={"list": [{"\udc00": 1}]}),
        event("s3", type="blog\ud800view"),
        event("s4", type="blog\x00view"),
    ]
    report = ingest_events(db, events, playbook, now=NOW)
    assert [r.status for r in report.results] == ["stored"] + ["rejected"] * 4
    assert all(
        "surrogate" in (r.reason or "") or "NUL" in (r.reason or "") for r in report.rejected
    )
    _, stored = load_timeline(db, "L1", until=NOW, playbook=playbook)
    assert [e.id for e in stored] == ["fine"]


def test_lead_ids_that_would_shadow_a_route_are_refused(db: Database, playbook: Playbook) -> None:
    batch = [
        {"id": "acme/42", "email": "a@x.example"},
        {"id": "acme/next", "email": "b@x.example"},
        {"id": "x/drafts", "email": "c@x.example"},
        {"id": "next", "email": "d@x.example"},  # no route ends in a lone segment
    ]
    report = upsert_leads(db, batch, playbook, now=NOW)
    assert [r.status for r in report.results] == ["stored", "rejected", "rejected", "stored"]
    assert "'next' is reserved" in (report.results[1].reason or "")
    assert all_lead_ids(db) == ["acme/42", "next"]
