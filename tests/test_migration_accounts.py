"""Migration 0019: leads stored before it get their account (the account_id attribute, else
the company domain, none for free mail), and survive a downgrade and upgrade. SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import insert

from agent.playbook import Playbook
from agent.store import Database
from agent.store.schema import LeadRow
from tests.test_migration_clean_surrogates import head, migrate_down_to, revision


def test_leads_from_before_get_their_account(db: Database, playbook: Playbook) -> None:
    migrate_down_to(db, "0018_decision_history")
    upsert_before: list[dict[str, object]] = [
        {"id": "a", "email": "ann@northwind.example"},
        {"id": "b", "email": "bo@gmail.com"},
        {"id": "c", "email": "cy@gmail.com", "attributes": {"account_id": "globex"}},
    ]
    _insert_without_account(db, upsert_before)
    db.migrate()
    assert revision(db) == head()
    assert _accounts(db) == {"a": "northwind.example", "b": None, "c": "globex"}
    migrate_down_to(db, "0018_decision_history")
    db.migrate()
    assert _accounts(db) == {"a": "northwind.example", "b": None, "c": "globex"}


def _insert_without_account(db: Database, leads: list[dict[str, object]]) -> None:
    # as the code before wrote them: the columns named are the only ones in the INSERT
    now = datetime.now(UTC)
    with db.engine.begin() as connection:
        for lead in leads:
            values = {"attributes": {}, "do_not_contact": False, **lead}
            connection.execute(insert(LeadRow).values(created_at=now, updated_at=now, **values))


def _accounts(db: Database) -> dict[str, str | None]:
    with db.session() as session:
        return {row.id: row.account for row in session.query(LeadRow).order_by(LeadRow.id)}
