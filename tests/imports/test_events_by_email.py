"""Events may name their lead by address: found in any case, created on request, and an address
two leads share is refused as ambiguous."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from agent.playbook import Playbook
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import lead_ids_by_email, load_lead, upsert_leads
from agent.store.schema import EventRow

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
WHEN = "2026-11-19T09:30:00+01:00"
LEADS = [
    {"id": "L1", "email": "dana@northwind.example"},
    {"id": "L2", "email": "sam@acme.example"},
    {"id": "L3", "email": "SAM@acme.example"},
]


def page_view(id_: str, **who: str) -> dict[str, object]:
    return {"id": id_, **who, "type": "page_view", "occurred_at": WHEN, "properties": {"path": "/"}}


def lead_of(db: Database, event_id: str) -> str | None:
    with db.session() as session:
        return session.scalar(select(EventRow.lead_id).where(EventRow.id == event_id))


def test_an_event_names_its_lead_by_address_in_any_case(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, LEADS, playbook)
    report = ingest_events(
        db,
        [
            page_view("e1", lead_email=" Dana@Northwind.example"),
            page_view("e2", lead_email="sam@acme.example"),
            page_view("e3", lead_email="nobody@else.example"),
            page_view("e4"),
            page_view("e5", lead_id="L1", lead_email="dana@northwind.example"),
        ],
        playbook,
        now=NOW,
    )
    assert [(r.status, r.reason) for r in report.results] == [
        ("stored", None),
        (
            "rejected",
            "lead_email: 'sam@acme.example' is the address of 2 leads (L2, L3): ambiguous, "
            "name the lead by lead_id",
        ),
        (
            "rejected",
            "lead_email: no lead has the address 'nobody@else.example' "
            "(import it with --create-leads to create one)",
        ),
        ("rejected", "lead_id or lead_email: one of them is required"),
        ("rejected", "lead_id and lead_email: give one of them, not both"),
    ]
    assert lead_of(db, "e1") == "L1"


def test_create_leads_makes_one_lead_per_unknown_address(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, LEADS[:1], playbook)
    events = [
        page_view("e1", lead_email="new@fresh.example"),
        page_view("e2", lead_email="NEW@fresh.example"),
        page_view("e3", lead_email="dana@northwind.example"),
    ]
    report = ingest_events(db, events, playbook, now=NOW, create_leads=True)
    assert [r.status for r in report.results] == ["stored", "stored", "stored"]
    assert report.created_leads == 1
    [new_id] = lead_ids_by_email(db, ["new@fresh.example"])["new@fresh.example"]
    assert lead_of(db, "e1") == lead_of(db, "e2") == new_id
    created = load_lead(db, new_id)
    assert created is not None and created.email == "new@fresh.example"
    # the same file again: nothing new, not even a second lead
    again = ingest_events(db, events, playbook, now=NOW, create_leads=True)
    assert [r.status for r in again.results] == ["duplicate"] * 3
    assert again.created_leads == 0
    assert lead_ids_by_email(db, ["new@fresh.example"])["new@fresh.example"] == [new_id]


def test_an_id_less_event_by_address_is_stored_once(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, LEADS[:1], playbook)
    event = {"lead_email": "dana@northwind.example", "type": "page_view", "occurred_at": WHEN}
    first = ingest_events(db, [event], playbook, now=NOW)
    second = ingest_events(
        db, [{**event, "lead_email": "DANA@northwind.example"}], playbook, now=NOW
    )
    assert (first.results[0].status, second.results[0].status) == ("stored", "duplicate")
