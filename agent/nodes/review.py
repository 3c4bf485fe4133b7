"""Human review: the draft waits in the inbox (a LangGraph interrupt in the Agent Inbox
`HumanInterrupt` shape) until a person accepts, edits, asks for changes, or discards it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt
from pydantic import BaseModel

from agent.context import AgentContext
from agent.drafting.models import EmailDraft
from agent.drafting.request import build_request, guardrail_context
from agent.guardrails import check_draft
from agent.nodes.common import context_of, finish, thread_id
from agent.state import AgentState
from agent.store.approvals import PendingDraft, open_approval
from agent.store.runs import record_run
from agent.tools.timeline import load_timeline


class HumanResponse(BaseModel):
    """The Agent Inbox answer: accept | edit (args: {subject, body} or an ActionRequest) |
    respond (args: feedback text) | ignore."""

    type: Literal["accept", "edit", "respond", "ignore"]
    args: None | str | dict[str, Any] = None


def human_review(
    state: AgentState, runtime: Runtime[AgentContext], config: RunnableConfig
) -> Command[Literal["send_email", "draft_email", "human_review", "__end__"]]:
    ctx = context_of(runtime)
    round_ = state.get("review_round", 0) + 1
    approval_id = f"{thread_id(config)}.{round_}"  # stable when this node re-runs on resume
    draft = state["draft"]
    open_approval(
        ctx.db,
        PendingDraft(
            approval_id=approval_id,
            thread_id=thread_id(config),
            lead_id=state["lead_id"],
            subject=draft["subject"],
            body=draft["body"],
            cited_asset_ids=draft["cited_asset_ids"],
            lead_facts_used=draft["lead_facts_used"],
            drafter=draft["drafter"],
            prompt_version=draft["prompt_version"],
            playbook_version=ctx.playbook.version,
            violations=state.get("violations", []),
            decision=state["decision"],
            created_at=ctx.clock(),
        ),
    )
    record_run(
        ctx.db,
        thread_id=thread_id(config),
        lead_id=state["lead_id"],
        outcome="awaiting_approval",
        at=ctx.clock(),
        playbook_version=ctx.playbook.version,
        detail=approval_id,
    )
    answer = _parse(interrupt([interrupt_payload(state, approval_id)]))
    done = {"review_round": round_, "approval_id": approval_id}
    if answer.type == "accept":
        return Command(goto="send_email", update=done)
    if answer.type == "respond":
        feedback = answer.args if isinstance(answer.args, str) else str(answer.args or "")
        return Command(
            goto="draft_email",
            update={**done, "feedback": feedback, "revisions": 0, "violations": []},
        )
    if answer.type == "ignore":
        ended = finish(ctx, config, dict(state), "discarded", f"discarded in review {approval_id}")
        return Command(goto="__end__", update={**done, **ended})
    return _edited(ctx, state, answer, done)


def _edited(
    ctx: AgentContext, state: AgentState, answer: HumanResponse, done: dict[str, Any]
) -> Command[Any]:
    """An edit is checked like any draft: if it fails, it goes back to a human, flagged."""
    fields = answer.args if isinstance(answer.args, dict) else {}
    fields = fields.get("args", fields)  # an ActionRequest {action, args} or the args alone
    draft = {
        **state["draft"],
        "subject": fields.get("subject", state["draft"]["subject"]),
        "body": fields.get("body", state["draft"]["body"]),
    }
    lead, events = load_timeline(ctx.db, state["lead_id"], until=ctx.clock(), playbook=ctx.playbook)
    request = build_request(ctx, lead, events, dict(state))
    violations = check_draft(
        EmailDraft.model_validate(draft), guardrail_context(ctx, lead, request)
    )
    found = [{"rule": v.rule, "message": v.message} for v in violations]
    if found:
        return Command(goto="human_review", update={**done, "draft": draft, "violations": found})
    return Command(goto="send_email", update={**done, "draft": draft, "violations": []})


def _parse(value: Any) -> HumanResponse:
    if isinstance(value, list):  # the Agent Inbox answers with a list, one per request
        value = value[0] if value else {"type": "ignore"}
    return HumanResponse.model_validate(value)


def interrupt_payload(state: AgentState, approval_id: str) -> dict[str, Any]:
    draft = state["draft"]
    return {
        "action_request": {
            "action": "send_email",
            "args": {
                "approval_id": approval_id,
                "subject": draft["subject"],
                "body": draft["body"],
            },
        },
        "config": {
            # a flagged draft is edited, sent back or dropped there; sending it unchanged
            # needs the explicit, audited override of the CLI, the API or the inbox page
            "allow_accept": not state.get("violations"),
            "allow_edit": True,
            "allow_respond": True,
            "allow_ignore": True,
        },
        "description": describe(state),
    }


def describe(state: AgentState) -> str:
    """The why, in Markdown, for the person deciding."""
    decision = state["decision"]
    score = decision["score"]
    reason = decision["reasons"][0]
    signals = sorted(score["contributions"], key=lambda c: c["value"], reverse=True)[:4]
    hot = " · HOT" if score["hot"] else ""
    lines = [
        f"**Why now:** `{reason['rule']}`: {reason['text']}",
        f"**Stage:** {decision['stage']} · **Score:** {score['total']:.1f} (attribute "
        f"{score['attribute']:g} + behaviour {score['behaviour']:.1f}){hot}",
        "**Strongest signals:** "
        + (", ".join(f"{c['type']} ({c['value']:.1f})" for c in signals) or "none"),
        "**Cited content:**",
        *[
            f"- [{p['title']}]({p['url']}) ({p['kind']}): {'; '.join(p['why'][:3])}"
            for p in state.get("picks", [])
        ],
        f"**Drafter:** {state['draft']['drafter']} (prompt {state['draft']['prompt_version']})",
    ]
    violations = state.get("violations", [])
    if violations:
        lines.append("**⚠ Guardrails failed after revision; do not approve unchanged:**")
        lines += [f"- `{v['rule']}`: {v['message']}" for v in violations]
    else:
        lines.append("**Guardrails:** passed")
    if decision.get("at"):
        lines.append(f"_Decided {datetime.fromisoformat(decision['at']):%Y-%m-%d %H:%M} UTC._")
    return "\n".join(lines)
