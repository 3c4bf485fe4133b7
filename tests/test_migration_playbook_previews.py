"""Migration 0021: the playbook_previews table (a preview is a job, #17) with its index that
keeps one waiting or running preview per candidate and version in force; it goes and comes back
with a downgrade and upgrade. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import inspect

from agent.store import Database
from tests.test_migration_clean_surrogates import head, migrate_down_to, revision


def _tables(db: Database) -> set[str]:
    return set(inspect(db.engine).get_table_names())


def test_the_previews_table_comes_and_goes(db: Database) -> None:
    assert revision(db) == head() == "0021_playbook_previews"
    assert "playbook_previews" in _tables(db)
    indexes = {i["name"] for i in inspect(db.engine).get_indexes("playbook_previews")}
    assert "uq_playbook_previews_active" in indexes
    migrate_down_to(db, "0020_experiments")
    assert "playbook_previews" not in _tables(db)
    db.migrate()
    assert revision(db) == head() and "playbook_previews" in _tables(db)
