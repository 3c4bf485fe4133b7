"""The store's lead search on SQLite and PostgreSQL: text in any case across name, email and
company (a '%' or '_' typed is a character, not a wildcard), the owner filter, highest recorded
score first with leads never decided last, and the total across pages."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.decisions import decide
from agent.playbook import Playbook
from agent.store import Database
from agent.store.decisions import LeadFilter, leads_by_score, record_decisions
from agent.store.leads import upsert_leads
from agent.timeline import Lead

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
LEADS = [
    {"id": "L1", "email": "dana@northwind.example", "name": "Dana Reyes", "company": "Northwind"},
    {
        "id": "L2",
        "email": "sam@kestrel.example",
        "name": "Sam North",
        "company": "Kestrel",
        "owner": "ana",
    },
    {
        "id": "L3",
        "email": "lee@acme.example",
        "name": "Lee",
        "company": "100% Acme_Co",
        "owner": "ana",
    },
    {"id": "L4", "email": "kim@acme.example", "name": "Kim", "company": "1000 Acme Co"},
]
SCORES = {"L1": 10.0, "L2": 40.0, "L3": 25.0}  # L4 never decided


def seed(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, LEADS, playbook)
    decisions = []
    for lead_id, total in SCORES.items():
        decision = decide(Lead(id=lead_id, email="x@example.org"), [], playbook, NOW)
        score = decision.score.model_copy(update={"total": total})
        decisions.append((decision.model_copy(update={"score": score}), playbook.version))
    record_decisions(db, decisions)


def ids(db: Database, where: LeadFilter, offset: int = 0) -> tuple[list[str], int]:
    rows, total = leads_by_score(db, where, offset=offset)
    return [lead.id for lead, _ in rows], total


def test_search_filter_order_and_pages(db: Database, playbook: Playbook) -> None:
    seed(db, playbook)
    assert ids(db, LeadFilter()) == (["L2", "L3", "L1", "L4"], 4)
    assert ids(db, LeadFilter(q="NORTH")) == (["L2", "L1"], 2)  # a name and a company
    assert ids(db, LeadFilter(q="100%")) == (["L3"], 1)
    assert ids(db, LeadFilter(q="acme_co")) == (["L3"], 1)
    assert ids(db, LeadFilter(owner="ana")) == (["L2", "L3"], 2)
    assert ids(db, LeadFilter(limit=2), offset=2) == (["L1", "L4"], 4)
    stage = decide(Lead(id="L1", email="x@example.org"), [], playbook, NOW).stage
    assert ids(db, LeadFilter(stage=stage, limit=2)) == (["L2", "L3"], 3)
