"""Agent runs: one row per LangGraph thread, saying where it ended."""

from __future__ import annotations

from datetime import datetime

from agent.store.database import Database
from agent.store.schema import RunRow
from agent.store.upsert import upsert


def record_run(
    db: Database,
    *,
    thread_id: str,
    lead_id: str,
    outcome: str,
    at: datetime,
    playbook_version: str,
    action: str | None = None,
    detail: str | None = None,
) -> None:
    row = {
        "thread_id": thread_id,
        "lead_id": lead_id,
        "action": action,
        "outcome": outcome,
        "detail": detail,
        "playbook_version": playbook_version,
        "started_at": at,
        "updated_at": at,
    }
    # a later step that does not know the action must not erase it
    keep = ("started_at",) if action is not None else ("started_at", "action")
    with db.session() as session:
        upsert(session, RunRow, [row], keep=keep)


def get_run(db: Database, thread_id: str) -> RunRow | None:
    with db.session() as session:
        return session.get(RunRow, thread_id)
