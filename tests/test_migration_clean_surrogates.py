"""Migration 0005 (issue #10, item 1): rows written before lone UTF-16 surrogates were refused
are cleaned (each lone surrogate becomes U+FFFD), so no stored row can break a read.

How the old code stored such a value, found by experiment: on SQLite, JSON columns hold it as
the escape `\\ud800` (json.dumps writes it, orjson refuses to read it back); on PostgreSQL the
write itself failed (jsonb refuses the escape; psycopg cannot encode it for text columns)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DataError

from agent.playbook import Playbook
from agent.store import Database
from agent.store.approvals import get_approval
from agent.store.database import MIGRATIONS
from agent.store.leads import load_lead, upsert_leads
from agent.store.schema import ApprovalRow, EventRow, LeadRow, RunRow
from agent.tools.timeline import load_timeline
from tests.utils.service import Service

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
GOOD = {"emoji": "\U0001f600", "hangul": "\ud55c", "literal": "\\ud800 is text here"}


def migrate_down_to(db: Database, revision: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, revision)


def head() -> str:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return str(ScriptDirectory.from_config(config).get_current_head())


def revision(db: Database) -> str:
    with db.engine.connect() as connection:
        return str(connection.scalar(text("SELECT version_num FROM alembic_version")))


def old_write(db: Database, lead_id: str) -> None:
    """What the code before the fix let through: straight into the tables, no validation."""
    with db.session() as session:
        session.execute(
            insert(LeadRow),
            [
                {
                    "id": lead_id,
                    "email": f"{lead_id.lower()}@x.example",
                    "attributes": {"title": "VP\ud800", "\udc00": "key", **GOOD},
                    "do_not_contact": False,
                    "created_at": NOW,
                    "updated_at": NOW,
                }
            ],
        )
        session.execute(
            insert(EventRow),
            [
                {
                    "id": f"{lead_id}-poisoned",
                    "lead_id": lead_id,
                    "type": "page_view",
                    "occurred_at": NOW - timedelta(days=1),
                    "properties": {"path": "/\ud800", "pair": "\ud83d\ude00", "list": ["\udfff"]},
                    "received_at": NOW,
                }
            ],
        )
        session.execute(
            insert(RunRow),
            [
                {
                    "thread_id": f"t-{lead_id}",
                    "lead_id": lead_id,
                    "outcome": "awaiting_approval",
                    "playbook_version": "v1",
                    "started_at": NOW,
                    "updated_at": NOW,
                }
            ],
        )
        session.execute(
            insert(ApprovalRow),
            [
                {
                    "id": f"a-{lead_id}",
                    "thread_id": f"t-{lead_id}",
                    "lead_id": lead_id,
                    "status": "pending",
                    "subject": "s",
                    "body": "b",
                    "cited_asset_ids": [],
                    "lead_facts_used": ["title: VP\ud800"],
                    "drafter": "template",
                    "prompt_version": "p1",
                    "playbook_version": "v1",
                    "violations": [],
                    "decision": {"reasons": [{"text": "read /\ud800"}]},
                    "created_at": NOW,
                }
            ],
        )


def test_rows_written_before_the_fix_are_cleaned(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, [{"id": "CLEAN", "email": "c@x.example", "attributes": GOOD}], playbook)
    migrate_down_to(db, "0004")
    if db.dialect == "postgresql":
        # nothing poisoned can exist here: the old write failed (and lost its batch)
        with pytest.raises(DataError, match="surrogate"):
            old_write(db, "OLD")
    else:
        old_write(db, "OLD")
        with pytest.raises(ValueError, match="surrogate"), db.session() as session:
            # the defect: every read of the row failed (read by column: today's lead has
            # columns the schema of 0004 lacks)
            session.scalar(select(LeadRow.attributes).where(LeadRow.id == "OLD"))
    db.migrate()
    assert revision(db) == head()  # 0005 and every later one ran
    assert load_lead(db, "CLEAN").attributes == GOOD  # type: ignore[union-attr]
    if db.dialect == "postgresql":
        return
    lead = load_lead(db, "OLD")
    assert lead is not None
    assert lead.attributes == {"title": "VP\ufffd", "\ufffd": "key", **GOOD}
    _, events = load_timeline(db, "OLD", until=NOW, playbook=playbook)
    [event] = events
    assert event.properties == {"path": "/\ufffd", "pair": "\U0001f600", "list": ["\ufffd"]}
    approval = get_approval(db, "a-OLD")
    assert approval.lead_facts_used == ["title: VP\ufffd"]
    assert approval.decision == {"reasons": [{"text": "read /\ufffd"}]}


def test_after_the_migration_the_lead_answers_again(service: Service) -> None:
    db = service.world.agent.ctx.db
    migrate_down_to(db, "0004")
    with db.session() as session:  # the event the old code accepted for lead L1
        session.execute(
            insert(EventRow),
            [
                {
                    "id": "poisoned",
                    "lead_id": "L1",
                    "type": "page_view",
                    "occurred_at": datetime.now(UTC) - timedelta(hours=1),
                    "properties": {"path": "/\ud800"},
                    "received_at": datetime.now(UTC),
                }
            ],
        )
    with pytest.raises(ValueError, match="surrogate"), db.session() as session:
        session.scalars(select(EventRow.properties).where(EventRow.lead_id == "L1")).all()
    db.migrate()
    response = service.call("GET", "/v1/leads/L1/next", "rep")
    assert response.status_code == 200, response.text
    assert service.call("GET", "/leads/L1", "rep").status_code == 200
    _, events = load_timeline(db, "L1", until=datetime.now(UTC))
    assert {"path": "/\ufffd"} in [e.properties for e in events]
