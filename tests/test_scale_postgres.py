"""Scale-out on the real PostgreSQL, with real processes: API replicas (`nurture serve
--no-worker`) and a worker (`nurture worker`) sharing one database."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select, text

from agent.playbook import Playbook
from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.schema import ApprovalRow, SendRow
from tests.test_agent_llm import GOOD
from tests.utils.fake_openai import FakeOpenAI, Reply
from tests.utils.smtp import CollectingHandler, free_port
from tests.utils.store_seeds import like_dana, seed_interested_leads

ROOT = Path(__file__).resolve().parents[1]
LEADS = [f"lead-{n:04d}" for n in range(20)]


class Cluster:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, *args: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen(
            [sys.executable, "-c", "from cli import main; main()", *args],
            env=self.env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        self.processes.append(process)
        return process

    def replica(self) -> str:
        port = free_port()
        process = self.start("serve", "--no-worker", "--port", str(port))
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(process.stderr.read().decode() if process.stderr else "")
            try:
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    return base
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError("the replica did not start")

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.fixture
def cluster(
    postgres_url: str, indexed_data: Path, playbook: Playbook
) -> Iterator[tuple[Cluster, Database, str]]:
    db = Database(postgres_url)
    db.migrate()
    with db.engine.begin() as conn:  # the database is the session's: start each test clean
        conn.execute(text("TRUNCATE runs, approvals, procrastinate_jobs CASCADE"))
    now = datetime.now(UTC)
    seed_interested_leads(db, playbook, like_dana(LEADS), now=now)
    key = create_key(db, name=f"rep-{now.timestamp()}", role="rep", at=now)
    env = {
        **os.environ,
        "NURTURE_DATA_DIR": str(indexed_data),
        "NURTURE_DATABASE_URL": postgres_url,
        "NURTURE_JOB_HEARTBEAT_SECONDS": "1",
        "NURTURE_JOB_STALL_SECONDS": "4",
    }
    running = Cluster(env)
    try:
        yield running, db, key
    finally:
        running.stop()
        db.dispose()


def _pending(db: Database, lead_id: str) -> int:
    with db.session() as session:
        return session.scalar(  # type: ignore[return-value]  # count(*) is never NULL
            select(func.count())
            .select_from(ApprovalRow)
            .where(ApprovalRow.lead_id == lead_id, ApprovalRow.status == "pending")
        )


@pytest.mark.postgres
def test_two_replicas_racing_on_one_lead_give_one_202_one_409_and_one_draft(
    cluster: tuple[Cluster, Database, str],
) -> None:
    processes, db, key = cluster
    replicas = [processes.replica(), processes.replica()]
    processes.start("worker", "--concurrency", "4")
    headers = {"Authorization": f"Bearer {key}"}
    with ThreadPoolExecutor(2) as pool:
        for lead in LEADS:
            posts = [
                pool.submit(httpx.post, f"{base}/v1/leads/{lead}/drafts", headers=headers)
                for base in replicas
            ]
            answers = [post.result() for post in posts]
            assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
            accepted = next(a for a in answers if a.status_code == 202).json()
            refused = next(a for a in answers if a.status_code == 409).json()
            assert accepted["thread_id"] in refused["detail"], refused
            # read from the other replica too: the status is the database's
            deadline = time.monotonic() + 60
            while True:
                seen = [
                    httpx.get(f"{base}{accepted['status_url']}", headers=headers).json()
                    for base in replicas
                ]
                if seen[0]["status"] not in ("queued", "running") or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert seen[0]["status"] == "awaiting_approval", seen
            assert seen[1]["status"] == "awaiting_approval", seen
            assert _pending(db, lead) == 1


def test_nurture_worker_on_sqlite_says_it_needs_postgresql(
    tmp_path: Path,
) -> None:
    env = {**os.environ, "NURTURE_DATABASE_URL": f"sqlite:///{tmp_path / 'n.db'}"}
    done = subprocess.run(
        [sys.executable, "-c", "from cli import main; main()", "worker"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2 and "needs PostgreSQL" in done.stderr, done.stderr


@pytest.mark.postgres
def test_a_worker_killed_mid_draft_leaves_the_run_to_another_worker(
    cluster: tuple[Cluster, Database, str], fake_openai: FakeOpenAI
) -> None:
    processes, db, key = cluster
    processes.env.update(
        {"NURTURE_LLM_BASE_URL": fake_openai.base_url, "NURTURE_LLM_MODEL": "fake-model"}
    )
    fake_openai.default = Reply.json(GOOD)
    fake_openai.enqueue(Reply.slow(120, then=Reply.json(GOOD)))  # the first worker hangs here
    replicas = [processes.replica(), processes.replica()]
    first = processes.start("worker", "--concurrency", "2")
    headers = {"Authorization": f"Bearer {key}"}
    accepted = httpx.post(f"{replicas[0]}/v1/leads/{LEADS[0]}/drafts", headers=headers)
    assert accepted.status_code == 202, accepted.text
    url = accepted.json()["status_url"]
    deadline = time.monotonic() + 60
    while not fake_openai.chat_requests and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fake_openai.chat_requests, "the first worker never reached the model"
    running = httpx.get(f"{replicas[1]}{url}", headers=headers).json()
    assert running["status"] == "running" and running["worker"].endswith(f":{first.pid}")
    first.kill()  # kill -9, mid-draft
    first.wait()
    processes.start("worker", "--concurrency", "2")
    deadline = time.monotonic() + 90
    seen: list[dict[str, object]] = []
    while time.monotonic() < deadline:
        seen = [httpx.get(f"{base}{url}", headers=headers).json() for base in replicas]
        if seen[0]["status"] not in ("queued", "running"):
            break
        time.sleep(0.2)
    assert seen[0]["status"] == "awaiting_approval", seen
    assert seen[1] == seen[0]
    assert seen[0]["attempts"] == 2 and seen[0]["worker"] is None
    with db.session() as session:
        rows = session.scalars(select(ApprovalRow).where(ApprovalRow.lead_id == LEADS[0])).all()
    assert [row.status for row in rows] == ["pending"]


class StallingHandler:
    """An SMTP server that takes the message and never answers the final dot."""

    def __init__(self) -> None:
        self.data: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
        self.data.append(envelope.content)
        await asyncio.sleep(300)
        return "250 OK"


def _awaiting(replica: str, headers: dict[str, str], lead: str) -> dict[str, Any]:
    """Asks for a draft for the lead and waits until it waits for a human."""
    accepted = httpx.post(f"{replica}/v1/leads/{lead}/drafts", headers=headers).json()
    deadline = time.monotonic() + 60
    run: dict[str, Any] = {}
    while time.monotonic() < deadline:
        run = httpx.get(f"{replica}{accepted['status_url']}", headers=headers).json()
        if run["status"] == "awaiting_approval":
            return run
        time.sleep(0.1)
    raise AssertionError(f"no draft waiting: {run}")


def _send_status(db: Database, approval: str, *, not_: tuple[str, ...], seconds: float) -> str:
    deadline = time.monotonic() + seconds
    status = None
    while time.monotonic() < deadline:
        with db.session() as session:
            send = session.get(SendRow, approval)
        status = send.status if send else None
        if status is not None and status not in not_:
            return status
        time.sleep(0.2)
    raise AssertionError(f"the send of {approval} is still {status} after {seconds} s")


@pytest.mark.postgres
def test_a_worker_killed_during_smtp_data_never_sends_twice(
    cluster: tuple[Cluster, Database, str],
) -> None:
    processes, db, key = cluster
    handler = StallingHandler()
    smtp = Controller(handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        processes.env.update(
            {
                "NURTURE_SMTP_HOST": "127.0.0.1",
                "NURTURE_SMTP_PORT": str(smtp.port),
                "NURTURE_SMTP_STARTTLS": "false",
                "NURTURE_ANSWER_WAIT_SECONDS": "1",
            }
        )
        marketer = create_key(db, name="m", role="marketer", at=datetime.now(UTC))
        replica = processes.replica()
        worker = processes.start("worker")
        headers = {"Authorization": f"Bearer {key}"}
        run = _awaiting(replica, headers, LEADS[1])
        approval = run["approval_id"]
        answering = ThreadPoolExecutor(1).submit(
            httpx.post,
            f"{replica}/v1/approvals/{approval}/decision",
            headers={"Authorization": f"Bearer {marketer}"},
            json={"answer": "accept"},
            timeout=60,
        )
        # the worker holds the SMTP session: the API answers once its short wait is over
        answered = answering.result(timeout=15)
        assert answered.status_code == 202, answered.text
        deadline = time.monotonic() + 60
        while not handler.data and time.monotonic() < deadline:
            time.sleep(0.05)
        assert handler.data, "the message never reached DATA"
        worker.kill()  # kill -9 of the worker holding the SMTP session
        worker.wait()
        processes.start("worker")  # the job comes back to it (retry_stalled) and is finished
        assert _send_status(db, approval, not_=("sending",), seconds=60) == "needs_check"
        seen = httpx.get(f"{replica}/v1/approvals/{approval}", headers=headers).json()
        assert seen["status"] == "accepted", seen

        def nurture(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run(
                [sys.executable, "-c", "from cli import main; main()", *args],
                env={**processes.env, "COLUMNS": "200"},
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )

        for _ in range(2):  # recovering twice sends nothing either time
            recovered = nurture("recover", run["thread_id"])
            assert recovered.returncode == 3, recovered.stdout + recovered.stderr
            assert "needs_check" in recovered.stdout
        approved = nurture("approve", approval)
        assert approved.returncode == 2 and "already decided" in approved.stderr
        assert "Traceback" not in recovered.stderr + approved.stderr
        assert len(handler.data) == 1
        with db.session() as session:
            send = session.get(SendRow, approval)
        assert send is not None and send.status == "needs_check"
    finally:
        smtp.stop()


@pytest.mark.postgres
def test_an_answer_outlives_a_killed_worker_and_of_two_answers_one_gets_409(
    cluster: tuple[Cluster, Database, str],
) -> None:
    processes, db, key = cluster
    smtp_handler = CollectingHandler()
    smtp = Controller(smtp_handler, hostname="127.0.0.1", port=free_port())
    smtp.start()
    try:
        processes.env.update(
            {
                "NURTURE_SMTP_HOST": "127.0.0.1",
                "NURTURE_SMTP_PORT": str(smtp.port),
                "NURTURE_SMTP_STARTTLS": "false",
                "NURTURE_ANSWER_WAIT_SECONDS": "1",
            }
        )
        deciders = [
            create_key(db, name=name, role="marketer", at=datetime.now(UTC))
            for name in ("m1", "m2")
        ]
        replicas = [processes.replica(), processes.replica()]
        first = processes.start("worker")
        headers = {"Authorization": f"Bearer {key}"}
        run = _awaiting(replicas[0], headers, LEADS[2])
        approval = run["approval_id"]
        first.kill()  # kill -9: no worker is left to take the answer
        first.wait()
        with ThreadPoolExecutor(2) as pool:
            posts = [
                pool.submit(
                    httpx.post,
                    f"{base}/v1/approvals/{approval}/decision",
                    headers={"Authorization": f"Bearer {decider}"},
                    json={"answer": "accept"},
                    timeout=60,
                )
                for base, decider in zip(replicas, deciders, strict=True)
            ]
            answers = [post.result() for post in posts]
        assert sorted(a.status_code for a in answers) == [202, 409], [a.text for a in answers]
        kept = next(a for a in answers if a.status_code == 202).json()
        assert kept["approval"]["status"] == "answering"
        for base in replicas:  # kept in the database: every replica says so
            seen = httpx.get(f"{base}{kept['status_url']}", headers=headers).json()
            assert seen["status"] == "answering", seen
        processes.start("worker")  # a worker started later finishes it
        assert _send_status(db, approval, not_=("sending",), seconds=60) == "sent"
        finished = httpx.get(f"{replicas[1]}{kept['run_status_url']}", headers=headers).json()
        assert finished["status"] == "sent", finished
        assert len(smtp_handler.envelopes) == 1
        with db.session() as session:
            row = session.get(ApprovalRow, approval)
        assert row is not None and row.status == "accepted"
        assert row.decided_by == kept["approval"]["decided_by"]
    finally:
        smtp.stop()
