"""The pending-draft check when a run is queued and the insert of its row are two statements:
another run of the lead may reach `awaiting_approval` in between. The loser ends `blocked` with
the reason, never with a raw IntegrityError, and never leaves a second pending draft. The
interleaving is forced by a hook on the store function, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

import agent.jobs.drafts as drafts
from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.jobs.drafts import accept_draft, run_draft
from agent.runner import NurtureAgent
from agent.settings import Settings
from agent.store.approvals import PendingDraft, open_approval, pending
from agent.store.runs import get_run, queue_run, record_run
from tests.conftest import POSTGRES_URL
from tests.utils.agent_world import DANA, WHITEPAPER, World
from tests.utils.replicas import fresh_postgres
from tests.utils.smtp import CollectingHandler


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def any_world(
    request: pytest.FixtureRequest,
    settings: Settings,
    smtp_server: tuple[CollectingHandler, int],
) -> Iterator[World]:
    """The agent's world on SQLite, and on a fresh PostgreSQL database of its own."""
    if request.param == "sqlite":
        with open_checkpointer(settings) as checkpointer:
            ctx = build_context(settings)
            yield World(NurtureAgent(ctx, checkpointer), smtp_server[0], settings)
        return
    if not POSTGRES_URL:
        pytest.skip("PostgreSQL tests need NURTURE_TEST_DATABASE_URL")
    with fresh_postgres(POSTGRES_URL) as url:
        on_pg = Settings(
            data_dir=settings.data_dir,
            database_url=url,
            smtp_host=settings.smtp_host,
            smtp_port=settings.smtp_port,
            smtp_starttls=False,
        )
        with open_checkpointer(on_pg) as checkpointer:
            ctx = build_context(on_pg)
            yield World(NurtureAgent(ctx, checkpointer), smtp_server[0], on_pg)
            ctx.db.dispose()


def competing_draft(thread_id: str) -> PendingDraft:
    return PendingDraft(
        approval_id=f"{thread_id}.1",
        thread_id=thread_id,
        lead_id=DANA["id"],
        subject="An earlier draft",
        body="Waiting for a reviewer.",
        cited_asset_ids=[],
        lead_facts_used=[],
        drafter="template",
        prompt_version="p",
        playbook_version="v",
        violations=[],
        decision={},
        created_at=datetime.now(UTC),
    )


def test_the_loser_of_the_race_ends_blocked_with_one_pending_draft(
    any_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    world = any_world
    world.seed(DANA, WHITEPAPER)
    db = world.agent.ctx.db
    winner = f"{DANA['id']}:winner"
    real_queue_run = queue_run

    def other_run_reaches_review_meanwhile(*args: Any, **kwargs: Any) -> None:
        # queue_run checks for a pending draft, then inserts the run: the other run of this
        # lead opened its approval and stopped being active between the two
        real_queue_run(*args, **kwargs)
        now = datetime.now(UTC)
        record_run(
            db,
            thread_id=winner,
            lead_id=DANA["id"],
            outcome="awaiting_approval",
            at=now,
            playbook_version="v",
        )
        open_approval(db, competing_draft(winner))

    monkeypatch.setattr(drafts, "queue_run", other_run_reaches_review_meanwhile)
    loser = accept_draft(world.agent, DANA["id"])

    result = run_draft(world.agent, loser, worker="test")

    assert result is not None and result.outcome == "blocked", result
    row = get_run(db, loser)
    assert row is not None and row.outcome == "blocked", row and (row.outcome, row.error)
    assert row.detail == f"a draft is already pending for this lead: {winner}.1"
    assert [a.id for a in pending(db, lead_id=DANA["id"])] == [f"{winner}.1"]
