"""A draft job that failed while procrastinate will run it again is not `failed`: the run says
`retrying`, with the attempts so far, the last error and when the next attempt is due. A real
procrastinate worker (in this process, so the run can be made to fail) on PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.runner import NurtureAgent, RunResult
from agent.settings import Settings
from agent.store.runs import get_run, queue_run
from api.convert import run_out
from api.schemas import RunOut
from tests.conftest import POSTGRES_URL
from tests.utils.agent_world import DANA, WHITEPAPER, World
from tests.utils.replicas import fresh_postgres
from tests.utils.smtp import CollectingHandler

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs NURTURE_TEST_DATABASE_URL"),
]


@pytest.fixture
def pg_world(settings: Settings, smtp_server: tuple[CollectingHandler, int]) -> Iterator[World]:
    assert POSTGRES_URL
    with fresh_postgres(POSTGRES_URL) as url:
        on_pg = Settings(data_dir=settings.data_dir, database_url=url, sweep_seconds=0)
        with open_checkpointer(on_pg) as checkpointer:
            ctx = build_context(on_pg)
            yield World(NurtureAgent(ctx, checkpointer), smtp_server[0], on_pg)
            ctx.db.dispose()


def status_of(world: World, thread_id: str, wanted: str, timeout: float = 20) -> RunOut:
    deadline = time.monotonic() + timeout
    while True:
        row = get_run(world.agent.ctx.db, thread_id)
        seen = run_out(row) if row is not None else None
        if seen is not None and seen.status == wanted:
            return seen
        assert time.monotonic() < deadline, seen
        time.sleep(0.05)


def test_a_failed_draft_job_waiting_for_its_retry_shows_retrying(
    pg_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    from agent.jobs.queue import QueueExecutor, WorkerThread

    world = pg_world
    world.seed(DANA, WHITEPAPER)

    def model_server_down(self: NurtureAgent, lead_id: str, **_: Any) -> RunResult:
        raise RuntimeError("model server down")

    monkeypatch.setattr(NurtureAgent, "start", model_server_down)
    thread_id = NurtureAgent.new_thread_id()
    queue_run(
        world.agent.ctx.db,
        thread_id=thread_id,
        lead_id="L1",
        at=datetime.now(UTC),
        playbook_version=world.agent.ctx.playbook.version,
    )
    worker = WorkerThread(world.agent, world.settings, concurrency=1)
    executor = QueueExecutor(world.settings)
    worker.start()
    executor.start()
    try:
        executor.submit_draft(thread_id, "L1")
        seen = status_of(world, thread_id, "retrying")
    finally:
        executor.stop()
        worker.stop()
    assert seen.attempts == 1 and seen.error == "model server down"
    assert seen.retry_at is not None and seen.updated_at is not None
    assert seen.retry_at > seen.updated_at  # when procrastinate will run it again
