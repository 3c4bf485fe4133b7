"""Reads that must not grow with the events or the runs: `nurture run`'s candidate selection
asks, per decided lead, whether an event arrived after the decision through an index on
(lead_id, received_at), one seek per lead rather than reading every event of the lead; and the
`nurture_runs{outcome}` gauge counts runs from an index on the outcome, not the runs' rows.
Checked on the query plan of the statements the real code sends, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import event, text

from agent.playbook import Playbook
from agent.store import Database
from agent.store.decisions import draft_candidates
from agent.store.leads import upsert_leads
from agent.store.runs import queue_run
from api.store_metrics import StoreCounts
from tests.test_run_selection import record_every_decision, seed_demo


def plans_of(db: Database, call: Callable[[], object]) -> list[str]:
    """The query plan of every statement `call` sends to the database, as the database has it
    (PostgreSQL told not to scan sequentially: a few rows make a scan cheapest, and the question
    is whether an index can serve)."""
    sent: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", capture)
    try:
        call()
    finally:
        event.remove(db.engine, "before_cursor_execute", capture)
    plans = []
    with db.engine.connect() as connection:
        if db.dialect == "sqlite":
            for statement, parameters in sent:
                rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters)
                plans.append("\n".join(str(row[-1]) for row in rows))
        else:
            connection.execute(text("SET enable_seqscan = off"))
            for statement, parameters in sent:
                rows = connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
                plans.append("\n".join(str(row[0]) for row in rows))
    assert plans, "nothing was read"
    return plans


def test_run_candidates_read_the_events_after_a_decision_through_an_index(
    db: Database, playbook: Playbook
) -> None:
    now = datetime.now(UTC)
    seed_demo(db, playbook, now)
    record_every_decision(db, playbook, now)
    plans = plans_of(
        db,
        lambda: draft_candidates(
            db, actions=("send_email", "re_engage"), now=now, playbook_version=playbook.version
        ),
    )
    joined = "\n".join(plans)
    assert "ix_events_lead_received" in joined, joined


def test_the_runs_gauge_counts_from_an_index(db: Database, playbook: Playbook) -> None:
    upsert_leads(db, [{"id": "L1", "email": "dana@northwind.example"}], playbook)
    queue_run(db, thread_id="t-1", lead_id="L1", at=datetime.now(UTC), playbook_version="t")
    plans = plans_of(
        db,
        lambda: list(
            StoreCounts(db, queue=False, handoff_sla_hours=24, now=datetime.now(UTC)).collect()
        ),
    )
    joined = "\n".join(plans)
    assert "ix_runs_outcome" in joined, joined
