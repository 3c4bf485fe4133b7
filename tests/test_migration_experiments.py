"""Migration 0020: approvals gain the experiment variants their draft was written with; rows
from before read as none, and the column goes and comes back with a downgrade and upgrade.
SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from agent.store import Database
from tests.test_migration_clean_surrogates import head, migrate_down_to, revision


def _approval_columns(db: Database) -> set[str]:
    return {c["name"] for c in inspect(db.engine).get_columns("approvals")}


def test_approvals_gain_and_lose_the_experiments_column(db: Database) -> None:
    assert revision(db) == head() and "experiments" in _approval_columns(db)
    migrate_down_to(db, "0019_accounts")
    assert "experiments" not in _approval_columns(db)
    db.migrate()
    assert revision(db) == head() and "experiments" in _approval_columns(db)
