"""`nurture jobs` on the real PostgreSQL: it lists the queue, retries and discards failed jobs,
and says clearly why not for an unknown id or a job in the wrong state."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from procrastinate import App, PsycopgConnector
from procrastinate.jobs import Status
from sqlalchemy import text

from agent.playbook import Playbook
from agent.settings import Settings
from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.leads import upsert_leads
from agent.store.runs import fail_run, get_run, queue_run
from api.main import create_app
from tests.utils.agent_world import DANA
from tests.utils.replicas import NURTURE, run_cli

LEADS = ("lead-j1", "lead-j2", "lead-j3")


def _conninfo(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def queue(postgres_url: str, playbook: Playbook) -> Iterator[tuple[Database, App]]:
    db = Database(postgres_url)
    db.migrate()
    with db.engine.begin() as conn:  # the database is the session's: start each test clean
        conn.execute(text("TRUNCATE runs, approvals, procrastinate_jobs CASCADE"))
    upsert_leads(
        db, [{**DANA, "id": lead, "email": f"{lead}@northwind.example"} for lead in LEADS], playbook
    )
    app = App(connector=PsycopgConnector(conninfo=_conninfo(postgres_url)))
    try:
        yield db, app
    finally:
        db.dispose()


def _draft_job(db: Database, app: App, lead: str) -> tuple[int, str]:
    """A draft run accepted and queued as the API queues it."""
    thread = f"{lead}:jobs-test"
    queue_run(db, thread_id=thread, lead_id=lead, at=datetime.now(UTC), playbook_version="test")
    with app.open():
        job_id = app.configure_task("nurture.draft_run", queue="drafts", lock=f"lead:{lead}").defer(
            thread_id=thread
        )
    return job_id, thread


async def _fail_next(app: App) -> int:
    """What a worker does with a job whose every attempt failed: fetch it, mark it failed."""
    async with app.open_async():
        manager = app.job_manager
        worker = await manager.register_worker()
        job = await manager.fetch_job(queues=None, worker_id=worker)
        assert job is not None and job.id is not None
        await manager.finish_job(job, Status.FAILED, delete_job=False)
        await manager.unregister_worker(worker)
        return job.id


def _metrics(url: str, data: Path, db: Database) -> str:
    """/metrics of an API replica on this database (no worker in it)."""
    key = create_key(db, name="scraper", role="admin", at=datetime.now(UTC))
    config = Settings(database_url=url, data_dir=data)
    with TestClient(create_app(config, worker=False)) as client:
        answer = client.get("/metrics", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 200, answer.text
    return answer.text


def _env(url: str, tmp: Path) -> dict[str, str]:
    return {**os.environ, "NURTURE_DATABASE_URL": url, "COLUMNS": "200"}


@pytest.mark.postgres
def test_jobs_lists_failed_jobs_and_retry_sends_one_round_again(
    queue: tuple[Database, App], postgres_url: str, tmp_path: Path, indexed_data: Path
) -> None:
    db, app = queue
    env = {**_env(postgres_url, tmp_path), "NURTURE_DATA_DIR": str(indexed_data)}
    failed, thread = _draft_job(db, app, LEADS[0])
    assert asyncio.run(_fail_next(app)) == failed
    fail_run(db, thread, error="the model timed out", at=datetime.now(UTC))
    waiting, _ = _draft_job(db, app, LEADS[1])

    listed = run_cli(env, "jobs")
    assert listed.returncode == 0, listed.stderr
    assert f"{failed} " in listed.stdout and f"{waiting} " in listed.stdout
    assert thread in listed.stdout and "nurture.draft_run" in listed.stdout
    only = json.loads(run_cli(env, "jobs", "--status", "failed", "--json").stdout)
    assert [(j["id"], j["lead_id"], j["thread_id"]) for j in only] == [(failed, LEADS[0], thread)]
    by_lead = json.loads(run_cli(env, "jobs", "--lead", LEADS[1], "--json").stdout)
    assert [j["id"] for j in by_lead] == [waiting]
    scraped = _metrics(postgres_url, indexed_data, db)
    assert 'nurture_queue_jobs{queue="drafts",state="failed"} 1.0' in scraped, scraped
    assert 'nurture_queue_jobs{queue="drafts",state="todo"} 1.0' in scraped
    assert 'nurture_runs{outcome="failed"} 1.0' in scraped
    assert 'nurture_runs{outcome="queued"} 1.0' in scraped

    retried = run_cli(env, "jobs", "retry", str(failed))
    assert retried.returncode == 0, retried.stdout + retried.stderr
    again = run_cli(env, "jobs", "retry", str(failed))
    assert again.returncode == 2 and f"job {failed} is todo" in again.stderr, again.stderr
    assert "Traceback" not in again.stderr

    # a worker takes the retried job and the run ends with its draft waiting
    worker = subprocess.Popen(
        [NURTURE, "worker", "--queues", "drafts"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            run = get_run(db, thread)
            if run is not None and run.outcome not in ("queued", "running", "failed"):
                break
            time.sleep(0.2)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
    assert run is not None and run.outcome == "awaiting_approval", run


@pytest.mark.postgres
def test_discard_gives_up_on_a_failed_job_and_refuses_the_wrong_ones(
    queue: tuple[Database, App], postgres_url: str, tmp_path: Path
) -> None:
    db, app = queue
    env = _env(postgres_url, tmp_path)
    failed, _ = _draft_job(db, app, LEADS[2])
    asyncio.run(_fail_next(app))

    discarded = run_cli(env, "jobs", "discard", str(failed))
    assert discarded.returncode == 0, discarded.stdout + discarded.stderr
    shown = json.loads(run_cli(env, "jobs", "--json").stdout)
    assert [(j["id"], j["status"]) for j in shown] == [(failed, "cancelled")]

    narrow = run_cli({**env, "COLUMNS": "60"}, "jobs")  # a block per job, nothing folded
    assert f"{failed} nurture.draft_run" in narrow.stdout, narrow.stdout
    assert f"for {LEADS[2]}:jobs-test" in narrow.stdout

    for command in ("discard", "retry"):
        refused = run_cli(env, "jobs", command, str(failed))
        assert refused.returncode == 2, refused.stdout + refused.stderr
        assert f"job {failed} is cancelled" in refused.stderr
        unknown = run_cli(env, "jobs", command, "987654321")
        assert unknown.returncode == 2 and "no job 987654321" in unknown.stderr, unknown.stderr
        assert "Traceback" not in refused.stderr + unknown.stderr
    bad = run_cli(env, "jobs", "--status", "broken")
    assert bad.returncode == 2 and "--status" in bad.stderr


@pytest.mark.parametrize("args", [(), ("retry", "1")])
def test_jobs_on_sqlite_says_the_queue_needs_postgresql(
    tmp_path: Path, args: tuple[str, ...]
) -> None:
    env = {**os.environ, "NURTURE_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"}
    done = run_cli(env, "jobs", *args)
    assert done.returncode == 2 and "needs PostgreSQL" in done.stderr, done.stderr


@pytest.mark.postgres
def test_retry_of_a_failed_draft_is_refused_while_its_lead_has_another_run_going(
    queue: tuple[Database, App], postgres_url: str, tmp_path: Path
) -> None:
    db, app = queue
    env = _env(postgres_url, tmp_path)
    failed, thread = _draft_job(db, app, LEADS[0])
    assert asyncio.run(_fail_next(app)) == failed
    fail_run(db, thread, error="the model timed out", at=datetime.now(UTC))
    # meanwhile someone asked for a new draft for the same lead: it waits in the queue
    other = f"{LEADS[0]}:asked-again"
    queue_run(db, thread_id=other, lead_id=LEADS[0], at=datetime.now(UTC), playbook_version="t")

    refused = run_cli(env, "jobs", "retry", str(failed))
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert other in refused.stderr and LEADS[0] in refused.stderr, refused.stderr
    assert "Traceback" not in refused.stderr
    shown = json.loads(run_cli(env, "jobs", "--json").stdout)
    assert [(j["id"], j["status"]) for j in shown] == [(failed, "failed")]  # left as it was
    run = get_run(db, thread)
    assert run is not None and run.outcome == "failed"
