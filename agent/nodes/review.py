"""Human review: the draft waits in the inbox (a LangGraph interrupt in the Agent Inbox
`HumanInterrupt` shape) until a person accepts, edits, asks for changes, or discards it."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from langchain_core.runnables import RunnableConfig
from langgraph.runtime import Runtime
from langgraph.types import Command, interrupt

from agent.context import AgentContext
from agent.drafting.models import EmailDraft
from agent.drafting.request import build_request, guardrail_context, run_moment
from agent.guardrails import check_draft
from agent.nodes.answers import AnswerNotUnderstood, ReviewAnswer, parse_answer
from agent.nodes.common import context_of, finish, server_caller, thread_id
from agent.state import AgentState
from agent.store.approvals import (
    AlreadyDecided,
    DraftAlreadyPending,
    GuardrailsNotOverridden,
    PendingDraft,
    UnstorableAnswer,
    decided_as,
    open_approval,
    record_answer,
)
from agent.store.runs import record_run
from agent.tools.timeline import load_timeline
from agent.unsubscribe import unsubscribe_links


def human_review(
    state: AgentState, runtime: Runtime[AgentContext], config: RunnableConfig
) -> Command[Literal["send_email", "draft_email", "human_review", "__end__"]]:
    ctx = context_of(runtime)
    round_ = state.get("review_round", 0) + 1
    approval_id = f"{thread_id(config)}.{round_}"  # stable when this node re-runs on resume
    draft = state["draft"]
    try:
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
                notes=list(draft.get("notes") or []),
                experiments=dict(draft.get("experiments") or {}),
            ),
        )
    except DraftAlreadyPending as waiting:  # another run of this lead reached review first
        return Command(
            goto="__end__", update=finish(ctx, config, dict(state), "blocked", str(waiting))
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
    try:
        given = interrupt([interrupt_payload(state, approval_id)])
        answer = parse_answer(given, draft, caller=server_caller(runtime))
        _record(ctx, approval_id, answer)
    except (AnswerNotUnderstood, GuardrailsNotOverridden, UnstorableAnswer) as refused:
        # asked again, the same draft: an answer the graph cannot use must not leave the
        # thread in error for good (Agent Inbox could never answer it again)
        return Command(goto="human_review", update={"review_note": f"refused: {refused}"})
    done = {"review_round": round_, "approval_id": approval_id, "review_note": None}
    if answer.answer == "accept":
        return Command(goto="send_email", update=done)
    if answer.answer == "respond":
        return Command(
            goto="draft_email",
            update={**done, "feedback": answer.feedback, "revisions": 0, "violations": []},
        )
    if answer.answer == "ignore":
        ended = finish(ctx, config, dict(state), "discarded", f"discarded in review {approval_id}")
        return Command(goto="__end__", update={**done, **ended})
    return _edited(ctx, state, answer, done)


def _record(ctx: AgentContext, approval_id: str, answer: ReviewAnswer) -> None:
    """Records the answer here, in the graph, so the decision is the same whichever client
    resumed the thread (Agent Inbox, Studio, the SDK, the project's own runner). Of two answers,
    the conditional write lets one win; the other raises AlreadyDecided and its run sends
    nothing. The same answer found already recorded is this node re-running after a crash."""
    texts = {"feedback": answer.feedback, "subject": answer.subject, "body": answer.body}
    try:
        record_answer(
            ctx.db,
            approval_id,
            answer=answer.answer,
            by=answer.by,
            at=ctx.clock(),
            override_guardrails=answer.override_guardrails,
            **texts,
        )
    except AlreadyDecided as exc:
        if not decided_as(exc.row, answer=answer.answer, by=answer.by, **texts):
            raise


def _edited(
    ctx: AgentContext, state: AgentState, answer: ReviewAnswer, done: dict[str, Any]
) -> Command[Any]:
    """An edit is checked like any draft: if it fails, it goes back to a human, flagged."""
    lead, events = load_timeline(ctx.db, state["lead_id"], until=ctx.clock(), playbook=ctx.playbook)
    # an edit may carry a link of ours signed at another moment: the check wants the run's
    links = unsubscribe_links(ctx.settings, ctx.db)
    body = links.refresh(answer.body or "", lead.id, run_moment(ctx, dict(state)))
    draft = {**state["draft"], "subject": answer.subject, "body": body}
    request = build_request(ctx, lead, events, dict(state))
    violations = check_draft(
        EmailDraft.model_validate(draft), guardrail_context(ctx, lead, request)
    )
    found = [{"rule": v.rule, "message": v.message} for v in violations]
    if found:
        return Command(goto="human_review", update={**done, "draft": draft, "violations": found})
    return Command(goto="send_email", update={**done, "draft": draft, "violations": []})


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
    signals = sorted(score.get("contributions") or (), key=lambda c: c["value"], reverse=True)[:4]
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
    note = state.get("review_note")
    if note:  # the answer given to this very draft, which could not be used
        lines.insert(0, f"**⚠ Your last answer was {note}**")
    violations = state.get("violations", [])
    if violations:
        lines.append("**⚠ Guardrails failed after revision; do not approve unchanged:**")
        lines += [f"- `{v['rule']}`: {v['message']}" for v in violations]
    else:
        lines.append("**Guardrails:** passed")
    if decision.get("at"):
        lines.append(f"_Decided {datetime.fromisoformat(decision['at']):%Y-%m-%d %H:%M} UTC._")
    return "\n".join(lines)
