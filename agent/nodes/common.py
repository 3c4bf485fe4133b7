"""Helpers the nodes share."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.context import AgentContext, default_context
from agent.store.runs import record_run


def context_of(runtime: Runtime[AgentContext]) -> AgentContext:
    """The run's context, complete. LangGraph Studio or a LangGraph server pass none (the one
    built from settings on first use) or a dict LangGraph made a partial AgentContext of; this
    runs in a node, off the server's event loop, so building what is missing may block."""
    context: object = runtime.context  # typed as AgentContext, but may be None
    if isinstance(context, AgentContext):
        return context.complete()
    return default_context()


def thread_id(config: RunnableConfig) -> str:
    return str(config.get("configurable", {}).get("thread_id", "no-thread"))


def finish(
    ctx: AgentContext, config: RunnableConfig, state: dict[str, Any], outcome: str, detail: str
) -> dict[str, Any]:
    """Records where the run ended and returns the matching state update."""
    record_run(
        ctx.db,
        thread_id=thread_id(config),
        lead_id=state["lead_id"],
        outcome=outcome,
        at=ctx.clock(),
        playbook_version=ctx.playbook.version,
        detail=detail,
    )
    return {"outcome": outcome, "detail": detail}
