"""The graph of langgraph.json driven the way LangGraph Server drives it: a context dict coerced
with `context_schema(**context)` (often `{}`), the server's own checkpointer, and resume values
in Agent Inbox's shape, with the answer recorded by the graph itself."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.pregel import Pregel
from langgraph.types import Command

from agent import context as agent_context
from agent.errors import NurtureError
from agent.nodes import review
from agent.settings import Settings
from agent.store.approvals import get_approval, record_answer
from tests.test_guardrail_override import pricing_edit
from tests.utils.agent_world import DANA, WHITEPAPER, World


@pytest.fixture
def server_graph(
    world: World, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Pregel[Any, Any, Any, Any]]:
    """langgraph.json's compiled graph with a checkpointer attached, as the server attaches its
    own; settings come from the environment, as under `langgraph dev`."""
    from agent import graph as studio

    monkeypatch.setenv("NURTURE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("NURTURE_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("NURTURE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NURTURE_SMTP_PORT", str(settings.smtp_port))
    monkeypatch.setenv("NURTURE_SMTP_STARTTLS", "false")
    monkeypatch.setattr(agent_context, "_default", None, raising=False)
    world.seed(DANA, WHITEPAPER)
    yield studio.graph.copy(update={"checkpointer": InMemorySaver()})


def _waiting_approval(result: dict[str, Any]) -> str:
    interrupts = result.get("__interrupt__")
    assert interrupts, result
    return str(interrupts[0].value[0]["action_request"]["args"]["approval_id"])


AT = datetime.now(UTC).replace(microsecond=0)  # after the seeded events, fixed for the run


@pytest.mark.parametrize(
    "context",
    [{}, {"clock": lambda: AT}],
    ids=["empty", "partial"],
)
def test_the_server_graph_runs_with_the_context_the_server_passes(
    server_graph: Pregel[Any, Any, Any, Any], world: World, context: dict[str, Any]
) -> None:
    """A lead that should get an email reaches the review with a pending approval."""
    config: RunnableConfig = {"configurable": {"thread_id": "server-1"}}
    result = server_graph.invoke({"lead_id": "L1"}, config, context=context)
    approval_id = _waiting_approval(result)
    row = get_approval(world.agent.ctx.db, approval_id)
    assert row.status == "pending" and row.lead_id == "L1"
    if context:  # what the context gave is used, the rest came from settings
        assert row.created_at.replace(tzinfo=UTC) == AT
    assert world.delivered() == []


def test_a_partial_context_keeps_what_it_was_given(settings: Settings) -> None:
    """Given values win; the rest is built from the given settings."""
    from agent.context import AgentContext

    given: dict[str, Any] = {"settings": settings}
    ctx = AgentContext(**given).complete()
    assert ctx.settings is settings
    assert ctx.db.url == settings.resolved_database_url
    assert ctx.playbook.version and ctx.assets and ctx.drafter is not None


def test_a_context_field_of_the_wrong_kind_is_refused_by_name(settings: Settings) -> None:
    from agent.context import AgentContext

    wrong: dict[str, Any] = {"settings": settings, "db": "sqlite:///elsewhere.db"}
    with pytest.raises(TypeError, match="'db' must be a Database"):
        AgentContext(**wrong)


# --- Answers in Agent Inbox's shape, recorded by the graph itself (items 2 and 3) ---

THREAD: RunnableConfig = {"configurable": {"thread_id": "inbox-1"}}


def _start(graph: Pregel[Any, Any, Any, Any]) -> str:
    return _waiting_approval(graph.invoke({"lead_id": "L1"}, THREAD, context={}))


def _resume(graph: Pregel[Any, Any, Any, Any], *answer: dict[str, Any]) -> dict[str, Any]:
    """Resumes the thread with what Agent Inbox sends: a list holding one HumanResponse."""
    result: dict[str, Any] = graph.invoke(Command(resume=list(answer)), THREAD, context={})
    return result


def test_an_inbox_response_is_recorded_and_writes_a_new_draft(
    server_graph: Pregel[Any, Any, Any, Any], world: World
) -> None:
    first = _start(server_graph)
    result = _resume(server_graph, {"type": "response", "args": "Mention the pilot programme."})
    second = _waiting_approval(result)
    assert second != first
    db = world.agent.ctx.db
    row = get_approval(db, first)
    assert (row.status, row.answer, row.decided_by) == ("responded", "respond", "langgraph-server")
    assert row.feedback == "Mention the pilot programme."
    assert get_approval(db, second).status == "pending"
    assert world.delivered() == []


def test_the_projects_respond_stays_an_alias(
    server_graph: Pregel[Any, Any, Any, Any], world: World
) -> None:
    first = _start(server_graph)
    second = _waiting_approval(_resume(server_graph, {"type": "respond", "args": "Shorter."}))
    assert second != first
    assert get_approval(world.agent.ctx.db, first).status == "responded"


def test_an_inbox_accept_is_recorded_and_sent_once(
    server_graph: Pregel[Any, Any, Any, Any], world: World
) -> None:
    approval_id = _start(server_graph)
    result = _resume(server_graph, {"type": "accept", "args": None, "by": "sam"})
    assert result["outcome"] == "sent", result
    row = get_approval(world.agent.ctx.db, approval_id)
    assert (row.status, row.decided_by) == ("accepted", "sam")
    assert len(world.delivered()) == 1


def test_an_inbox_edit_sends_the_edited_text_once(
    server_graph: Pregel[Any, Any, Any, Any], world: World
) -> None:
    approval_id = _start(server_graph)
    draft = get_approval(world.agent.ctx.db, approval_id)
    body = draft.body.replace("Hi Dana", "Hello Dana")
    edit = {"action": "send_email", "args": {"subject": "Routing costs", "body": body}}
    result = _resume(server_graph, {"type": "edit", "args": edit})
    assert result["outcome"] == "sent", result
    row = get_approval(world.agent.ctx.db, approval_id)
    assert (row.status, row.final_subject, row.final_body) == ("edited", "Routing costs", body)
    assert row.decided_by == "langgraph-server"
    [message] = world.delivered()
    assert message["Subject"] == "Routing costs"
    assert "Hello Dana" in message.get_body(("plain",)).get_content()


def test_an_inbox_ignore_marks_the_approval_ignored(
    server_graph: Pregel[Any, Any, Any, Any], world: World
) -> None:
    approval_id = _start(server_graph)
    result = _resume(server_graph, {"type": "ignore", "args": None})
    assert result["outcome"] == "discarded" and "__interrupt__" not in result
    assert get_approval(world.agent.ctx.db, approval_id).status == "ignored"
    assert world.delivered() == []


def test_accepting_a_flagged_draft_without_override_keeps_it_waiting(
    server_graph: Pregel[Any, Any, Any, Any], world: World
) -> None:
    first = _start(server_graph)
    row = get_approval(world.agent.ctx.db, first)
    subject, body = pricing_edit(row.body.splitlines()[-1])
    edit = {"action": "send_email", "args": {"subject": subject, "body": body}}
    flagged = _waiting_approval(_resume(server_graph, {"type": "edit", "args": edit}))
    assert get_approval(world.agent.ctx.db, flagged).violations

    result = _resume(server_graph, {"type": "accept", "args": None})
    assert _waiting_approval(result) == flagged  # the same draft waits, nothing is in error
    description = result["__interrupt__"][0].value[0]["description"]
    assert "refused" in description and "guardrail.grounding" in description
    assert get_approval(world.agent.ctx.db, flagged).status == "pending"
    assert world.delivered() == []

    result = _resume(
        server_graph, {"type": "accept", "args": None, "by": "sam", "override_guardrails": True}
    )
    assert result["outcome"] == "sent", result
    row = get_approval(world.agent.ctx.db, flagged)
    assert row.status == "accepted" and row.guardrails_overridden_by == "sam"
    assert len(world.delivered()) == 1


def test_an_answer_not_understood_keeps_the_draft_waiting_and_says_why(
    server_graph: Pregel[Any, Any, Any, Any], world: World
) -> None:
    approval_id = _start(server_graph)
    result = _resume(server_graph, {"type": "approve"})
    assert _waiting_approval(result) == approval_id
    assert "type" in result["__interrupt__"][0].value[0]["description"]
    assert get_approval(world.agent.ctx.db, approval_id).status == "pending"


def test_a_rerun_after_the_answer_was_recorded_sends_once(
    server_graph: Pregel[Any, Any, Any, Any], world: World
) -> None:
    """A crash after the answer was recorded re-runs the review node with the same answer: the
    row already decided by it is no failure."""
    approval_id = _start(server_graph)
    record_answer(world.agent.ctx.db, approval_id, answer="accept", by="sam", at=AT)
    result = _resume(server_graph, {"type": "accept", "args": None, "by": "sam"})
    assert result["outcome"] == "sent", result
    assert len(world.delivered()) == 1


def test_an_answer_that_lost_to_another_is_refused_and_sends_nothing(
    server_graph: Pregel[Any, Any, Any, Any], world: World
) -> None:
    approval_id = _start(server_graph)
    record_answer(world.agent.ctx.db, approval_id, answer="ignore", by="kim", at=AT)
    with pytest.raises(NurtureError, match="already decided"):
        _resume(server_graph, {"type": "accept", "args": None, "by": "sam"})
    assert get_approval(world.agent.ctx.db, approval_id).status == "ignored"
    assert world.delivered() == []


def test_the_runner_records_the_answer_once_through_the_graph(world: World) -> None:
    """NurtureAgent.answer only claims the answer (the row is "answering", so a second answer is
    refused) before resuming; the review node records it, once."""
    from tests.utils.agent_world import drafted

    approval_id = drafted(world)
    seen: list[str] = []
    real = record_answer

    def counting(*args: Any, **kwargs: Any) -> Any:
        seen.append(get_approval(world.agent.ctx.db, approval_id).status)
        return real(*args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(review, "record_answer", counting)
        assert world.agent.answer(approval_id, "accept", by="sam").outcome == "sent"
    assert seen == ["answering"]
    assert get_approval(world.agent.ctx.db, approval_id).decided_by == "sam"
