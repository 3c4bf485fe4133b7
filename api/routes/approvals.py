"""Approvals: the drafts waiting for a human (and every draft decided before, with its audit),
and the decision that sends, changes or drops one. Sends are listed here too."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from agent.errors import NurtureError
from agent.jobs.answers import wait_for_answer
from agent.playbook.models import Stage
from agent.staleness import stale_reasons
from agent.store.api_keys import Principal
from agent.store.approvals import GuardrailsNotOverridden, get_approval
from agent.store.runs import require_run
from agent.store.schema import ApprovalRow, SendRow
from agent.store.sends import get_send, list_sends, send_history
from api.convert import approval_out, run_out, send_out
from api.deps import StateDep, require
from api.schemas import (
    AUTH_ERRORS,
    AnswerAccepted,
    ApprovalDecision,
    ApprovalOut,
    DecisionOut,
    SendOut,
    errors,
)
from api.state import ServiceState

router = APIRouter(prefix="/v1", tags=["approvals"], responses=AUTH_ERRORS)

Reader = Annotated[Principal, Depends(require("rep", "marketer"))]
Decider = Annotated[Principal, Depends(require("marketer"))]
Status = Literal["pending", "answering", "accepted", "edited", "responded", "ignored"]


@router.get("/approvals", response_model=list[ApprovalOut])
def approvals(
    state: StateDep,
    _: Reader,
    status: Status | None = "pending",
    lead_id: str | None = None,
    stage: Stage | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ApprovalOut]:
    """Drafts, oldest first; by default the ones waiting. Pass status= for decided ones. A
    waiting draft its lead should no longer get (decided now) is marked `stale`, with why."""
    query = select(ApprovalRow)
    if status is not None:
        query = query.where(ApprovalRow.status == status)
    if lead_id is not None:
        query = query.where(ApprovalRow.lead_id == lead_id)
    query = query.order_by(ApprovalRow.created_at, ApprovalRow.id)
    db = state.agent.ctx.db
    with db.session() as session:
        rows = session.scalars(query).all() if stage else session.scalars(query.limit(limit)).all()
        if stage:  # the stage lives in the decision JSON: filter here, then cut
            rows = [r for r in rows if (r.decision or {}).get("stage") == stage][:limit]
        sends = _sends(session, [r.id for r in rows])
    history = send_history(db, list(sends))
    stale = _stale(state, rows)
    return [
        approval_out(row, sends.get(row.id), history.get(row.id, []), stale.get(row.id))
        for row in rows
    ]


@router.get("/approvals/{approval_id:id}", response_model=ApprovalOut, responses=errors(404))
def approval(approval_id: str, state: StateDep, _: Reader) -> ApprovalOut:
    db = state.agent.ctx.db
    try:
        row = get_approval(db, approval_id)
    except NurtureError as exc:
        raise HTTPException(404, str(exc)) from exc
    history = send_history(db, [approval_id])[approval_id]
    return approval_out(row, get_send(db, approval_id), history, _stale(state, [row]).get(row.id))


@router.post(
    "/approvals/{approval_id:id}/decision",
    response_model=DecisionOut,
    responses={
        202: {
            "model": AnswerAccepted,
            "description": "Answer kept; its thread had not finished resuming within "
            "NURTURE_ANSWER_WAIT_SECONDS (a job does it): follow status_url",
        },
        **errors(400, 404, 409),
    },
)
def decide_approval(
    approval_id: str, decision: ApprovalDecision, state: StateDep, principal: Decider
) -> DecisionOut | JSONResponse:
    """accept sends the draft as it is (a draft whose guardrails failed only with
    `override_guardrails`, else 409 naming the failed checks); edit sends your subject and
    body (checked against the guardrails again: a refused edit comes back as a new draft);
    respond asks for a new draft with your feedback; ignore drops it. Recorded with who and
    when, before and after. The answer is kept (status "answering") before a job resumes the
    thread with it, so a second answer gets 409 from any replica; the outcome comes back when
    the job finishes within NURTURE_ANSWER_WAIT_SECONDS, else 202."""
    db = state.agent.ctx.db
    try:
        row = get_approval(db, approval_id)
    except NurtureError as exc:
        raise HTTPException(404, str(exc)) from exc
    if row.status != "pending":
        raise HTTPException(409, f"already {row.status} by {row.decided_by} at {row.decided_at}")
    fields = decision.model_dump(exclude={"answer"})
    try:
        state.agent.claim(approval_id, decision.answer, by=principal.name, **fields)
    except GuardrailsNotOverridden as exc:
        raise HTTPException(409, f'{exc} with "override_guardrails": true') from exc
    except NurtureError as exc:  # decided by someone else since the read above
        raise HTTPException(409, str(exc)) from exc
    state.metrics.approvals.labels(decision.answer).inc()
    state.jobs.submit_answer(approval_id, row.lead_id)
    if not wait_for_answer(db, approval_id, seconds=state.settings.answer_wait_seconds):
        accepted = AnswerAccepted(
            approval=approval_out(get_approval(db, approval_id), get_send(db, approval_id)),
            status_url=f"/v1/approvals/{approval_id}",
            run_status_url=f"/v1/runs/{row.thread_id}",
        )
        return JSONResponse(accepted.model_dump(mode="json"), status_code=202)
    run = require_run(db, row.thread_id)
    return DecisionOut(
        approval=approval_out(get_approval(db, approval_id), get_send(db, approval_id)),
        run=run_out(run),
        next_approval_id=run.detail if run.outcome == "awaiting_approval" else None,
    )


@router.get("/sends", response_model=list[SendOut])
def sends(
    state: StateDep,
    _: Reader,
    lead_id: str | None = None,
    status: Literal["scheduled", "sending", "sent", "needs_check", "blocked", "failed", "cancelled"]
    | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[SendOut]:
    """Emails sent or attempted, newest first, with what people did to each (the audit)."""
    db = state.agent.ctx.db
    rows = list_sends(db, status=status, lead_id=lead_id, limit=limit)
    history = send_history(db, [row.approval_id for row in rows])
    return [send_out(row, history[row.approval_id]) for row in rows]


def _stale(state: ServiceState, rows: Sequence[ApprovalRow]) -> dict[str, str]:
    """Which waiting drafts went stale: one decision per listed lead (see agent.staleness)."""
    ctx = state.agent.ctx
    return stale_reasons(ctx.db, ctx.playbook, ctx.assets, rows, ctx.clock())


def _sends(session: Session, approval_ids: list[str]) -> dict[str, SendRow]:
    if not approval_ids:
        return {}
    rows = session.scalars(select(SendRow).where(SendRow.approval_id.in_(approval_ids)))
    return {row.approval_id: row for row in rows}
