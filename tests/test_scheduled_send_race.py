"""A scheduled send and a cancel at the same moment, from several threads, on SQLite and on
PostgreSQL: the claim and the cancel are each one conditional UPDATE from `scheduled`, so
exactly one of them wins, and the email goes out at most once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.context import AgentContext, build_context
from agent.nodes.send import message_id_for
from agent.scheduled_sends import CancelRefused, cancel_send, send_scheduled
from agent.settings import Settings
from agent.store import Database
from agent.store.scheduled_sends import schedule_send
from agent.store.sends import get_send
from tests.utils.agent_world import DANA
from tests.utils.smtp import CollectingHandler
from tests.utils.store_seeds import accepted_draft

SUBJECT, BODY = "A short read, Dana", "Hi Dana,\n\nWorth five minutes.\n"


def seed_scheduled_send(db: Database, ctx: AgentContext, opening: datetime) -> str:
    """An approved send waiting for the window, written straight into the store."""
    now = datetime.now(UTC)
    approval_id = accepted_draft(
        db, ctx.playbook, DANA, thread_id="L1:race", run_outcome="scheduled", at=now,
        subject=SUBJECT, body=BODY, drafted_at=now - timedelta(minutes=5),
    )  # fmt: skip
    assert schedule_send(
        db,
        approval_id=approval_id,
        lead_id="L1",
        message_id=message_id_for(approval_id),
        to_address=DANA["email"],
        subject=SUBJECT,
        body=BODY,
        at=now,
        scheduled_for=opening,
        zone="UTC",
    )
    return approval_id


def race(ctx: AgentContext, approval_id: str, n: int = 6) -> list[Any]:
    start = threading.Barrier(n)
    outcomes: list[Any] = []

    def sender() -> None:
        start.wait()
        outcomes.append(send_scheduled(ctx, approval_id).outcome)

    def canceller(who: int) -> None:
        start.wait()
        try:
            outcomes.append(cancel_send(ctx, approval_id, by=f"marketer-{who}").status)
        except CancelRefused as exc:
            outcomes.append(exc)

    threads = [
        threading.Thread(target=sender) if i % 2 else threading.Thread(target=canceller, args=(i,))
        for i in range(n)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return outcomes


def check_race(ctx: AgentContext, smtp: CollectingHandler) -> None:
    opening = datetime.now(UTC) - timedelta(seconds=1)  # due now; no window in this playbook
    approval_id = seed_scheduled_send(ctx.db, ctx, opening)
    outcomes = race(ctx, approval_id)
    won = [o for o in outcomes if o in ("sent", "cancelled")]
    assert len(won) == 1, outcomes
    refused = [o for o in outcomes if o not in won]
    assert all(o == "gone" or isinstance(o, CancelRefused) for o in refused), outcomes
    assert len(smtp.envelopes) == (1 if won == ["sent"] else 0)
    assert get_send(ctx.db, approval_id).status == won[0]  # type: ignore[union-attr]


def test_a_send_and_a_cancel_at_once_one_wins_on_sqlite(
    settings: Settings, smtp_server: tuple[CollectingHandler, int]
) -> None:
    check_race(build_context(settings), smtp_server[0])


@pytest.mark.postgres
def test_a_send_and_a_cancel_at_once_one_wins_on_postgresql(
    postgres_url: str,
    indexed_data: Path,
    smtp_server: tuple[CollectingHandler, int],
    settings: Settings,
) -> None:
    from sqlalchemy import text

    ctx = build_context(settings.model_copy(update={"database_url": postgres_url}))
    with ctx.db.engine.begin() as conn:
        conn.execute(text("TRUNCATE leads, runs, approvals, sends CASCADE"))
    check_race(ctx, smtp_server[0])
