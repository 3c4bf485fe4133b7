"""What the inbox and draft pages show: pending drafts with their why, and the outcome of an
answer, all read from the store (and the waiting thread's state for the full "why")."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast
from urllib.parse import quote

from markupsafe import Markup
from sqlalchemy import select

from agent.context import AgentContext
from agent.nodes.review import describe
from agent.playbook.models import STAGES
from agent.runner import NurtureAgent
from agent.staleness import stale_reasons
from agent.state import AgentState
from agent.store.approvals import ANSWERING, pending
from agent.store.runs import get_run
from agent.store.schema import ApprovalRow, LeadRow
from agent.store.sends import get_send, list_sends
from api.convert import scheduled_label
from api.web.markdown import render_markdown

INBOX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class Citation:
    asset_id: str
    title: str
    url: str | None
    kind: str


@dataclass(frozen=True, slots=True)
class DraftSummary:
    """One row of the inbox."""

    approval_id: str
    lead_id: str
    lead_name: str
    company: str
    email: str
    stage: str
    why_rule: str
    why_text: str
    subject: str
    citations: list[Citation]
    violations: list[dict[str, Any]]
    drafter: str
    created_at: datetime
    stale: str | None = None
    """Why this waiting draft should no longer be sent (agent.staleness); None while it fits."""


@dataclass(frozen=True, slots=True)
class DraftPage:
    summary: DraftSummary
    row: ApprovalRow
    why_html: Markup
    score: float | None
    prev_id: str | None
    next_id: str | None
    position: int
    """1-based place in the pending list; 0 when this draft is no longer pending."""
    total: int


@dataclass(frozen=True, slots=True)
class Flash:
    kind: str
    """ok, warn or info: only the colour."""
    text: str
    link: str | None = None
    link_text: str = ""


@dataclass(frozen=True, slots=True)
class ScheduledSummary:
    """An approved email waiting for the send window, as the inbox lists it."""

    approval_id: str
    lead_id: str
    lead_name: str
    subject: str
    label: str
    """ "scheduled for Tue 09:00 Europe/Berlin" """


def scheduled(ctx: AgentContext) -> list[ScheduledSummary]:
    """Emails approved outside the send window, waiting for it; the newest approval first."""
    rows = list_sends(ctx.db, status="scheduled", limit=INBOX_LIMIT)
    leads = _leads(ctx, {row.lead_id for row in rows})
    return [
        ScheduledSummary(
            approval_id=row.approval_id,
            lead_id=row.lead_id,
            lead_name=_name(leads.get(row.lead_id), row.lead_id),
            subject=row.subject,
            label=scheduled_label(row) or "scheduled",
        )
        for row in rows
    ]


def _name(lead: LeadRow | None, lead_id: str) -> str:
    return (lead.name or lead.email) if lead is not None else lead_id


def drafter_label(drafter: str) -> str:
    """Say plainly who wrote it: a reviewer reads a template draft differently from a model's."""
    if drafter == "template":
        return "offline template drafter"
    if drafter.startswith("llm:"):
        return f"LLM ({drafter.removeprefix('llm:')})"
    return drafter


def inbox(ctx: AgentContext) -> list[DraftSummary]:
    """Pending drafts, oldest first (the one waiting longest is the first to answer)."""
    return summaries(ctx, pending(ctx.db, limit=INBOX_LIMIT))


def stage_counts(items: Iterable[DraftSummary]) -> dict[str, int]:
    counts: dict[str, int] = dict.fromkeys(STAGES, 0)
    for item in items:
        counts[item.stage] = counts.get(item.stage, 0) + 1
    return counts


def summaries(ctx: AgentContext, rows: list[ApprovalRow]) -> list[DraftSummary]:
    """The rows as the inbox shows them, stale ones marked before anyone opens them (one
    decision per listed lead: see agent.staleness for the cost)."""
    leads = _leads(ctx, {row.lead_id for row in rows})
    stale = stale_reasons(ctx.db, ctx.playbook, ctx.assets, rows, ctx.clock())
    return [_summary(ctx, row, leads.get(row.lead_id), stale.get(row.id)) for row in rows]


def _leads(ctx: AgentContext, ids: set[str]) -> dict[str, LeadRow]:
    if not ids:
        return {}
    with ctx.db.session() as session:
        return {r.id: r for r in session.scalars(select(LeadRow).where(LeadRow.id.in_(ids)))}


def _summary(
    ctx: AgentContext, row: ApprovalRow, lead: LeadRow | None, stale: str | None
) -> DraftSummary:
    decision = row.decision or {}
    reason = (decision.get("reasons") or [{}])[0]
    return DraftSummary(
        approval_id=row.id,
        lead_id=row.lead_id,
        lead_name=(lead.name if lead else None) or row.lead_id,
        company=(lead.company if lead else None) or "",
        email=lead.email if lead else "",
        stage=str(decision.get("stage", "unknown")),
        why_rule=str(reason.get("rule", "")),
        why_text=str(reason.get("text", "")),
        subject=row.subject,
        citations=[_citation(ctx, asset_id) for asset_id in row.cited_asset_ids],
        violations=list(row.violations or []),
        drafter=drafter_label(row.drafter),
        created_at=row.created_at,
        stale=stale,
    )


