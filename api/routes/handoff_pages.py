"""The inbox's Hand-offs tab: every hand-off with who, why, the evidence, the score, since when
it waits, the rep, its state and the SLA flag; a rep accepts, recycles (with a reason) or closes
their own from here, a marketer any. Forms carry the session's CSRF token like the inbox's.

Registered before the inbox's routes: /inbox/{approval_id} would otherwise take the path."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from agent.errors import NurtureError
from agent.handoff_board import HandoffView, board
from agent.handoff_desk import Actor, NotYours, ReasonRequired, act
from agent.handoff_states import NEXT, STATES, Move, TransitionRefused
from agent.store.api_keys import Principal
from api.deps import StateDep
from api.routes.pages import path_part
from api.web.render import PageProblem, PageRoute, page_roles, render

router = APIRouter(tags=["inbox"], include_in_schema=False, route_class=PageRoute)

Seller = Annotated[Principal, Depends(page_roles("marketer", "rep", doing="work on hand-offs"))]
FormHandoffId = Annotated[str, Form(alias="handoff_id")]
MOVES: dict[str, Move] = {"accept": "accept", "recycle": "recycle", "close": "close"}


@router.get("/inbox/handoffs")
def handoffs_page(
    request: Request,
    principal: Seller,
    state: StateDep,
    show: Annotated[str | None, Query(alias="state")] = None,
    mine: bool = False,
    done: str | None = None,
) -> Response:
    ctx = state.agent.ctx
    sla = ctx.playbook.handoffs.accept_within_hours
    every = board(ctx.db, now=ctx.clock(), sla_hours=sla, limit=2000)
    items = [
        item
        for item in every
        if (show not in STATES or item.state == show)
        and (not mine or item.assigned_key_id == principal.key_id)
    ]
    context = {
        "principal": principal,
        "csrf_token": state.csrf.token(principal.key_id),
        "path_part": path_part,
        "playbook_version": ctx.playbook.version,
        "flash": {"kind": "ok", "text": done} if done else None,
        "items": items,
        "total": len(every),
        "counts": {name: sum(1 for i in every if i.state == name) for name in STATES},
        "overdue": sum(1 for i in every if i.overdue),
        "show": show if show in STATES else None,
        "mine": mine,
        "sla_hours": sla,
        "now": ctx.clock(),
        "moves": lambda item: _moves(principal, item),
    }
    return render(request, "handoffs.html", context)


@router.post("/inbox/handoffs/{handoff_id:id}/{move}")
def move_handoff(
    handoff_id: str,
    move: str,
    principal: Seller,
    state: StateDep,
    form_id: FormHandoffId,
    reason: Annotated[str, Form()] = "",
) -> RedirectResponse:
    if form_id != handoff_id:
        raise PageProblem(400, "Mismatched form", "The form was for a different hand-off.")
    chosen = MOVES.get(move)
    if chosen is None:
        raise PageProblem(404, "No such action", f"'{move}' is not accept, recycle or close.")
    actor = Actor(principal.name, principal.role, principal.key_id)
    try:
        row = act(state.agent.ctx, handoff_id, chosen, actor=actor, reason=reason)
    except LookupError as exc:
        raise PageProblem(404, "No such hand-off", str(exc.args[0])) from exc
    except NotYours as exc:
        raise PageProblem(403, "Not yours", f"{exc}. Nothing was changed.") from exc
    except ReasonRequired as exc:
        raise PageProblem(422, "Why recycle it?", "Say why the lead goes back to nurture.") from exc
    except (TransitionRefused, NurtureError) as exc:
        raise PageProblem(409, "Already moved", f"{exc}. Nothing was changed.") from exc
    text = f"Hand-off for {row.lead_id} is now {row.state}."
    return RedirectResponse(f"/inbox/handoffs?done={quote(text)}", status_code=303)


def _moves(principal: Principal, item: HandoffView) -> list[Move]:
    """The buttons this person gets for this hand-off."""
    if principal.role == "rep" and item.assigned_key_id != principal.key_id:
        return []
    allowed = NEXT.get(item.state, ())
    named: list[tuple[Move, str]] = [
        ("accept", "accepted"),
        ("recycle", "recycled"),
        ("close", "closed"),
    ]
    return [move for move, target in named if target in allowed]
