"""Migration 0008 (issue #11): rows the old code could leave behind that its unique indexes
would refuse (several unfinished runs, several pending drafts of one lead) are settled before
the indexes are built, none deleted: the newest unfinished run stays running, the oldest
pending draft stays in the inbox, the others say why they were set aside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from agent.playbook import Playbook
from agent.store import Database
from agent.store.leads import upsert_leads
from agent.store.schema import ApprovalRow, RunRow
from tests.test_migration_clean_surrogates import head, migrate_down_to, revision

T = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _runs(db: Database, rows: list[tuple[str, str, str, datetime]]) -> None:
    with db.session() as session:
        session.execute(
            insert(RunRow),
            [
                {
                    "thread_id": thread,
                    "lead_id": lead,
                    "outcome": outcome,
                    "playbook_version": "v1",
                    "started_at": at,
                    "updated_at": at,
                }
                for thread, lead, outcome, at in rows
            ],
        )


def _approvals(db: Database, rows: list[tuple[str, str, str, str, datetime]]) -> None:
    with db.session() as session:
        session.execute(
            insert(ApprovalRow),
            [
                {
                    "id": approval,
                    "thread_id": thread,
                    "lead_id": lead,
                    "status": status,
                    "subject": "s",
                    "body": "b",
                    "cited_asset_ids": [],
                    "lead_facts_used": [],
                    "drafter": "template",
                    "prompt_version": "p1",
                    "playbook_version": "v1",
                    "violations": [],
                    "decision": {},
                    "created_at": at,
                }
                for approval, thread, lead, status, at in rows
            ],
        )


def test_rows_from_before_durable_runs_are_settled_not_deleted(
    db: Database, playbook: Playbook
) -> None:
    upsert_leads(db, [{"id": lead, "email": f"{lead}@x.example"} for lead in "AB"], playbook)
    migrate_down_to(db, "0007")
    hour = timedelta(hours=1)
    _runs(
        db,
        [
            ("A:1", "A", "started", T),
            ("A:2", "A", "started", T + hour),
            ("A:3", "A", "started", T + 2 * hour),
            ("A:0", "A", "awaiting_approval", T - hour),
            ("B:1", "B", "started", T),  # the same moment: the thread id decides
            ("B:2", "B", "started", T),
        ],
    )
    _approvals(
        db,
        [
            ("a-1", "A:0", "A", "pending", T),
            ("a-2", "A:1", "A", "pending", T + hour),
            ("a-0", "A:0", "A", "accepted", T - hour),
            ("b-2", "B:1", "B", "pending", T),
            ("b-1", "B:2", "B", "pending", T),
        ],
    )
    db.migrate()
    assert revision(db) == head()
    with db.session() as session:
        runs = {r.thread_id: r for r in session.scalars(select(RunRow))}
        approvals = {a.id: a for a in session.scalars(select(ApprovalRow))}
    assert {t: r.outcome for t, r in runs.items()} == {
        "A:0": "awaiting_approval",
        "A:1": "failed",
        "A:2": "failed",
        "A:3": "running",
        "B:1": "failed",
        "B:2": "running",
    }
    assert all("newer run of this lead" in (runs[t].error or "") for t in ("A:1", "A:2", "B:1"))
    assert runs["A:3"].error is None and runs["A:3"].worker is None  # recover may take it
    assert {a: r.status for a, r in approvals.items()} == {
        "a-0": "accepted",
        "a-1": "pending",
        "a-2": "superseded",
        "b-1": "pending",
        "b-2": "superseded",
    }
    assert "already waiting" in (approvals["a-2"].feedback or "")
    # the indexes are in place: one unfinished run and one pending draft per lead from now on
    with pytest.raises(IntegrityError):
        _runs(db, [("A:4", "A", "queued", T + 3 * hour)])
    with pytest.raises(IntegrityError):
        _approvals(db, [("b-3", "B:2", "B", "pending", T + hour)])
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(RunRow)) == 6
