"""Stepping the schema down one revision at a time (and back up) keeps every row of every table
that the step does not drop. On SQLite a batch migration copies a table and drops the original,
and with foreign keys on the drop's implicit DELETE cascades: a copy of `approvals` emptied
`sends` and `send_actions`, a copy of `runs` emptied `approvals` too (migration 0011 once did
the same to `events` through `leads`). SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Table, insert, inspect, text

from agent.store import Database
from agent.store.database import MIGRATIONS
from agent.store.schema import (
    AccountSendLockRow,
    ApiKeyRow,
    ApprovalRow,
    Base,
    CounterRow,
    DecisionChangeRow,
    EventRow,
    HandoffChangeRow,
    HandoffRow,
    IdentityLinkRow,
    IngestRejectionRow,
    LeadDecisionRow,
    LeadRow,
    LeadScoreRow,
    PendingEventRow,
    PlaybookVersionRow,
    RunRow,
    SendActionRow,
    SendRow,
    ServiceSecretRow,
)
from tests.conftest import POSTGRES_URL
from tests.test_migration_clean_surrogates import head, revision

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
LOWEST = "0005"
"""Below every batch migration (the first is 0006): the walk down ends here."""

SEED: list[tuple[type[Base], dict[str, object]]] = [
    (LeadRow, {"id": "L1", "email": "dana@northwind.example", "attributes": {},
               "do_not_contact": False, "created_at": NOW, "updated_at": NOW}),
    (EventRow, {"id": "e1", "lead_id": "L1", "type": "page_view", "occurred_at": NOW,
                "properties": {}, "received_at": NOW}),
    (LeadScoreRow, {"lead_id": "L1", "attribute": 1.0, "behaviour": 2.0, "total": 3.0,
                    "hot": False, "scored_at": NOW, "playbook_version": "v1"}),
    (RunRow, {"thread_id": "t1", "lead_id": "L1", "outcome": "awaiting_approval",
              "playbook_version": "v1", "started_at": NOW, "updated_at": NOW}),
    (ApprovalRow, {"id": "a1", "thread_id": "t1", "lead_id": "L1", "status": "approved",
                   "subject": "s", "body": "b", "cited_asset_ids": [], "lead_facts_used": [],
                   "drafter": "template", "prompt_version": "p1", "playbook_version": "v1",
                   "violations": [], "decision": {}, "created_at": NOW}),
    (SendRow, {"approval_id": "a1", "lead_id": "L1", "message_id": "<m1@x>", "status": "failed",
               "to_address": "dana@northwind.example", "subject": "s", "body": "b",
               "attempted_at": NOW}),
    (SendActionRow, {"approval_id": "a1", "action": "resend", "by": "ops", "at": NOW,
                     "from_status": "failed"}),
    (HandoffRow, {"id": "h1", "lead_id": "L1", "rule": "hot", "reason": "r",
                  "webhook_status": "delivered", "created_at": NOW}),
    (HandoffChangeRow, {"handoff_id": "h1", "to_state": "new", "by": "agent", "at": NOW}),
    (CounterRow, {"name": "handoff_turn", "value": 1}),
    (ApiKeyRow, {"id": "k1", "name": "ops", "role": "admin", "secret_hash": "x",
                 "created_at": NOW}),
    (LeadDecisionRow, {"lead_id": "L1", "stage": "aware", "action": "wait", "total": 3.0,
                       "hot": False, "playbook_version": "v1", "decided_at": NOW}),
    (DecisionChangeRow, {"lead_id": "L1", "at": NOW, "to_stage": "aware", "to_action": "wait",
                         "to_hot": False, "playbook_version": "v1", "rule": "r",
                         "stage_rule": "stage.default"}),
    (AccountSendLockRow, {"account": "northwind.example", "claims": 1}),
    (PlaybookVersionRow, {"version": "v1", "text": "x", "activated_by": "ops",
                          "activated_at": NOW}),
    (PendingEventRow, {"id": "p1", "anonymous_id": "anon", "type": "page_view",
                       "occurred_at": NOW, "properties": {}, "received_at": NOW}),
    (IdentityLinkRow, {"kind": "user", "value": "u1", "lead_id": "L1", "linked_at": NOW}),
    (IngestRejectionRow, {"id": "segment:m1", "source": "segment", "reason_code": "bad",
                          "reason": "r", "received_at": NOW}),
    (ServiceSecretRow, {"name": "unsubscribe", "value": "s", "created_at": NOW}),
]  # fmt: skip


def _table(row: type[Base]) -> Table:
    table = row.__table__
    assert isinstance(table, Table)
    return table


def _seed(db: Database) -> None:
    with db.engine.begin() as connection:
        for row, values in SEED:
            connection.execute(insert(_table(row)), [values])


def _counts(db: Database) -> dict[str, int]:
    """Rows in each seeded table the current revision has."""
    with db.engine.connect() as connection:
        present = set(inspect(connection).get_table_names())
        return {
            name: int(connection.scalar(text(f"SELECT count(*) FROM {name}")) or 0)
            for name in (_table(row).name for row, _ in SEED)
            if name in present
        }


def _step(db: Database, direction: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with db.engine.begin() as connection:
        config.attributes["connection"] = connection
        if direction == "down":
            command.downgrade(config, "-1")
        else:
            command.upgrade(config, "+1")


def _walk(db: Database, direction: str, until: str) -> Iterator[str]:
    while revision(db) != until:
        _step(db, direction)
        yield revision(db)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def own_db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A database of its own: the walk seeds every table (an active playbook among them) and
    would leave its rows to the next tests sharing the session's PostgreSQL database."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'nurture.db'}")
        database.migrate()
        yield database
        database.dispose()
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need NURTURE_TEST_DATABASE_URL")
    from tests.utils.replicas import fresh_postgres

    with fresh_postgres(POSTGRES_URL) as url:
        database = Database(url)
        database.migrate()
        yield database
        database.dispose()


def test_every_step_down_and_up_keeps_the_rows_of_the_tables_it_keeps(own_db: Database) -> None:
    db = own_db
    _seed(db)
    assert set(_counts(db).values()) == {1}  # every seeded table has its row
    for now_at in _walk(db, "down", LOWEST):
        emptied = {name for name, count in _counts(db).items() if count != 1}
        assert not emptied, f"stepping down to {now_at} emptied {sorted(emptied)}"
    kept = set(_counts(db))
    for now_at in _walk(db, "up", head()):
        emptied = {name for name in kept if _counts(db)[name] != 1}
        assert not emptied, f"stepping up to {now_at} emptied {sorted(emptied)}"
