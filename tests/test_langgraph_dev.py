"""The graph on a real LangGraph Server: `langgraph dev --no-browser` on a loopback port, driven
with langgraph-sdk as Agent Inbox drives it, answered four ways, against a real SMTP server, with
the project's API keys in force (agent/server_auth.py): a marketer's key answers, a rep's may
draft but not answer, and no key gets nothing.

`langgraph dev` comes from `langgraph-cli[inmem]`, which lives in a venv of its own
(`make langgraph-setup`): its langgraph-api pins a jsonschema-rs the dev venv's schemathesis
cannot run with. The test is skipped, with that reason, where it is not installed."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient
from pydantic import ConfigDict, TypeAdapter, with_config
from typing_extensions import TypedDict

from agent.settings import Settings
from agent.store.api_keys import ROLES, Role, create_key, revoke_key
from agent.store.approvals import get_approval
from tests.utils.agent_world import DANA, WHITEPAPER, World
from tests.utils.smtp import free_port

ROOT = Path(__file__).parent.parent


def _langgraph_cli() -> str | None:
    named = os.environ.get("NURTURE_LANGGRAPH_CLI")
    if named:
        return named
    own = ROOT / ".venv-langgraph" / "bin" / "langgraph"
    return str(own) if own.exists() else shutil.which("langgraph")


CLI = _langgraph_cli()
pytestmark = pytest.mark.skipif(
    CLI is None,
    reason="langgraph-cli[inmem] is not installed (make langgraph-setup, or NURTURE_LANGGRAPH_CLI)",
)


# Agent Inbox's interrupt, written out: langgraph.prebuilt.interrupt's copy is deprecated (moved
# to langchain.agents.interrupt), and the inbox is what reads it.
@with_config(ConfigDict(extra="forbid"))
class ActionRequest(TypedDict):
    action: str
    args: dict[str, Any]


@with_config(ConfigDict(extra="forbid"))
class HumanInterruptConfig(TypedDict):
    allow_ignore: bool
    allow_respond: bool
    allow_edit: bool
    allow_accept: bool


@with_config(ConfigDict(extra="forbid"))
class HumanInterrupt(TypedDict):
    action_request: ActionRequest
    config: HumanInterruptConfig
    description: str | None


class HumanResponse(TypedDict):
    type: Literal["accept", "ignore", "response", "edit"]
    args: None | str | ActionRequest


INTERRUPTS = TypeAdapter(list[HumanInterrupt])


@pytest.fixture
def langgraph_dev(world: World, settings: Settings, tmp_path: Path) -> Iterator[str]:
    """`langgraph dev` on a free loopback port, on the test's database and SMTP server, with
    tracing and analytics off; its output goes to a file shown when it does not come up."""
    assert CLI is not None
    port = free_port()
    env = {
        **os.environ,
        "NURTURE_DATA_DIR": str(settings.data_dir),
        "NURTURE_DATABASE_URL": settings.resolved_database_url,
        "NURTURE_SMTP_HOST": "127.0.0.1",
        "NURTURE_SMTP_PORT": str(settings.smtp_port),
        "NURTURE_SMTP_STARTTLS": "false",
        "LANGSMITH_TRACING": "false",
        "LANGCHAIN_TRACING_V2": "false",
        "LANGGRAPH_CLI_NO_ANALYTICS": "1",
        "LANGSMITH_API_KEY": "",
    }
    log = tmp_path / "langgraph-dev.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [CLI, "dev", "--no-browser", "--no-reload", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if server.poll() is not None:
                pytest.fail(f"langgraph dev exited {server.returncode}:\n{log.read_text()}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev did not come up in 120 s:\n{log.read_text()}")
            time.sleep(0.5)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


@pytest.fixture
def keys(world: World) -> dict[Role, str]:
    """A key of each role in the test's database, each held by someone named after its role."""
    db = world.agent.ctx.db
    at = datetime.now(UTC)
    return {role: create_key(db, name=f"{role}-holder", role=role, at=at) for role in ROLES}


def _client(url: str, key: str | None) -> SyncLangGraphClient:
    """A client sending `key` as a bearer token (and no LANGSMITH_API_KEY from the environment)."""
    return get_sync_client(
        url=url, api_key=None, headers={"Authorization": f"Bearer {key}"} if key else {}
    )


def _refused(call: Any, status: int) -> str:
    """The server's message when `call` is refused with `status`."""
    with pytest.raises(httpx.HTTPStatusError) as refused:
        call()
    assert refused.value.response.status_code == status, refused.value.response.text
    return refused.value.response.text


def _lead(n: int) -> dict[str, Any]:
    """A lead of its own per thread, at a company of its own: one email to a lead, or to an
    account, holds the next back (frequency cap, account cap)."""
    return {**DANA, "id": f"L{n}", "email": f"lead{n}@company{n}.example"}


def _waiting(client: SyncLangGraphClient, thread_id: str) -> tuple[str, HumanInterrupt]:
    state = client.threads.get_state(thread_id)
    [waiting] = state["interrupts"]
    [request] = INTERRUPTS.validate_python(waiting["value"])
    return str(request["action_request"]["args"]["approval_id"]), request


