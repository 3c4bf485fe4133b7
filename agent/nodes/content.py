"""Retrieve stage-fit content for the draft."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.nodes.common import context_of, finish
from agent.state import AgentState
from agent.store.leads import load_lead
from agent.tools.content import ContentNeed, LeadContext, persona_of, retrieve


def retrieve_content(
    state: AgentState, runtime: Runtime[AgentContext], config: RunnableConfig
) -> dict[str, Any]:
    ctx = context_of(runtime)
    decision = state["decision"]
    content = decision["content"]
    lead = load_lead(ctx.db, state["lead_id"])
    attributes = lead.attributes if lead else {}
    need = ContentNeed(
        stage=decision["stage"],
        kinds=content["kinds"],
        topic=content["topic"],
        exclude_assets=content["exclude_assets"],
    )
    context = LeadContext(
        industry=attributes.get("industry"),
        persona=persona_of(attributes.get("title")),
        recent_topics=[content["topic"]] if content["topic"] else [],
    )
    found = retrieve(ctx.collection, need, context, ctx.playbook, k=3)
    picks = [p.model_dump(mode="json") for p in found.picks if p.asset_id in ctx.assets]
    if not picks:
        return {
            "picks": [],
            **finish(ctx, config, dict(state), "no_content", found.note or "no content fits"),
        }
    return {"picks": picks}


def route_after_retrieval(state: AgentState) -> Literal["draft_email", "__end__"]:
    return "draft_email" if state.get("picks") else "__end__"
