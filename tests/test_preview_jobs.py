"""The playbook preview as a durable job (#17): a request is stored before anyone hears of it,
an identical candidate waiting or running is not previewed twice, the job stores the same
result as previewing on the spot with its progress, a failure is recorded with its reason, and
a preview left queued (or running by a process that died) is taken up when the service starts
again. On PostgreSQL a real `nurture worker` killed mid-preview: another worker finishes it."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import text

from agent.content.assets import Asset, load_library
from agent.jobs.local import LocalExecutor
from agent.jobs.previews import accept_preview, run_preview_job
from agent.playbook import load_playbook, parse_playbook
from agent.preview import preview
from agent.preview_json import preview_json
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.previews import claim_preview, get_preview
from agent.store.schema import PlaybookPreviewRow
from tests.api.test_preview_surfaces import from_json, reference
from tests.conftest import POSTGRES_URL
from tests.test_playbook_preview import candidate_text, seed_demo
from tests.utils.agent_world import World
from tests.utils.replicas import Workers, fresh_postgres

T = TypeVar("T")


@pytest.fixture(scope="module")
def assets() -> dict[str, Asset]:
    return {a.id: a for a in load_library(DEFAULT_CONTENT).assets}


@pytest.fixture
def demo(world: World, assets: dict[str, Asset]) -> World:
    seed_demo(world.agent.ctx.db, world.agent.ctx.playbook, assets)
    return world


def _row(db: Database, preview_id: str) -> PlaybookPreviewRow:
    row = get_preview(db, preview_id)
    assert row is not None, f"no preview {preview_id}"
    return row


def _eventually(read: Callable[[], T], until: Callable[[T], bool], seconds: float) -> T:
    deadline = time.monotonic() + seconds
    value = read()
    while not until(value) and time.monotonic() < deadline:
        time.sleep(0.1)
        value = read()
    return value


def _dead_worker() -> str:
    """A worker name (host:pid) of a process on this host that has exited."""
    process = subprocess.Popen(["true"])
    process.wait()
    return f"{socket.gethostname()}:{process.pid}"


def test_a_request_is_stored_queued_and_an_identical_one_waiting_is_reused(world: World) -> None:
    agent, db = world.agent, world.agent.ctx.db
    first, created = accept_preview(agent.ctx, candidate_text(), by="mara")
    assert created
    row = _row(db, first)
    assert (row.status, row.candidate_version, row.requested_by) == ("queued", "hot-at-50", "mara")
    assert row.current_version == agent.ctx.playbook.version and row.text == candidate_text()
    assert row.result is None and row.started_at is None

    again, created = accept_preview(agent.ctx, candidate_text(), by="otto")
    assert (again, created) == (first, False), "the same candidate while one waits: no new work"
    other, created = accept_preview(agent.ctx, candidate_text(40, "hot-at-40"), by="mara")
    assert created and other != first, "another candidate is another preview"

    run_preview_job(agent.ctx, first, worker="test:1")
    assert _row(db, first).status == "done"
    later, created = accept_preview(agent.ctx, candidate_text(), by="mara")
    assert created and later != first, "once done, asking again previews the store as it is now"


def test_the_job_stores_the_result_of_previewing_on_the_spot_and_its_progress(
    demo: World, assets: dict[str, Asset], monkeypatch: pytest.MonkeyPatch
) -> None:
    import agent.jobs.previews as jobs

    agent, db = demo.agent, demo.agent.ctx.db
    progress: list[tuple[int, int]] = []
    record = jobs.record_progress  # type: ignore[attr-defined]  # the name the job calls

    def spy(db: Database, preview_id: str, *, worker: str, done: int, total: int) -> None:
        progress.append((done, total))
        record(db, preview_id, worker=worker, done=done, total=total)

    monkeypatch.setattr(jobs, "record_progress", spy)
    preview_id, _ = accept_preview(agent.ctx, candidate_text(), by="mara")
    run_preview_job(agent.ctx, preview_id, worker="test:1")

    row = _row(db, preview_id)
    assert row.status == "done" and row.error is None, row.error
    assert row.started_at is not None and row.finished_at is not None
    assert row.started_at <= row.finished_at
    leads = 200  # the demo's leads
    assert (row.leads_done, row.leads_total) == (leads, leads)
    assert progress and progress[-1] == (leads, leads) and progress[0][0] < leads
    assert row.result is not None
    at = datetime.fromisoformat(row.result["at"])
    assert at == row.created_at, "as of the moment it was asked for"
    candidate = parse_playbook(candidate_text(), source="candidate")
    on_the_spot = preview(db, agent.ctx.playbook, candidate, agent.ctx.assets, at)
    assert row.result == json.loads(json.dumps(preview_json(on_the_spot)))
    assert from_json(row.result) == reference(db, at, assets)


def test_a_failed_preview_says_why(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import agent.jobs.previews as jobs

    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(jobs, "preview", broken)
    preview_id, _ = accept_preview(world.agent.ctx, candidate_text(), by="mara")
    with pytest.raises(RuntimeError):
        run_preview_job(world.agent.ctx, preview_id, worker="test:1")
    row = _row(world.agent.ctx.db, preview_id)
    assert row.status == "failed" and row.error == "the disk went away" and row.result is None
    again, created = accept_preview(world.agent.ctx, candidate_text(), by="mara")
    assert created and again != preview_id, "a failed preview can be asked for again"


def test_the_local_executor_takes_up_previews_a_stopped_service_left(
    demo: World, settings: Settings
) -> None:
    agent, db = demo.agent, demo.agent.ctx.db
    queued, _ = accept_preview(agent.ctx, candidate_text(), by="mara")
    orphan, _ = accept_preview(agent.ctx, candidate_text(40, "hot-at-40"), by="mara")
    taken = claim_preview(db, orphan, worker=_dead_worker(), at=datetime.now(UTC))
    assert taken is not None and taken.status == "running"

    executor = LocalExecutor(agent, settings)
    executor.start()
    try:
        rows = _eventually(
            lambda: [_row(db, queued), _row(db, orphan)],
            until=lambda rows: all(r.status == "done" for r in rows),
            seconds=60,
        )
    finally:
        executor.stop()
    assert [r.status for r in rows] == ["done", "done"], [r.error for r in rows]
    assert all(r.result is not None and r.result["leads"] == 200 for r in rows)


def test_a_running_preview_is_not_taken_from_a_live_worker(world: World) -> None:
    agent, db = world.agent, world.agent.ctx.db
    preview_id, _ = accept_preview(agent.ctx, candidate_text(), by="mara")
    assert claim_preview(db, preview_id, worker="other-host:12", at=datetime.now(UTC))
    assert run_preview_job(agent.ctx, preview_id, worker="test:1") is None
    assert _row(db, preview_id).worker == "other-host:12"


def test_a_service_stopping_mid_preview_puts_it_back_in_the_queue(
    world: World, settings: Settings
) -> None:
    """The service's own thread (SQLite) does not hold a stopping service for the minute a large
    preview takes: between two chunks it puts the preview back, queued, for the next start."""
    from agent.demo.generator import generate
    from agent.store.ingest import ingest_events
    from agent.store.leads import upsert_leads

    agent, db = world.agent, world.agent.ctx.db
    now = datetime.now(UTC)
    leads, events = generate(seed=5, now=now, count=700)  # two chunks of 500
    upsert_leads(db, leads, agent.ctx.playbook)
    ingest_events(db, events, agent.ctx.playbook, now=now)
    preview_id, _ = accept_preview(agent.ctx, candidate_text(), by="mara")

    assert run_preview_job(agent.ctx, preview_id, worker="test:1", stopping=lambda: True) is None
    row = _row(db, preview_id)
    assert (row.status, row.worker, row.result, row.leads_done) == ("queued", None, None, 0)

    executor = LocalExecutor(agent, settings)
    executor.start()  # the next start takes it up
    try:
        row = _eventually(lambda: _row(db, preview_id), lambda r: r.status == "done", 120)
    finally:
        executor.stop()
    assert row.status == "done" and row.result is not None and row.result["leads"] == 700
    assert row.attempts == 2


STALL_SECONDS = 2


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="needs NURTURE_TEST_DATABASE_URL")
def test_a_worker_killed_mid_preview_leaves_it_to_another_worker(tmp_path: Path) -> None:
    """Enough leads that the preview takes a few seconds; the first worker is killed (-9) once
    it has recorded progress; the second one's stalled-job check runs it again to the end."""
    from agent.demo.generator import generate
    from agent.jobs.queue import QueueExecutor
    from agent.store.ingest import ingest_events
    from agent.store.leads import upsert_leads

    assert POSTGRES_URL
    now = datetime.now(UTC)
    with fresh_postgres(POSTGRES_URL) as url:
        db = Database(url)
        db.migrate()
        current = load_playbook(DEFAULT_PLAYBOOK)
        leads, events = generate(seed=11, now=now, count=3_000)
        upsert_leads(db, leads, current)
        ingest_events(db, events, current, now=now)
        values = {
            "database_url": url,
            "data_dir": str(tmp_path / "data"),
            "sweep_seconds": "0",
            "job_heartbeat_seconds": "1",
            "job_stall_seconds": str(STALL_SECONDS),
        }
        settings = Settings(**values)  # type: ignore[arg-type]  # the values are valid settings
        workers = Workers(values, tmp_path, concurrency=1)

        from agent.context import build_context

        executor = QueueExecutor(settings)
        executor.start()
        try:
            preview_id, _ = accept_preview(build_context(settings), candidate_text(), by="mara")
            executor.submit_preview(preview_id)
            first = workers.start()
            row = _eventually(
                lambda: _row(db, preview_id), until=lambda r: r.leads_done > 0, seconds=120
            )
            assert row.status == "running" and row.leads_done < (row.leads_total or 0), (
                "the preview must be caught mid-way (more leads needed?)"
            )
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=30)
            workers.start()
            done = _eventually(
                lambda: _row(db, preview_id), until=lambda r: r.status == "done", seconds=180
            )
            assert done.status == "done", done.error
            assert done.result is not None and done.result["leads"] == 3_000
            assert done.worker != row.worker

            def jobs() -> list[tuple[str, int]]:
                with db.engine.connect() as conn:
                    rows = conn.execute(
                        text(
                            "SELECT status::text, attempts FROM procrastinate_jobs "
                            "WHERE task_name = 'nurture.playbook_preview'"
                        )
                    ).all()
                return [(str(s), int(a)) for s, a in rows]

            # the row is done a moment before procrastinate marks the job succeeded
            ended = _eventually(jobs, lambda rows: all(s != "doing" for s, _ in rows), 30)
            # one job, run twice: the killed run, then the retry of the stalled job
            assert ended == [("succeeded", 2)]
            assert done.attempts == 2
        finally:
            executor.stop()
            workers.stop_all()
            db.dispose()