def _citation(ctx: AgentContext, asset_id: str) -> Citation:
    asset = ctx.assets.get(asset_id)
    if asset is None:  # removed from the library since the draft was written
        return Citation(asset_id, asset_id, None, "missing")
    return Citation(asset_id, asset.meta.title, asset.meta.url, asset.meta.kind)


def draft_page(agent: NurtureAgent, row: ApprovalRow) -> DraftPage:
    ctx = agent.ctx
    (summary,) = summaries(ctx, [row])
    waiting = [r.id for r in pending(ctx.db, limit=INBOX_LIMIT)]
    here = waiting.index(row.id) if row.id in waiting else -1
    score = (row.decision or {}).get("score", {}).get("total")
    return DraftPage(
        summary=summary,
        row=row,
        why_html=render_markdown(describe(_review_state(agent, row))),
        score=score,
        prev_id=waiting[here - 1] if here > 0 else None,
        next_id=waiting[here + 1] if 0 <= here < len(waiting) - 1 else None,
        position=here + 1,
        total=len(waiting),
    )


def _review_state(agent: NurtureAgent, row: ApprovalRow) -> AgentState:
    """The thread state the reviewer is deciding on, when the thread waits on this very
    approval; otherwise (decided since, or the checkpoint is gone) the same facts rebuilt
    from the approval row, so the page still explains itself."""
    snapshot = agent.graph.get_state({"configurable": {"thread_id": row.thread_id}})
    if _waiting_on(snapshot.interrupts) == row.id:
        return cast(AgentState, snapshot.values)
    picks = [
        {"title": c.title, "url": c.url or "", "kind": c.kind, "why": []}
        for c in (_citation(agent.ctx, asset_id) for asset_id in row.cited_asset_ids)
    ]
    return {
        "lead_id": row.lead_id,
        "decision": row.decision,
        "draft": {"drafter": row.drafter, "prompt_version": row.prompt_version},
        "violations": row.violations or [],
        "picks": picks,
    }


def _waiting_on(interrupts: Iterable[Any]) -> str | None:
    """The approval id in a waiting review interrupt (the Agent Inbox payload shape)."""
    for pending_interrupt in interrupts:
        requests = pending_interrupt.value
        for request in requests if isinstance(requests, list) else [requests]:
            try:
                return str(request["action_request"]["args"]["approval_id"])
            except (KeyError, TypeError):
                continue
    return None


def next_pending(ctx: AgentContext, answered: ApprovalRow) -> str | None:
    """The draft after the one just answered, in inbox order; else the oldest still waiting."""
    waiting = [r for r in pending(ctx.db, limit=INBOX_LIMIT) if r.id != answered.id]
    later = [r for r in waiting if r.created_at >= answered.created_at]
    chosen = later or waiting
    return chosen[0].id if chosen else None


def outcome_flash(ctx: AgentContext, row: ApprovalRow) -> Flash | None:
    """What became of an answered draft, read back from the store (not from the URL, so a
    crafted link cannot put words on the page)."""
    name = _leads(ctx, {row.lead_id}).get(row.lead_id)
    who = (name.name if name else None) or row.lead_id
    run = get_run(ctx.db, row.thread_id)
    new_draft = (
        run.detail if run and run.outcome == "awaiting_approval" and run.detail != row.id else None
    )
    if row.status == ANSWERING:
        return Flash(
            "info",
            f"Your answer for {who} is kept; the agent is still working on it. Open the draft "
            "later to see what became of it.",
            f"/inbox/{quote(row.id, safe=':@')}",
            "Open",
        )
    if row.status == "ignored":
        return Flash("info", f"Discarded the draft for {who}. Nothing was sent.")
    if row.status == "responded":
        if new_draft:
            link = f"/inbox/{new_draft}"
            return Flash(
                "ok", f"A new draft for {who} is waiting, with your changes.", link, "Open"
            )
        return Flash("warn", f"Asked for changes for {who}; the agent stopped: {_run_text(run)}")
    if row.status in ("accepted", "edited"):
        return _send_flash(ctx, row, who, new_draft, run)
    return None


def _send_flash(
    ctx: AgentContext, row: ApprovalRow, who: str, new_draft: str | None, run: Any
) -> Flash:
    send = get_send(ctx.db, row.id)
    label = scheduled_label(send) if send is not None else None
    if label:
        return Flash("ok", f"Approved: the email to {who} is {label} (the send window).")
    if send is not None and send.status == "sent":
        edited = " (your edited version)" if row.status == "edited" else ""
        return Flash("ok", f"Sent to {who} <{send.to_address}>{edited}.")
    if send is not None and send.status == "blocked":
        return Flash("warn", f"Blocked, not sent to {who}: {send.reason}")
    if send is not None:
        return Flash("warn", f"Send to {who} is {send.status}: {send.reason or 'check the log'}")
    if new_draft:  # an edit that failed the guardrails comes back flagged
        link = f"/inbox/{new_draft}"
        text = f"Your edit for {who} failed the guardrails; it is waiting again, flagged."
        return Flash("warn", text, link, "Open")
    return Flash("warn", f"Not sent to {who}: {_run_text(run)}")


def _run_text(run: Any) -> str:
    if run is None:
        return "no record of the run"
    return f"{run.outcome}" + (f" ({run.detail})" if run.detail else "")
