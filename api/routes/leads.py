"""Leads: upsert, read, list by their latest decision, the next action with its reasons, and
draft runs (accepted at once, run in the background)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, HTTPException, Query, status
from pydantic import AwareDatetime
from sqlalchemy import select

from agent.decisions import decide
from agent.errors import NurtureError
from agent.jobs.drafts import accept_draft
from agent.playbook.models import Action, Stage
from agent.store.api_keys import Principal
from agent.store.decisions import LeadFilter, latest_decision, list_leads
from agent.store.leads import upsert_leads
from agent.store.runs import DraftRefused, get_run
from agent.store.schema import LeadRow, SendRow
from agent.store.sends import send_history
from agent.store.values import StorableText
from agent.tools.timeline import load_signals
from api.convert import batch_out, lead_out, run_out, send_out
from api.deps import StateDep, require
from api.routes.limits import check_batch_size, unprocessable
from api.schemas import (
    AUTH_ERRORS,
    BatchOut,
    LeadBody,
    LeadOut,
    LeadPage,
    NextAction,
    RunAccepted,
    RunOut,
    SendOut,
    errors,
)

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)  # decay arithmetic overflows near year 1
# Ids come from CRMs and may hold '/': every id segment is an `:id`
# (api/ids.py), percent-encoded by clients. A route below a lead (`/leads/{id}/<name>`) needs
# its name in agent/store/lead_ids.py, so no stored lead's id can shadow it.
router = APIRouter(prefix="/v1", tags=["leads"], responses=AUTH_ERRORS)

Reader = Annotated[Principal, Depends(require("rep", "marketer"))]
Writer = Annotated[Principal, Depends(require("marketer"))]
Drafter = Annotated[Principal, Depends(require("rep", "marketer"))]


@router.post("/leads", response_model=BatchOut, responses=errors(400, 413))
def upsert_lead_batch(
    state: StateDep,
    _: Writer,
    items: Annotated[
        list[Any],  # not list[dict]: an item that is not an object is rejected on its own
        Body(
            description="Up to 10,000 leads: {id, email, name?, company?, attributes?, "
            "do_not_contact?}. Each is validated on its own; see `results`."
        ),
    ],
) -> BatchOut:
    """Creates or updates leads by id. Invalid items are reported; valid ones are kept."""
    check_batch_size(len(items))
    ctx = state.agent.ctx
    return batch_out(upsert_leads(ctx.db, items, ctx.playbook, now=ctx.clock()))


@router.put("/leads/{lead_id:id}", response_model=LeadOut, responses=errors(400))
def upsert_lead(lead_id: str, lead: LeadBody, state: StateDep, _: Writer) -> LeadOut:
    if lead_id != lead_id.strip():
        # stored ids are trimmed: accepting this one would store the lead under another id
        raise unprocessable("path", "lead_id", msg="must not start or end with whitespace")
    ctx = state.agent.ctx
    report = upsert_leads(
        ctx.db, [{"id": lead_id, **lead.model_dump(mode="json")}], ctx.playbook, now=ctx.clock()
    )
    if report.rejected:
        # the id is the path's: "id: ..." would name a field the client never sent
        reason = (report.rejected[0].reason or "rejected").removeprefix("id: ")
        raise unprocessable("path", "lead_id", msg=reason)
    return _lead(state, lead_id)


@router.get("/leads", response_model=LeadPage)
def leads(
    state: StateDep,
    _: Reader,
    q: Annotated[
        StorableText | None,
        Query(max_length=200, description="Part of the name, email or company (any case)."),
    ] = None,
    stage: Stage | None = None,
    action: Action | None = None,
    hot: bool | None = None,
    owner: Annotated[
        StorableText | None, Query(max_length=320, description="The CRM owner, exactly.")
    ] = None,
    after: Annotated[str | None, Query(description="Return leads after this id.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> LeadPage:
    """Leads in id order. stage, action and hot filter on each lead's latest decision; q finds
    leads by part of their name, email or company; owner by their CRM owner."""
    where = LeadFilter(
        q=q, stage=stage, action=action, hot=hot, owner=owner, after=after, limit=limit
    )
    rows = list_leads(state.agent.ctx.db, where)
    return LeadPage(
        leads=[lead_out(lead, decision) for lead, decision in rows],
        next_after=rows[-1][0].id if len(rows) == limit else None,
    )


@router.get("/leads/{lead_id:id}/next", response_model=NextAction, responses=errors(404))
def next_action(
    lead_id: str,
    state: StateDep,
    _: Reader,
    at: Annotated[
        AwareDatetime | None,
        Query(description="Answer as of this moment, from the events that had occurred by then."),
    ] = None,
    explain: Annotated[
        bool,
        Query(
            description="With false, the same decision without its per-event explanation: "
            "`score.contributions` is null, which saves building one entry per scored event."
        ),
    ] = True,
) -> NextAction:
    """What to send this lead next, and why (the decision JSON of `nurture next --json`)."""
    ctx = state.agent.ctx
    now = ctx.clock()
    moment = now if at is None else at
    if moment > now:
        raise unprocessable("query", "at", msg="must not be in the future")
    if moment < EARLIEST:
        raise unprocessable("query", "at", msg=f"must not be before {EARLIEST:%Y-%m-%d}")
    playbook = ctx.playbook  # one read: an activation meanwhile must not mix versions
    try:
        lead, timeline = load_signals(ctx.db, lead_id, until=moment, playbook=playbook)
    except NurtureError as exc:
        raise HTTPException(404, str(exc)) from exc
    decision = decide(lead, timeline, playbook, moment, explain=explain)
    if at is None:
        state.decisions.add({decision.lead_id: (decision, playbook.version)})
    return NextAction(**decision.model_dump(), playbook_version=playbook.version)


@router.post(
    "/leads/{lead_id:id}/drafts",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunAccepted,
    responses=errors(404, 409),
)
def start_draft(lead_id: str, state: StateDep, principal: Drafter) -> RunAccepted:
    """Starts the agent for this lead: it decides and, if the lead should get an email, drafts
    one for approval. Returns at once; follow `status_url`."""
    _lead(state, lead_id)
    try:  # written to the store before the 202: an accepted run is never lost
        thread_id = accept_draft(state.agent, lead_id)
    except DraftRefused as exc:  # one run going and one draft waiting per lead, any replica
        raise HTTPException(409, str(exc)) from exc
    state.jobs.submit_draft(thread_id, lead_id)
    state.metrics.drafts_started.inc()
    return RunAccepted(
        thread_id=thread_id,
        lead_id=lead_id,
        status="queued",
        status_url=f"/v1/runs/{thread_id}",
    )


@router.get("/runs/{thread_id:id}", response_model=RunOut, responses=errors(404))
def run_status(thread_id: str, state: StateDep, _: Reader) -> RunOut:
    """From the store alone: every replica gives the same answer for every run."""
    row = get_run(state.agent.ctx.db, thread_id)
    if row is None:
        raise HTTPException(404, f"no run with id '{thread_id}'")
    return run_out(row)


@router.get("/leads/{lead_id:id}/sends", response_model=list[SendOut], responses=errors(404))
def lead_sends(lead_id: str, state: StateDep, _: Reader) -> list[SendOut]:
    """Every email sent (or attempted) to this lead, newest first."""
    _lead(state, lead_id)
    db = state.agent.ctx.db
    with db.session() as session:
        rows = session.scalars(
            select(SendRow).where(SendRow.lead_id == lead_id).order_by(SendRow.attempted_at.desc())
        ).all()
    history = send_history(db, [row.approval_id for row in rows])
    return [send_out(row, history[row.approval_id]) for row in rows]


# after the routes below a lead: `{lead_id:id}` would swallow their suffixes
@router.get("/leads/{lead_id:id}", response_model=LeadOut, responses=errors(404))
def get_lead(lead_id: str, state: StateDep, _: Reader) -> LeadOut:
    return _lead(state, lead_id)


def _lead(state: StateDep, lead_id: str) -> LeadOut:
    db = state.agent.ctx.db
    with db.session() as session:
        row = session.get(LeadRow, lead_id)
    if row is None:
        raise HTTPException(404, f"no lead with id '{lead_id}'")
    return lead_out(row, latest_decision(db, lead_id))
