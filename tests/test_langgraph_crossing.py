"""Crossing paths between the project's runner (CLI, API, workers) and LangGraph Server: both open
the same checkpoints (langgraph.json's `checkpointer`), so a draft started on one side is
answered on the other, once. Driven with the real `langgraph dev` (the fixture of
test_langgraph_dev), the real `nurture` command in a subprocess, and a real SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import NotFoundError

from agent.settings import Settings
from agent.store.api_keys import Role, create_key
from agent.store.approvals import get_approval, pending, record_answer
from api.main import create_app
from tests import test_langgraph_dev as dev
from tests.utils.agent_world import WHITEPAPER, World

pytestmark = dev.pytestmark  # skipped, with its reason, where langgraph dev is not installed
langgraph_dev = dev.langgraph_dev  # the fixture: `langgraph dev` on the test's store and SMTP
keys = dev.keys  # a key of each role; the server's auth admits a marketer's answers
_lead, _waiting = dev._lead, dev._waiting

NURTURE = [sys.executable, "-c", "from cli import main; main()"]


def nurture(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    """`nurture ARGS` in a process of its own, on the test's database, data and SMTP server."""
    env = {
        **os.environ,
        "NURTURE_DATA_DIR": str(settings.data_dir),
        "NURTURE_DATABASE_URL": settings.resolved_database_url,
        "NURTURE_SMTP_HOST": "127.0.0.1",
        "NURTURE_SMTP_PORT": str(settings.smtp_port),
        "NURTURE_SMTP_STARTTLS": "false",
        "COLUMNS": "200",
    }
    return subprocess.run(
        NURTURE + list(args), env=env, capture_output=True, text=True, timeout=300, check=False
    )


def _on_server(client: SyncLangGraphClient, world: World, n: int) -> tuple[str, str]:
    """A draft for lead n started on the server: (thread id, approval id)."""
    world.seed(_lead(n), WHITEPAPER)
    thread = client.threads.create()["thread_id"]
    client.runs.wait(thread, "nurture", input={"lead_id": f"L{n}"}, context={})
    approval_id, _ = _waiting(client, thread)
    return thread, approval_id


def _accept(client: SyncLangGraphClient, thread: str, **options: Any) -> Any:
    """Accept through the server, as Agent Inbox does; the run's last values (or its error)."""
    return client.runs.wait(
        thread, "nurture", command={"resume": [{"type": "accept", "args": None}]}, **options
    )


def _outcome(client: SyncLangGraphClient, thread: str) -> Any:
    """Where the thread ended, as the server reads it from the checkpoints."""
    values = client.threads.get_state(thread)["values"]
    assert isinstance(values, dict)  # the graph's state, not a list of messages
    return values.get("outcome")


def _accept_or_refusal(client: SyncLangGraphClient, thread: str) -> str:
    """What the server answered: the run's values, or the error it ended with."""
    try:
        return str(_accept(client, thread))
    except Exception as exc:  # the SDK raises a bare Exception for a run that failed
        return str(exc)


def test_a_draft_from_nurture_draft_is_answered_through_the_server(
    langgraph_dev: str, world: World, keys: dict[Role, str]
) -> None:
    world.seed(_lead(21), WHITEPAPER)
    drafted = nurture(world.settings, "draft", "L21")
    assert drafted.returncode == 0, drafted.stdout + drafted.stderr
    [row] = [r for r in pending(world.agent.ctx.db) if r.lead_id == "L21"]
    assert world.agent.result(row.thread_id).approval_id == row.id
    client = dev._client(langgraph_dev, keys["marketer"])
    # the server keeps its own thread records: it does not list a thread it did not start, and
    # a client answering one names it and lets the server create its record
    with pytest.raises(NotFoundError):
        client.threads.get(row.thread_id)
    _accept(client, row.thread_id, if_not_exists="create")
    assert client.threads.get(row.thread_id)["status"] == "idle"
    assert len(world.delivered()) == 1
    decided = get_approval(world.agent.ctx.db, row.id)
    assert (decided.status, decided.decided_by) == ("accepted", "marketer-holder")
    assert world.agent.result(row.thread_id).outcome == "sent"
    again = nurture(world.settings, "approve", row.id, "--by", "mara")
    assert again.returncode == 2 and "already decided (accepted by marketer-holder" in again.stderr
    assert len(world.delivered()) == 1


