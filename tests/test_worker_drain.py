"""SIGTERM drains a real `nurture worker`: it takes no new job, finishes the draft it holds
(longer than the stall timeout, while another worker watches for stalled jobs), exits 0, and
the run ends with exactly one pending draft and one call to the model."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from procrastinate import App, PsycopgConnector
from sqlalchemy import func, select, text

from agent.playbook import Playbook
from agent.store import Database
from agent.store.leads import upsert_leads
from agent.store.runs import get_run, queue_run
from agent.store.schema import ApprovalRow
from tests.test_agent_llm import GOOD
from tests.utils.agent_world import DANA
from tests.utils.fake_openai import FakeOpenAI, Reply
from tests.utils.processes import stop
from tests.utils.replicas import NURTURE

pytestmark = pytest.mark.postgres
LEADS = ("lead-d1", "lead-d2")
STALL_SECONDS = 3
HELD_FOR = 25.0
"""How long the model takes over the held draft: several stall timeouts."""


@pytest.fixture
def database(postgres_url: str, playbook: Playbook) -> Iterator[Database]:
    db = Database(postgres_url)
    db.migrate()
    with db.engine.begin() as conn:  # the database is the session's: start each test clean
        conn.execute(text("TRUNCATE runs, approvals, procrastinate_jobs CASCADE"))
    upsert_leads(
        db, [{**DANA, "id": lead, "email": f"{lead}@northwind.example"} for lead in LEADS], playbook
    )
    yield db
    db.dispose()


def _submit(db: Database, app: App, lead: str) -> tuple[str, int]:
    """A draft run accepted and queued, as the API does it."""
    thread = f"{lead}:drain"
    queue_run(db, thread_id=thread, lead_id=lead, at=datetime.now(UTC), playbook_version="t")
    job = app.configure_task("nurture.draft_run", queue="drafts", lock=f"lead:{lead}")
    return thread, job.defer(thread_id=thread)


def _status(db: Database, job_id: int) -> str:
    with db.engine.connect() as conn:
        return str(
            conn.scalar(
                text("SELECT status FROM procrastinate_jobs WHERE id = :id"), {"id": job_id}
            )
        )


def _pending(db: Database, lead: str) -> int:
    with db.session() as session:
        return session.scalar(  # type: ignore[return-value]  # count(*) is never NULL
            select(func.count())
            .select_from(ApprovalRow)
            .where(ApprovalRow.lead_id == lead, ApprovalRow.status == "pending")
        )


def test_sigterm_drains_a_worker_holding_a_draft(
    database: Database,
    postgres_url: str,
    indexed_data: Path,
    fake_openai: FakeOpenAI,
    tmp_path: Path,
) -> None:
    db = database
    fake_openai.default = Reply.json(GOOD)
    fake_openai.enqueue(Reply.slow(HELD_FOR, then=Reply.json(GOOD)))
    env = {
        **os.environ,
        "NURTURE_DATABASE_URL": postgres_url,
        "NURTURE_DATA_DIR": str(indexed_data),
        "NURTURE_LLM_BASE_URL": fake_openai.base_url,
        "NURTURE_LLM_MODEL": "fake-model",
        "NURTURE_JOB_HEARTBEAT_SECONDS": "1",
        "NURTURE_JOB_STALL_SECONDS": str(STALL_SECONDS),
    }
    app = App(
        connector=PsycopgConnector(
            conninfo=postgres_url.replace("postgresql+psycopg://", "postgresql://", 1)
        )
    )
    logs = [(tmp_path / f"worker-{n}.log").open("w") for n in (1, 2)]
    workers: list[subprocess.Popen[bytes]] = []

    def worker(log: int) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [NURTURE, "worker", "--concurrency", "2"],
            env=env,
            stdout=logs[log],
            stderr=subprocess.STDOUT,
        )
        workers.append(process)
        return process

    try:
        with app.open():
            held, _ = _submit(db, app, LEADS[0])
            draining = worker(0)
            deadline = time.monotonic() + 90
            while not fake_openai.chat_requests and time.monotonic() < deadline:
                time.sleep(0.1)
            assert fake_openai.chat_requests, "the worker never reached the model"
            draining.send_signal(signal.SIGTERM)
            time.sleep(1)
            later, later_job = _submit(db, app, LEADS[1])
            time.sleep(2)
            assert _status(db, later_job) == "todo", "a draining worker took a new job"
            # another worker, whose periodic check retries jobs of workers that went quiet
            worker(1)
            assert draining.wait(timeout=HELD_FOR + 30) == 0
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                runs = [get_run(db, thread) for thread in (held, later)]
                if all(r is not None and r.outcome not in ("queued", "running") for r in runs):
                    break
                time.sleep(0.2)
        assert [r.outcome if r else None for r in runs] == ["awaiting_approval"] * 2, runs
        assert [_pending(db, lead) for lead in LEADS] == [1, 1]
        # each draft was begun once (a later request repairs that draft's guardrail findings):
        # no second worker took the held one over while it drained
        firsts = [
            r for r in fake_openai.chat_requests if "<previous_draft>" not in r.message("user")
        ]
        assert len(firsts) == 2, len(firsts)
        assert runs[0] is not None and runs[0].attempts == 1
    finally:
        for process in workers:
            stop(process)
        for log in logs:
            log.close()
