"""Hand a lead to sales: notify the rep (HMAC-signed webhook), record it, draft nothing."""

from __future__ import annotations

from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.nodes.common import context_of, finish, thread_id
from agent.state import AgentState
from agent.store.handoffs import record_handoff
from agent.store.ingest import ingest_events
from agent.tools.crm import notify_sales


def notify_sales_node(
    state: AgentState, runtime: Runtime[AgentContext], config: RunnableConfig
) -> dict[str, Any]:
    ctx = context_of(runtime)
    handoff_id = f"handoff-{thread_id(config)}"
    reason = state["decision"]["reasons"][0]
    payload = {
        "handoff_id": handoff_id,
        "lead_id": state["lead_id"],
        "rule": reason["rule"],
        "reason": reason["text"],
        "score": state["decision"]["score"]["total"],
        "stage": state["decision"]["stage"],
        "at": state["at"],
    }
    status, error = "not_configured", None
    if ctx.settings.sales_webhook_url:
        result = notify_sales(
            ctx.settings.sales_webhook_url, ctx.settings.webhook_secret.get_secret_value(), payload
        )
        status, error = ("delivered", None) if result.delivered else ("failed", result.error)
    record_handoff(
        ctx.db,
        handoff_id=handoff_id,
        lead_id=state["lead_id"],
        rule=reason["rule"],
        reason=reason["text"],
        webhook_status=status,
        webhook_error=error,
        at=ctx.clock(),
    )
    # The handoff event puts the lead with sales: the next decision is with_sales.
    ingest_events(
        ctx.db,
        [
            {
                "id": handoff_id,
                "lead_id": state["lead_id"],
                "type": "handoff",
                "occurred_at": ctx.clock().isoformat(),
                "properties": {"rule": reason["rule"]},
            }
        ],
        ctx.playbook,
        now=ctx.clock(),
    )
    return finish(
        ctx,
        config,
        dict(state),
        "handed_off",
        f"{reason['rule']}: {reason['text']} (webhook {status})",
    )
