"""An account's contacts, roles, scores and stages, its score (max or sum, as the playbook says),
stage and engaged contacts, and its timeline across contacts: as the store holds them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from agent.account_roles import role_of
from agent.decisions import decide
from agent.playbook import Playbook
from agent.playbook.models import AccountPolicy
from agent.store import Database
from agent.store.accounts import load_account
from agent.store.decisions import record_decision
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.schema import LeadDecisionRow, LeadScoreRow
from agent.store.scores import rescore_all
from agent.timeline import Lead
from agent.tools.timeline import load_timeline

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
LEADS = [
    {
        "id": "ann",
        "email": "ann@northwind.example",
        "name": "Ann",
        "attributes": {"title": "VP Operations", "industry": "logistics"},
    },
    {
        "id": "bo",
        "email": "bo@northwind.example",
        "name": "Bo",
        "attributes": {"title": "Fleet Manager"},
    },
    {
        "id": "cy",
        "email": "cy@northwind.example",
        "name": "Cy",
        "attributes": {"title": "Dispatcher"},
    },
    {"id": "di", "email": "di@globex.example", "name": "Di"},
]
EVENTS = [
    {
        "id": "e1",
        "lead_id": "ann",
        "type": "demo_request",
        "occurred_at": (NOW - timedelta(days=2)).isoformat(),
    },
    {
        "id": "e2",
        "lead_id": "bo",
        "type": "page_view",
        "occurred_at": (NOW - timedelta(days=5)).isoformat(),
        "properties": {"path": "/pricing"},
    },
    {
        "id": "e3",
        "lead_id": "cy",
        "type": "page_view",
        "occurred_at": (NOW - timedelta(days=40)).isoformat(),
        "properties": {"path": "/blog/x"},
    },
    {
        "id": "e4",
        "lead_id": "di",
        "type": "demo_request",
        "occurred_at": (NOW - timedelta(days=1)).isoformat(),
    },
]


def _seed(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, LEADS, playbook, now=NOW)
    assert not ingest_events(db, EVENTS, playbook, now=NOW).rejected
    for lead_id in ("ann", "bo", "cy", "di"):
        lead, events = load_timeline(db, lead_id, until=NOW, playbook=playbook)
        record_decision(db, decide(lead, events, playbook, NOW), playbook_version=playbook.version)
    rescore_all(db, playbook, NOW)


def test_the_account_is_its_contacts_as_stored(db: Database, playbook: Playbook) -> None:
    _seed(db, playbook)
    account = load_account(db, "northwind.example", playbook, NOW)
    assert account is not None
    with db.session() as session:
        scores = dict(session.execute(select(LeadScoreRow.lead_id, LeadScoreRow.total)).all())
        stages = dict(session.execute(select(LeadDecisionRow.lead_id, LeadDecisionRow.stage)).all())
    shown = {c.lead.id: (c.standing.score, c.standing.stage) for c in account.contacts}
    assert shown == {i: (scores[i], stages[i]) for i in ("ann", "bo", "cy")}
    assert [c.standing.score for c in account.contacts] == sorted(
        (scores[i] for i in ("ann", "bo", "cy")), reverse=True
    )
    assert account.standing.score == round(max(scores[i] for i in ("ann", "bo", "cy")), 2)
    assert account.standing.stage == "decision"  # ann asked for a demo
    assert account.standing.engaged_contacts == 2  # cy's last event is 40 days old
    assert {e.event_id for e in account.timeline} == {"e1", "e2", "e3"}  # not globex's e4
    assert [e.event_id for e in account.timeline][0] == "e1"  # newest first
    roles = {c.lead.id: c.role for c in account.contacts}
    assert roles == {"ann": "decision_maker", "bo": "influencer", "cy": "user"}


def test_only_the_engaging_signals_make_a_contact_engaged(db: Database, playbook: Playbook) -> None:
    """The page counts engaged contacts as the hand-off rule does (accounts.engaged_signals): a
    blog read yesterday and our own email to cy do not make cy engaged."""
    _seed(db, playbook)
    later = [
        {
            "id": "e5",
            "lead_id": "cy",
            "type": "page_view",
            "occurred_at": (NOW - timedelta(days=1)).isoformat(),
            "properties": {"path": "/blog/y"},
        },
        {
            "id": "e6",
            "lead_id": "cy",
            "type": "email_sent",
            "occurred_at": (NOW - timedelta(hours=3)).isoformat(),
        },
    ]
    assert not ingest_events(db, later, playbook, now=NOW).rejected
    account = load_account(db, "northwind.example", playbook, NOW)
    assert account is not None
    assert "blog_view" not in playbook.engaging_signals()
    assert account.standing.engaged_contacts == 2
    assert account.standing.handoff is None


def test_the_playbook_may_sum_the_contacts_scores(db: Database, playbook: Playbook) -> None:
    _seed(db, playbook)
    summing = playbook.model_copy(update={"accounts": AccountPolicy(score="sum")})
    account = load_account(db, "northwind.example", summing, NOW)
    assert account is not None
    with db.session() as session:
        totals = session.scalars(
            select(LeadScoreRow.total).where(LeadScoreRow.lead_id.in_(["ann", "bo", "cy"]))
        ).all()
    assert account.standing.score == round(sum(totals), 2)


def test_an_unknown_account_is_none(db: Database, playbook: Playbook) -> None:
    assert load_account(db, "nobody.example", playbook, NOW) is None


def test_roles_come_from_titles() -> None:
    def role(title: str | None) -> str:
        return role_of(Lead("x", "x@y.example", attributes={"title": title} if title else {}))

    assert role("Chief Financial Officer") == "decision_maker"
    assert role("CFO") == "decision_maker"
    assert role("Head of Logistics") == "decision_maker"
    assert role("Director, Supply Chain") == "decision_maker"
    assert role("IT Manager") == "influencer"
    assert role("Warehouse clerk") == "user"
    assert role(None) == "unknown"
