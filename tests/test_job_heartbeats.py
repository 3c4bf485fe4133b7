"""Every long job keeps its worker's heartbeat going, not only the draft run: a draining
`nurture worker` (SIGTERM stops procrastinate's own heartbeat) that holds a hand-off webhook or
a resumed answer's revision longer than the stall timeout must not see it declared stalled and
run again by another worker. Real worker processes on PostgreSQL, a real HTTP receiver and a
scripted model server that answer slowly."""

from __future__ import annotations

import signal
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy import select, text

from agent.playbook import Playbook, load_playbook
from agent.runner import NurtureAgent
from agent.settings import DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.answers import claim_answer
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.runs import queue_run
from agent.store.schema import ApprovalRow
from tests.conftest import POSTGRES_URL
from tests.test_agent_llm import GOOD
from tests.test_crm_webhook import WebhookServer
from tests.test_handoff_jobs import seed, settled
from tests.utils.agent_world import DANA, WHITEPAPER
from tests.utils.fake_openai import FakeOpenAI, Reply
from tests.utils.replicas import Workers, fresh_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs NURTURE_TEST_DATABASE_URL"),
]
T = TypeVar("T")
STALL_SECONDS = 2
HELD_FOR = 4.5
"""How long the receiver holds the request: over twice the stall timeout, under the 5 s
request timeout of the webhook client."""


class SlowWebhook(WebhookServer):
    """Answers 200 after HELD_FOR seconds."""

    def _handler_class(self) -> type:
        base = super()._handler_class()

        class Slow(base):  # type: ignore[misc, valid-type]
            def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
                time.sleep(HELD_FOR)
                super().do_POST()

        return Slow


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[SlowWebhook]:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    server = SlowWebhook()
    with server:
        yield server


def _handoff_jobs(db: Database) -> list[tuple[str, int]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, attempts FROM procrastinate_jobs "
                "WHERE task_name = 'nurture.handoff_webhook'"
            )
        ).all()
    return [(str(status), int(attempts)) for status, attempts in rows]


def test_a_draining_worker_keeps_a_slow_handoff_alive(tmp_path: Path, webhook: SlowWebhook) -> None:
    assert POSTGRES_URL
    with fresh_postgres(POSTGRES_URL) as url:
        db = seed(url)
        values = {
            "database_url": url,
            "data_dir": str(tmp_path / "data"),
            "sales_webhook_url": webhook.url,
            "sweep_seconds": "0",
            "job_heartbeat_seconds": "1",
            "job_stall_seconds": str(STALL_SECONDS),
        }
        Settings(**values)  # type: ignore[arg-type]  # the values are valid settings
        workers = Workers(values, tmp_path, concurrency=2)

        try:
            draining = workers.start()
            thread_id = NurtureAgent.new_thread_id()
            queue_run(
                db,
                thread_id=thread_id,
                lead_id="L1",
                at=datetime.now(UTC),
                playbook_version=load_playbook(DEFAULT_PLAYBOOK).version,
            )
            from agent.jobs.queue import QueueExecutor

            executor = QueueExecutor(Settings(**values))  # type: ignore[arg-type]
            executor.start()
            try:
                executor.submit_draft(thread_id, "L1")
            finally:
                executor.stop()
            deadline = time.monotonic() + 90
            while not webhook.requests and time.monotonic() < deadline:
                # the receiver records a request once it has held it: watch the job instead
                if any(status == "doing" for status, _ in _handoff_jobs(db)):
                    break
                time.sleep(0.05)
            assert _handoff_jobs(db), "the worker never took the hand-off"
            draining.send_signal(signal.SIGTERM)
            workers.start()  # its periodic check retries jobs whose worker went quiet
            assert draining.wait(timeout=60) == 0
            row = settled(db, f"handoff-{thread_id}", timeout=60)
            time.sleep(STALL_SECONDS * 2)  # a wrongly retried job would run again by now
            assert row.webhook_status == "delivered" and row.attempts == 1
            assert len(webhook.requests) == 1
            # run once: procrastinate counts the finished run (a stalled retry makes it 2)
            assert _handoff_jobs(db) == [("succeeded", 1)]
        finally:
            workers.stop_all()
            db.dispose()


