"""A person's answer to a draft is kept in the store before anything resumes the thread: the
API answers 202 ("answering") when the resume takes longer than the wait, a second answer gets
409 meanwhile, and an answer a dead process claimed is taken to its thread by the next start of
the service (SQLite's in-process executor) or by `recover`."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from sqlalchemy import update

from agent.store.api_keys import create_key
from agent.store.approvals import get_approval
from agent.store.schema import ApprovalRow
from agent.store.sends import get_send
from api.main import create_app
from tests.utils.agent_world import World, drafted
from tests.utils.smtp import free_port


class HeldSMTP:
    """An SMTP server that holds every message in DATA until `release` is set."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.data: list[bytes] = []

    async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:  # noqa: N802
        self.data.append(envelope.content)
        await asyncio.to_thread(self.release.wait, 60)
        return "250 OK"


@pytest.fixture
def held_smtp() -> Iterator[tuple[HeldSMTP, int]]:
    handler = HeldSMTP()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield handler, controller.port
    finally:
        handler.release.set()
        controller.stop()


def _marketer(world: World) -> dict[str, str]:
    key = create_key(world.agent.ctx.db, name="m-1", role="marketer", at=datetime.now(UTC))
    return {"Authorization": f"Bearer {key}"}


def _wait_for_status(world: World, approval_id: str, status: str, seconds: float = 15) -> None:
    deadline = time.monotonic() + seconds
    seen = get_approval(world.agent.ctx.db, approval_id).status
    while seen != status and time.monotonic() < deadline:
        time.sleep(0.05)
        seen = get_approval(world.agent.ctx.db, approval_id).status
    assert seen == status, f"approval {approval_id} is {seen} after {seconds} s, not {status}"


def test_an_answer_is_kept_before_its_thread_resumes_and_a_second_answer_gets_409(
    world: World, held_smtp: tuple[HeldSMTP, int]
) -> None:
    smtp, port = held_smtp
    approval = drafted(world)
    settings = world.settings.model_copy(update={"smtp_port": port, "answer_wait_seconds": 0.3})
    headers = _marketer(world)
    url = f"/v1/approvals/{approval}/decision"
    with TestClient(create_app(settings)) as client, ThreadPoolExecutor(1) as pool:
        first = pool.submit(client.post, url, headers=headers, json={"answer": "accept"})
        try:
            answered = first.result(timeout=10)  # the send is held: the request must not wait
        except TimeoutError:
            smtp.release.set()  # let the request end, so the test can report
            raise
        assert answered.status_code == 202, answered.text
        body = answered.json()
        # kept ("answering"), or already recorded by the graph, whose send is held
        assert body["approval"]["status"] in ("answering", "accepted"), body
        assert body["approval"]["answer"] == "accept" and body["approval"]["decided_by"] == "m-1"
        assert body["status_url"] == f"/v1/approvals/{approval}"
        assert body["run_status_url"] == f"/v1/runs/{body['approval']['thread_id']}"
        run = client.get(body["run_status_url"], headers=headers).json()
        assert run["status"] == "awaiting_approval", run  # the job has not finished it
        second = client.post(url, headers=headers, json={"answer": "ignore"})
        assert second.status_code == 409 and "by m-1" in second.json()["detail"], second.text
        smtp.release.set()
        _wait_for_status(world, approval, "accepted")
        deadline = time.monotonic() + 15
        while (send := get_send(world.agent.ctx.db, approval)) is None or send.status == "sending":
            assert time.monotonic() < deadline, "the send never finished"
            time.sleep(0.05)
        assert send.status == "sent"
        assert len(smtp.data) == 1


def _left_answering(world: World, approval_id: str) -> None:
    """What a process killed right after keeping an answer leaves: the approval claimed for
    it, the thread still waiting on the draft."""
    claimed = (
        update(ApprovalRow)
        .where(ApprovalRow.id == approval_id)
        .values(status="answering", answer="accept", decided_by="m-1", decided_at=datetime.now(UTC))
    )
    with world.agent.ctx.db.session() as session:
        session.execute(claimed)


def test_a_started_service_resumes_an_answer_a_dead_one_kept(world: World) -> None:
    approval = drafted(world)
    _left_answering(world, approval)
    with TestClient(create_app(world.settings)):
        _wait_for_status(world, approval, "accepted")
        deadline = time.monotonic() + 15
        while not world.delivered() and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(world.delivered()) == 1
    row = get_approval(world.agent.ctx.db, approval)
    assert (row.answer, row.decided_by) == ("accept", "m-1")


def test_recover_takes_a_kept_answer_to_its_thread_once(world: World) -> None:
    approval = drafted(world)
    _left_answering(world, approval)
    thread = get_approval(world.agent.ctx.db, approval).thread_id
    assert world.agent.recover(thread).outcome == "sent"
    assert world.agent.recover(thread).outcome == "sent"  # nothing more the second time
    assert len(world.delivered()) == 1