def test_agent_inbox_answers_through_langgraph_dev(
    langgraph_dev: str, world: World, keys: dict[Role, str]
) -> None:
    client = _client(langgraph_dev, keys["marketer"])
    db = world.agent.ctx.db
    threads: dict[str, tuple[str, str, HumanInterrupt]] = {}
    for n, answer in enumerate(("accept", "edit", "response", "ignore"), start=1):
        world.seed(_lead(n), WHITEPAPER)
        thread = client.threads.create()["thread_id"]
        client.runs.wait(thread, "nurture", input={"lead_id": f"L{n}"}, context={})
        approval_id, request = _waiting(client, thread)
        assert request["config"]["allow_accept"] is True
        assert request["action_request"]["action"] == "send_email"
        assert get_approval(db, approval_id).status == "pending"
        threads[answer] = (thread, approval_id, request)
    assert world.delivered() == []

    def resume(answer: str, response: HumanResponse, config: Any = None) -> None:
        thread = threads[answer][0]
        client.runs.wait(thread, "nurture", command={"resume": [response]}, config=config)
        assert client.threads.get(thread)["status"] != "error"

    # the audit names the key's holder, not whom the client says answered, in the answer or
    # posing as the server's user in the run's config
    claimed: Any = {"type": "accept", "args": None, "by": "someone-else"}
    posed = {"identity": "x", "display_name": "someone-else", "permissions": ["admin"]}
    resume("accept", claimed, config={"configurable": {"langgraph_auth_user": posed}})
    assert len(world.delivered()) == 1
    row = get_approval(db, threads["accept"][1])
    assert (row.status, row.decided_by) == ("accepted", "marketer-holder")

    asked = threads["edit"][2]["action_request"]
    body = str(asked["args"]["body"]).replace("Hi Dana", "Hello Dana")
    # Agent Inbox hands the whole request back, with the fields the person changed
    edited = ActionRequest(action=asked["action"], args={**asked["args"], "body": body})
    resume("edit", {"type": "edit", "args": edited})
    messages = world.delivered()
    assert len(messages) == 2
    assert "Hello Dana" in messages[1].get_body(("plain",)).get_content()
    row = get_approval(db, threads["edit"][1])
    assert (row.status, row.final_body, row.decided_by) == ("edited", body, "marketer-holder")

    resume("response", {"type": "response", "args": "Mention the pilot programme."})
    row = get_approval(db, threads["response"][1])
    assert (row.status, row.feedback, row.decided_by) == (
        "responded",
        "Mention the pilot programme.",
        "marketer-holder",
    )
    second, _ = _waiting(client, threads["response"][0])
    assert second != row.id and get_approval(db, second).status == "pending"

    resume("ignore", {"type": "ignore", "args": None})
    row = get_approval(db, threads["ignore"][1])
    assert (row.status, row.decided_by) == ("ignored", "marketer-holder")
    assert len(world.delivered()) == 2  # none for response and ignore


def test_only_a_marketer_key_answers_on_langgraph_dev(
    langgraph_dev: str, world: World, keys: dict[Role, str]
) -> None:
    """A rep may draft on the server but not answer; ingest and keyless callers get nothing,
    and neither does a caller claiming to be LangGraph Studio."""
    db = world.agent.ctx.db
    world.seed(_lead(1), WHITEPAPER)
    # the SDK's own api_key, sent as X-API-Key, which the HTTP API reads too
    rep = get_sync_client(url=langgraph_dev, api_key=keys["rep"])
    thread = rep.threads.create()["thread_id"]
    rep.runs.wait(thread, "nurture", input={"lead_id": "L1"}, context={})
    approval_id, _ = _waiting(rep, thread)

    accept: Any = [{"type": "accept", "args": None}]

    def answer(client: SyncLangGraphClient) -> Callable[[], Any]:
        return partial(client.runs.wait, thread, "nurture", command={"resume": accept})

    assert "the rep role may not answer a draft" in _refused(answer(rep), 403)
    skip_review = partial(rep.threads.update_state, thread, {"review_note": None})
    assert "the rep role may not change a thread" in _refused(skip_review, 403)

    revoked = create_key(db, name="left", role="marketer", at=datetime.now(UTC))
    revoke_key(db, revoked.split("_")[1], at=datetime.now(UTC))
    refusals = [(None, 401), ("nk_000000000000_wrong", 401), (revoked, 401), (keys["ingest"], 403)]
    for key, status in refusals:
        caller = _client(langgraph_dev, key)
        _refused(answer(caller), status)
        _refused(caller.threads.create, status)
    # langgraph dev lets LangGraph Studio's requests through unless the config says otherwise
    studio = get_sync_client(
        url=langgraph_dev, api_key=None, headers={"x-auth-scheme": "langsmith"}
    )
    _refused(answer(studio), 401)

    assert get_approval(db, approval_id).status == "pending"
    assert _waiting(rep, thread)[0] == approval_id
    assert world.delivered() == []
