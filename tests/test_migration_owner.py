"""Downgrading below migration 0011 (lead owners) keeps every lead's timeline: on SQLite a batch
copy of `leads` drops the table, and its ON DELETE CASCADE emptied `events`. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import text

from agent.playbook import Playbook
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import load_lead, upsert_leads
from tests.test_migration_clean_surrogates import head, migrate_down_to, revision


def test_a_downgrade_below_lead_owners_keeps_the_events(db: Database, playbook: Playbook) -> None:
    upsert_leads(
        db, [{"id": "L1", "email": "dana@northwind.example", "owner": "rep@x.example"}], playbook
    )
    event = {"id": "e1", "lead_id": "L1", "type": "page_view", "properties": {"path": "/pricing"}}
    ingest_events(db, [{**event, "occurred_at": datetime.now(UTC).isoformat()}], playbook)
    migrate_down_to(db, "0010_handoff")
    with db.engine.connect() as connection:
        assert connection.scalar(text("SELECT count(*) FROM events")) == 1
        assert connection.scalar(text("SELECT count(*) FROM leads")) == 1
    db.migrate()
    assert revision(db) == head()
    with db.engine.connect() as connection:  # and the way back up keeps them too
        assert connection.scalar(text("SELECT count(*) FROM events")) == 1
    lead = load_lead(db, "L1")
    assert lead is not None and lead.owner is None  # the column came back empty