REVISION_HELD_FOR = 15.0
"""How long the model takes over the revision: several stall timeouts and a worker's start."""
FEEDBACK = "Mention the route optimisation white paper in the first line."


def _answer_jobs(db: Database) -> list[tuple[str, int]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT status, attempts FROM procrastinate_jobs "
                "WHERE task_name = 'nurture.resume_answer'"
            )
        ).all()
    return [(str(status), int(attempts)) for status, attempts in rows]


def _pending(db: Database) -> list[ApprovalRow]:
    with db.session() as session:
        return list(session.scalars(select(ApprovalRow).where(ApprovalRow.status == "pending")))


def _eventually(read: Callable[[], T], until: Callable[[T], bool], seconds: float) -> T:
    deadline = time.monotonic() + seconds
    value = read()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


def test_a_draining_worker_keeps_a_slow_revision_alive(
    tmp_path: Path, indexed_data: Path, fake_openai: FakeOpenAI, playbook: Playbook
) -> None:
    """An answer asking for changes resumes the thread in a job that drafts again: a model
    slower than the stall timeout, while its worker drains, must not make another worker run
    the same answer again (a second revision, a second model call)."""
    assert POSTGRES_URL
    fake_openai.default = Reply.json(GOOD)
    with fresh_postgres(POSTGRES_URL) as url:
        db = Database(url)
        db.migrate()
        upsert_leads(db, [DANA], playbook)
        now = datetime.now(UTC)
        events = [
            {
                "id": f"L1-{n}",
                "lead_id": "L1",
                "type": type_,
                "occurred_at": (now - timedelta(days=days)).isoformat(),
                "properties": props,
            }
            for n, (type_, days, props) in enumerate(WHITEPAPER)
        ]
        assert not ingest_events(db, events, playbook).rejected
        values = {
            "database_url": url,
            "data_dir": str(indexed_data),
            "llm_base_url": fake_openai.base_url,
            "llm_model": "fake-model",
            "sweep_seconds": "0",
            "job_heartbeat_seconds": "1",
            "job_stall_seconds": str(STALL_SECONDS),
        }
        settings = Settings(**values)  # type: ignore[arg-type]
        workers = Workers(values, tmp_path, concurrency=2)

        from agent.jobs.queue import QueueExecutor

        executor = QueueExecutor(settings)
        executor.start()
        try:
            draining = workers.start()
            thread_id = NurtureAgent.new_thread_id()
            queue_run(db, thread_id=thread_id, lead_id="L1", at=now, playbook_version="t")
            executor.submit_draft(thread_id, "L1")
            first = _eventually(lambda: _pending(db), until=bool, seconds=120)
            assert len(first) == 1, "the first draft never reached the inbox"
            fake_openai.enqueue(Reply.slow(REVISION_HELD_FOR, then=Reply.json(GOOD)))
            claim_answer(
                db, first[0].id, answer="respond", by="marketer", at=now, feedback=FEEDBACK
            )
            executor.submit_answer(first[0].id, "L1")

            def revisions() -> int:
                return sum(FEEDBACK in r.message("user") for r in fake_openai.chat_requests)

            assert _eventually(revisions, until=bool, seconds=60), "no revision reached the model"
            draining.send_signal(signal.SIGTERM)
            workers.start()  # its periodic check retries jobs whose worker went quiet
            assert draining.wait(timeout=60) == 0
            second = _eventually(
                lambda: _pending(db), until=lambda rows: bool(rows) and rows != first, seconds=60
            )
            time.sleep(STALL_SECONDS * 2)  # a wrongly retried job would run again by now
            assert len(second) == 1 and second[0].id != first[0].id
            assert revisions() == 1
            assert _answer_jobs(db) == [("succeeded", 1)]
        finally:
            executor.stop()
            workers.stop_all()
            db.dispose()
