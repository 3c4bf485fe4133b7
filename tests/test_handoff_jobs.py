"""The sales hand-off is delivered by a job: the node records the hand-off (`queued`) and the
executor delivers it with retries and backoff on transient failures (5xx, 429, connection
errors), never on other 4xx. The row counts the attempts, keeps the last error and when it was
delivered; every attempt carries the hand-off id as its Idempotency-Key. A real HTTP receiver
on 127.0.0.1; the local executor on SQLite; a real `nurture worker` process on PostgreSQL."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.jobs.local import LocalExecutor
from agent.playbook import load_playbook
from agent.runner import NurtureAgent
from agent.settings import DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.handoffs import get_handoff
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.runs import queue_run
from agent.store.schema import HandoffRow
from tests.conftest import POSTGRES_URL
from tests.test_crm_webhook import WebhookServer
from tests.utils.agent_world import DANA, SeedEvent, World
from tests.utils.replicas import NURTURE, fresh_postgres, nurture_env
from tests.utils.smtp import CollectingHandler

SAM = {**DANA, "id": "L2", "email": "sam@northwind.example", "name": "Sam Reyes"}
DEMO_REQUEST: list[SeedEvent] = [("demo_request", 2, {})]
"""A timeline that hands the lead to sales."""


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookServer]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with WebhookServer() as server:
        yield server


def settled(db: Database, handoff_id: str, timeout: float = 60) -> HandoffRow:
    """The hand-off once its delivery is over (delivered or failed)."""
    deadline = time.monotonic() + timeout
    while True:
        row = get_handoff(db, handoff_id)
        if row is not None and row.webhook_status in ("delivered", "failed"):
            return row
        assert time.monotonic() < deadline, row and (row.webhook_status, row.webhook_error)
        time.sleep(0.05)


@pytest.fixture
def local_world(
    settings: Settings, smtp_server: tuple[CollectingHandler, int], webhook: WebhookServer
) -> Iterator[tuple[World, LocalExecutor]]:
    config = settings.model_copy(
        update={"sales_webhook_url": webhook.url, "handoff_backoff_seconds": 1}
    )
    with open_checkpointer(config) as checkpointer:
        world = World(NurtureAgent(build_context(config), checkpointer), smtp_server[0], config)
        executor = LocalExecutor(world.agent, config)
        executor.start()
        try:
            yield world, executor
        finally:
            executor.stop()


def test_a_handoff_is_retried_on_503_until_delivered_on_sqlite(
    local_world: tuple[World, LocalExecutor], webhook: WebhookServer
) -> None:
    world, _ = local_world
    webhook.statuses.extend([503, 503])
    world.seed(DANA, DEMO_REQUEST)

    result = world.agent.start("L1")

    assert result.outcome == "handed_off" and "(webhook queued)" in (result.detail or "")
    handoff_id = f"handoff-{result.thread_id}"
    row = settled(world.agent.ctx.db, handoff_id)
    assert row.webhook_status == "delivered" and row.attempts == 3
    assert row.delivered_at is not None and row.webhook_error == "HTTP 503 Service Unavailable"
    assert [r.headers["Idempotency-Key"] for r in webhook.requests] == [handoff_id] * 3
    assert len({r.body for r in webhook.requests}) == 1


def test_a_handoff_refused_with_400_is_not_retried_on_sqlite(
    local_world: tuple[World, LocalExecutor], webhook: WebhookServer
) -> None:
    world, executor = local_world
    webhook.statuses.append(400)
    world.seed(DANA, DEMO_REQUEST)

    result = world.agent.start("L1")

    row = settled(world.agent.ctx.db, f"handoff-{result.thread_id}")
    executor.stop()  # whatever it would still do is done
    assert row.webhook_status == "failed" and row.attempts == 1 and row.delivered_at is None
    assert row.webhook_error == "HTTP 400 Bad Request"
    assert len(webhook.requests) == 1


def seed(url: str) -> Database:
    db = Database(url)
    db.migrate()
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    now = datetime.now(UTC)
    upsert_leads(db, [DANA, SAM], playbook)
    events = [
        {
            "id": f"{lead['id']}-demo",
            "lead_id": lead["id"],
            "type": "demo_request",
            "occurred_at": (now - timedelta(days=2)).isoformat(),
            "properties": {},
        }
        for lead in (DANA, SAM)
    ]
    assert not ingest_events(db, events, playbook).rejected
    return db


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs NURTURE_TEST_DATABASE_URL")
def test_a_nurture_worker_retries_a_handoff_and_stops_on_400_on_postgresql(
    tmp_path: Path, webhook: WebhookServer
) -> None:
    from agent.jobs.queue import QueueExecutor

    assert POSTGRES_URL
    with fresh_postgres(POSTGRES_URL) as url:
        db = seed(url)
        values = {
            "database_url": url,
            "data_dir": str(tmp_path / "data"),
            "sales_webhook_url": webhook.url,
            "handoff_backoff_seconds": "1",
            "sweep_seconds": "0",
        }
        settings = Settings(**values)  # type: ignore[arg-type]
        with (tmp_path / "worker.log").open("w") as log:
            worker = subprocess.Popen(
                [NURTURE, "worker", "--concurrency", "2"],
                env=nurture_env(**values),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        executor = QueueExecutor(settings)
        executor.start()
        try:
            webhook.statuses.extend([503, 503])
            delivered = run_handoff(db, executor, "L1")
            assert delivered.webhook_status == "delivered" and delivered.attempts == 3
            assert delivered.delivered_at is not None
            keys = [r.headers["Idempotency-Key"] for r in webhook.requests]
            assert keys == [delivered.id] * 3

            webhook.statuses.append(400)
            refused = run_handoff(db, executor, "L2")
            assert refused.webhook_status == "failed" and refused.attempts == 1
            assert refused.webhook_error == "HTTP 400 Bad Request"
            assert refused.delivered_at is None
            assert [r.headers["Idempotency-Key"] for r in webhook.requests[3:]] == [refused.id]
        finally:
            executor.stop()
            worker.terminate()
            worker.wait(timeout=30)
            db.dispose()


def run_handoff(db: Database, executor: object, lead_id: str) -> HandoffRow:
    """Queues a draft run for the lead (the worker hands it to sales) and waits for the
    delivery to settle."""
    thread_id = NurtureAgent.new_thread_id()
    queue_run(
        db,
        thread_id=thread_id,
        lead_id=lead_id,
        at=datetime.now(UTC),
        playbook_version=load_playbook(DEFAULT_PLAYBOOK).version,
    )
    executor.submit_draft(thread_id, lead_id)  # type: ignore[attr-defined]
    return settled(db, f"handoff-{thread_id}", timeout=90)
