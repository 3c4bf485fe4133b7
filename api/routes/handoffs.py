"""Hand-offs to sales: the list (filters: state, rep) and what sales does with one: accept,
recycle back to nurture (with a reason), close. A rep acts on the hand-offs assigned to them;
a marketer or admin on any. Every change is audited (who, when, why)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query

from agent.decisions import AccountContactOut
from agent.errors import NurtureError
from agent.handoff_board import HandoffView, board
from agent.handoff_desk import Actor, NotYours, ReasonRequired, act
from agent.handoff_states import Move, TransitionRefused
from agent.store.api_keys import Principal
from api.deps import StateDep, require
from api.schemas import AUTH_ERRORS, HandoffChangeOut, HandoffMove, HandoffOut, errors

router = APIRouter(prefix="/v1", tags=["handoffs"], responses=AUTH_ERRORS)

Sales = Annotated[Principal, Depends(require("rep", "marketer"))]
State = Annotated[
    str | None,
    Query(pattern="^(new|delivered|accepted|closed|recycled)$", description="Only this state."),
]


@router.get("/handoffs", response_model=list[HandoffOut])
def handoffs(
    state: StateDep,
    _: Sales,
    handoff_state: Annotated[State, Query(alias="state")] = None,
    rep: Annotated[str | None, Query(description="The rep's key id or email address.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[HandoffOut]:
    """Hand-offs, longest waiting first; `overdue` marks those past the acceptance SLA."""
    ctx = state.agent.ctx
    views = board(
        ctx.db,
        now=ctx.clock(),
        sla_hours=ctx.playbook.handoffs.accept_within_hours,
        state=handoff_state,
        rep=rep,
        limit=limit,
    )
    return [handoff_out(view) for view in views]


@router.post(
    "/handoffs/{handoff_id:id}/accept",
    response_model=HandoffOut,
    responses=errors(400, 403, 404, 409),
)
def accept(
    handoff_id: str, state: StateDep, principal: Sales, body: HandoffMove | None = None
) -> HandoffOut:
    """A rep takes the lead (their own hand-off; a marketer may accept any)."""
    return _apply(state, principal, handoff_id, "accept", body)


@router.post(
    "/handoffs/{handoff_id:id}/recycle",
    response_model=HandoffOut,
    responses=errors(400, 403, 404, 409),
)
def recycle(handoff_id: str, state: StateDep, principal: Sales, body: HandoffMove) -> HandoffOut:
    """Back to nurture, with a `reason` (required). The lead's timeline gets a
    `handoff_recycled` event: it is nurtured again and handed off only on new buying signals."""
    return _apply(state, principal, handoff_id, "recycle", body)


@router.post(
    "/handoffs/{handoff_id:id}/close",
    response_model=HandoffOut,
    responses=errors(400, 403, 404, 409),
)
def close(
    handoff_id: str, state: StateDep, principal: Sales, body: HandoffMove | None = None
) -> HandoffOut:
    """Sales is done with an accepted hand-off (won, lost, or otherwise)."""
    return _apply(state, principal, handoff_id, "close", body)


def _apply(
    state: StateDep, principal: Principal, handoff_id: str, move: Move, body: HandoffMove | None
) -> HandoffOut:
    ctx = state.agent.ctx
    actor = Actor(principal.name, principal.role, principal.key_id)
    try:
        act(ctx, handoff_id, move, actor=actor, reason=body.reason if body else None)
    except LookupError as exc:
        raise HTTPException(404, str(exc.args[0])) from exc
    except NotYours as exc:
        raise HTTPException(403, str(exc)) from exc
    except ReasonRequired as exc:
        raise HTTPException(422, f"reason: {exc}") from exc
    except (TransitionRefused, NurtureError) as exc:
        raise HTTPException(409, str(exc)) from exc
    return _one(state, handoff_id)


def _one(state: StateDep, handoff_id: str) -> HandoffOut:
    ctx = state.agent.ctx
    sla = ctx.playbook.handoffs.accept_within_hours
    views = board(ctx.db, now=ctx.clock(), sla_hours=sla, handoff_id=handoff_id)
    if not views:
        raise HTTPException(404, f"no hand-off with id '{handoff_id}'")
    return handoff_out(views[0])


def handoff_out(view: HandoffView) -> HandoffOut:
    return HandoffOut(
        id=view.id,
        lead_id=view.lead_id,
        lead_name=view.lead_name,
        lead_email=view.lead_email,
        company=view.company,
        rule=view.rule,
        why=view.why,
        evidence=view.evidence,
        score=view.score,
        stage=view.stage,
        state=view.state,  # type: ignore[arg-type]  # the store only holds these states
        assigned_to=view.assigned_to,
        waiting_since=view.waiting_since,
        overdue=view.overdue,
        webhook_status=view.webhook_status,
        account=view.account,
        account_contacts=[AccountContactOut.model_validate(c) for c in view.account_contacts],
        changes=[
            HandoffChangeOut(
                from_state=c.from_state, to_state=c.to_state, by=c.by, at=c.at, reason=c.reason
            )
            for c in view.changes
        ],
    )
