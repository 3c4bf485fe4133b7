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


def server_caller(runtime: Runtime[AgentContext]) -> str | None:
    """The name of the key LangGraph Server authenticated this run's caller with (see
    agent/server_auth.py), or None where no server did: our own runner, CLI and API, which name
    the person themselves. The server writes the user into the run's config over anything the
    client put there; LangGraph reads it from there into server_info."""
    server = runtime.server_info
    user = server.user if server is not None else None
    if user is None or not user.is_authenticated:
        return None
    return str(user.display_name or user.identity)


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
