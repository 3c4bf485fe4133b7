"""Migration 0012: hand-offs recorded before it get a state from their webhook (delivered when
it was delivered, else new: sales may never have heard of them), no rep, and survive a
downgrade and upgrade; rep keys gain an address column. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import text

from agent.playbook import Playbook
from agent.store import Database
from agent.store.handoffs import list_handoffs
from agent.store.leads import upsert_leads
from tests.test_migration_clean_surrogates import head, migrate_down_to, revision


def test_handoffs_from_before_get_a_state(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, [{"id": "L1", "email": "l1@x.example"}], playbook)
    migrate_down_to(db, "0013_send_windows")
    with db.engine.begin() as connection:  # as the code before wrote them
        connection.execute(
            text(
                "INSERT INTO handoffs (id, lead_id, rule, reason, webhook_status, created_at, "
                "attempts) VALUES (:id, 'L1', 'handoff.hot', 'Score reached the MQL threshold.', "
                ":status, CURRENT_TIMESTAMP, 0)"
            ),
            [
                {"id": "h-delivered", "status": "delivered"},
                {"id": "h-unheard", "status": "not_configured"},
                {"id": "h-failed", "status": "failed"},
            ],
        )
    db.migrate()
    assert revision(db) == head()
    states = {h.row.id: (h.row.state, h.row.assigned_to) for h in list_handoffs(db)}
    assert states == {
        "h-delivered": ("delivered", None),
        "h-unheard": ("new", None),
        "h-failed": ("new", None),
    }
    migrate_down_to(db, "0013_send_windows")
    db.migrate()
    assert {h.row.id for h in list_handoffs(db)} == set(states)
