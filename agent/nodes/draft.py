"""Draft the email, then check it against the playbook's guardrails (revising at most twice)."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime

from agent.context import AgentContext
from agent.drafting.facts import facts_said
from agent.drafting.models import DraftFailed, EmailDraft
from agent.drafting.request import build_request, guardrail_context
from agent.experiments.assignment import assignments
from agent.guardrails import check_draft
from agent.nodes.common import context_of, finish
from agent.state import AgentState
from agent.tools.timeline import load_timeline

MAX_REVISIONS = 2


def current_draft(state: AgentState) -> EmailDraft | None:
    draft = state.get("draft")
    return EmailDraft.model_validate(draft) if draft else None


def draft_email(
    state: AgentState, runtime: Runtime[AgentContext], config: RunnableConfig
) -> dict[str, Any]:
    ctx = context_of(runtime)
    lead, events = load_timeline(ctx.db, state["lead_id"], until=ctx.clock(), playbook=ctx.playbook)
    request = build_request(ctx, lead, events, dict(state), previous=current_draft(state))
    try:
        result = ctx.drafter.draft(request)
    except DraftFailed as exc:  # the lead is not lost: the run says why, a later run retries
        return finish(ctx, config, dict(state), "draft_failed", exc.reason)
    revising = bool(state.get("violations"))
    # whatever the drafter claims, the reviewer sees only the facts the email says
    draft = facts_said(result.draft)
    return {
        "draft": {
            **draft.model_dump(),
            "drafter": result.drafter,
            "prompt_version": result.prompt_version,
            "notes": result.notes,
            # the variants this draft was written with: the approval and its send keep them
            "experiments": assignments(ctx.playbook, lead.id, request.stage),
        },
        "revisions": state.get("revisions", 0) + (1 if revising else 0),
        "violations": [],
        "outcome": "drafted",
    }


def route_after_draft(state: AgentState) -> Literal["check_draft", "__end__"]:
    return "__end__" if state.get("outcome") == "draft_failed" else "check_draft"


def check_draft_node(state: AgentState, runtime: Runtime[AgentContext]) -> dict[str, Any]:
    ctx = context_of(runtime)
    lead, events = load_timeline(ctx.db, state["lead_id"], until=ctx.clock(), playbook=ctx.playbook)
    request = build_request(ctx, lead, events, dict(state))
    draft = current_draft(state)
    assert draft is not None  # the graph only reaches this node after a draft
    violations = check_draft(draft, guardrail_context(ctx, lead, request))
    return {"violations": [{"rule": v.rule, "message": v.message} for v in violations]}


def route_after_check(state: AgentState) -> Literal["draft_email", "human_review"]:
    if state.get("violations") and state.get("revisions", 0) < MAX_REVISIONS:
        return "draft_email"
    return "human_review"
