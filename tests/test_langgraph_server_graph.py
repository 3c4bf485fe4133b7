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

from agent import context as agent_context
from agent.settings import Settings
from agent.store.approvals import get_approval
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
    ctx = AgentContext(**given)
    assert ctx.settings is settings
    assert ctx.db.url == settings.resolved_database_url
    assert ctx.playbook.version and ctx.assets and ctx.drafter is not None


def test_a_context_field_of_the_wrong_kind_is_refused_by_name(settings: Settings) -> None:
    from agent.context import AgentContext

    wrong: dict[str, Any] = {"settings": settings, "db": "sqlite:///elsewhere.db"}
    with pytest.raises(TypeError, match="'db' must be a Database"):
        AgentContext(**wrong)
