"""Load the lead and its timeline, decide the next best action, and route on it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.account_handoff import apply_account
from agent.context import AgentContext
from agent.decisions import decide
from agent.nodes.common import context_of, finish, thread_id
from agent.state import AgentState
from agent.store.account_context import load_account_context
from agent.store.decisions import record_decision
from agent.store.runs import record_run
from agent.tools.timeline import load_signals

OUTCOME = {"suppress": "suppressed", "with_sales": "with_sales", "wait": "waiting"}


def load_and_decide(
    state: AgentState, runtime: Runtime[AgentContext], config: RunnableConfig
) -> dict[str, Any]:
    ctx = context_of(runtime)
    playbook = ctx.playbook  # one read: an activation meanwhile must not mix versions
    now = ctx.clock()
    lead, timeline = load_signals(ctx.db, state["lead_id"], until=now, playbook=playbook)
    # the lead's account may hand it to sales, or keep it from nurture while sales has it
    own = decide(lead, timeline, playbook, now)
    account = load_account_context(ctx.db, lead, playbook, now, scores={lead.id: own.score.total})
    decision = apply_account(own, account)
    record_run(
        ctx.db,
        thread_id=thread_id(config),
        lead_id=lead.id,
        action=decision.action,
        outcome="running",
        at=now,
        playbook_version=playbook.version,
    )
    record_decision(ctx.db, decision, playbook_version=playbook.version)
    return {
        "at": now.isoformat(),
        "decision": decision.model_dump(mode="json"),
        "revisions": 0,
        "review_round": 0,
        "violations": [],
        "feedback": None,
    }


def route_by_action(
    state: AgentState,
) -> Literal["record_outcome", "notify_sales", "retrieve_content"]:
    action = state["decision"]["action"]
    if action == "handoff_to_sales":
        return "notify_sales"
    if action in ("send_email", "re_engage"):
        return "retrieve_content"
    return "record_outcome"


def record_outcome(
    state: AgentState, runtime: Runtime[AgentContext], config: RunnableConfig
) -> dict[str, Any]:
    """Suppress, with-sales and wait end here: nothing is drafted, the reason is kept."""
    decision = state["decision"]
    reason = decision["reasons"][0]
    detail = f"{reason['rule']}: {reason['text']}"
    if decision.get("wait_until"):
        until = datetime.fromisoformat(decision["wait_until"])
        detail += f" (until {until:%Y-%m-%d %H:%M} UTC)"
    return finish(context_of(runtime), config, dict(state), OUTCOME[decision["action"]], detail)
