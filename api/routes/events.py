"""Events from the website, the CRM and the email tool: one at a time or in batches of up to
10,000. Idempotent by event id; each item's fate is reported, and a bad item never costs the
valid ones. Leads with new events are re-decided in the background."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from agent.store.api_keys import Principal
from agent.store.ingest import IngestReport, ingest_events
from api.convert import batch_out
from api.deps import StateDep, require
from api.routes.limits import check_batch_size, unprocessable
from api.schemas import AUTH_ERRORS, BatchOut, ItemOut, errors
from api.state import ServiceState

router = APIRouter(prefix="/v1", tags=["events"], responses=AUTH_ERRORS)

Ingest = Annotated[Principal, Depends(require("ingest"))]
EVENT_SHAPE = (
    "{id?, lead_id | lead_email, type, occurred_at (ISO 8601 with an offset), properties?}; "
    "without an id, one is derived from the content, so a resend is still a duplicate; "
    "lead_email names the lead by address (any case): an address no lead or two leads have "
    "is rejected"
)


@router.post("/events", response_model=ItemOut, responses=errors(400))
def post_event(
    state: StateDep,
    _: Ingest,
    event: Annotated[dict[str, Any], Body(description=EVENT_SHAPE)],
) -> ItemOut:
    """One event. 200 when stored or already there (see `status`); 422 with the field and
    reason when rejected."""
    result = _ingest(state, [event]).results[0]
    if result.status == "rejected":
        field, _sep, reason = (result.reason or "").partition(": ")
        raise unprocessable("body", field, msg=reason or result.reason or "rejected")
    return ItemOut(index=0, id=result.id, status=result.status, reason=result.reason)


@router.post("/events/batch", response_model=BatchOut, responses=errors(400, 413))
def post_events(
    state: StateDep,
    _: Ingest,
    # list[Any], not list[dict]: an item that is not an object is rejected on its own
    events: Annotated[list[Any], Body(description=f"Up to 10,000 of {EVENT_SHAPE}")],
) -> BatchOut:
    """Stores the valid events of the batch in one transaction; `results` gives each item's
    status (stored, duplicate, rejected) and the reason for a rejection, by index."""
    check_batch_size(len(events))
    return batch_out(_ingest(state, events))


def _ingest(state: ServiceState, events: list[Any]) -> IngestReport:
    ctx = state.agent.ctx
    report = ingest_events(ctx.db, events, ctx.playbook, now=ctx.clock())
    for status in ("stored", "duplicate", "rejected"):
        count = report.count(status)
        if count:
            state.metrics.events.labels(status).inc(count)
    # as stored (ids are trimmed on the way in, an address is looked up)
    touched = {r.lead_id for r in report.results if r.status == "stored" and r.lead_id}
    state.jobs.redecide(touched)
    return report
