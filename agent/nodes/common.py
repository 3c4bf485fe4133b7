"""Helpers the nodes share."""

from __future__ import annotations

import threading
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.context import AgentContext, build_context
from agent.settings import get_settings
from agent.store.runs import record_run

_fallback: AgentContext | None = None
_fallback_lock = threading.Lock()


def context_of(runtime: Runtime[AgentContext]) -> AgentContext:
    """The run's context; under LangGraph Studio or a LangGraph server, which pass none, one
    built from settings on first use (never at import time)."""
    context: object = runtime.context  # typed as AgentContext, but a server may pass a dict
    if isinstance(context, AgentContext):
        return context
    global _fallback
    with _fallback_lock:
        if _fallback is None:
            _fallback = build_context(get_settings())
        return _fallback


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