def test_a_draft_started_on_the_server_is_answered_with_nurture_approve(
    langgraph_dev: str, world: World, keys: dict[Role, str]
) -> None:
    client = dev._client(langgraph_dev, keys["marketer"])
    thread, approval_id = _on_server(client, world, 22)

    approved = nurture(world.settings, "approve", approval_id, "--by", "mara")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert len(world.delivered()) == 1
    assert _lead(22)["email"] in world.delivered()[0]["To"]
    decided = get_approval(world.agent.ctx.db, approval_id)
    assert (decided.status, decided.decided_by) == ("accepted", "mara")
    # the server reads the same checkpoints: the thread has ended, sent
    assert _outcome(client, thread) == "sent"
    # a late answer through the server finds the thread ended: the run does nothing, sends nothing
    assert _accept(client, thread)["outcome"] == "sent"
    assert len(world.delivered()) == 1


def test_a_draft_started_on_the_server_is_in_the_inbox_pages(
    langgraph_dev: str, world: World, keys: dict[Role, str]
) -> None:
    client = dev._client(langgraph_dev, keys["marketer"])
    _, approval_id = _on_server(client, world, 23)
    key = create_key(world.agent.ctx.db, name="mara", role="marketer", at=datetime.now(UTC))
    with TestClient(create_app(world.settings)) as site:
        assert site.post("/login", data={"key": key}, follow_redirects=False).status_code == 303
        inbox = site.get("/inbox")
        assert inbox.status_code == 200 and f"/inbox/{approval_id}" in inbox.text
        page = site.get(f"/inbox/{approval_id}")
        assert page.status_code == 200 and _lead(23)["email"] in page.text


def test_two_accepts_at_once_from_the_server_and_the_cli_send_once(
    langgraph_dev: str, world: World, keys: dict[Role, str]
) -> None:
    client = dev._client(langgraph_dev, keys["marketer"])
    thread, approval_id = _on_server(client, world, 24)

    with ThreadPoolExecutor(2) as pool:
        from_server = pool.submit(_accept_or_refusal, client, thread)
        from_cli = pool.submit(nurture, world.settings, "approve", approval_id, "--by", "mara")
        server_values, cli = from_server.result(), from_cli.result()

    assert len(world.delivered()) == 1
    decided = get_approval(world.agent.ctx.db, approval_id)
    assert decided.status == "accepted"
    refusal = f"approval '{approval_id}' was already decided (accepted by {decided.decided_by}"
    if decided.decided_by == "mara":  # the CLI won: the server's run ends refused, in error
        assert cli.returncode == 0, cli.stdout + cli.stderr
        assert refusal in str(server_values), server_values
    else:
        assert decided.decided_by == "marketer-holder"
        assert cli.returncode == 2 and refusal in cli.stderr, cli.stdout + cli.stderr
    # whoever lost, the thread's state is the winner's: sent
    assert _outcome(client, thread) == "sent"
    assert world.agent.result(thread).outcome == "sent"


def test_a_server_run_that_loses_the_race_ends_in_error_saying_who_won(
    langgraph_dev: str, world: World, keys: dict[Role, str]
) -> None:
    client = dev._client(langgraph_dev, keys["marketer"])
    thread, approval_id = _on_server(client, world, 25)
    # the CLI's answer won the conditional write, its run has not resumed the thread yet
    record_answer(world.agent.ctx.db, approval_id, answer="accept", by="mara", at=datetime.now(UTC))
    with pytest.raises(Exception) as lost:  # noqa: PT011 (the SDK raises a bare Exception)
        _accept(client, thread)
    # the run ends in error, saying who won: ending it gracefully would write a checkpoint
    # competing with the winner's, and the thread's latest state could hide the send
    refusal = f"approval '{approval_id}' was already decided (accepted by mara at "
    assert refusal in str(lost.value), lost.value
    assert client.threads.get(thread)["status"] == "error"
    assert world.delivered() == []
    assert get_approval(world.agent.ctx.db, approval_id).decided_by == "mara"
