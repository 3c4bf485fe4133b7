"""Messages a Segment-compatible client sent that were answered 200 but not stored, with the
reason: the client never reads the body, so this is where a broken pipeline shows."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from agent.store.api_keys import Principal
from agent.store.rejections import REASONS, list_rejections
from api.deps import DbDep, require
from api.routes.limits import unprocessable
from api.schemas import AUTH_ERRORS, RejectionOut

router = APIRouter(prefix="/v1", tags=["events"], responses=AUTH_ERRORS)

Reader = Annotated[Principal, Depends(require("ingest", "marketer"))]


REASON_HELP = "Only this reason code: " + ", ".join(REASONS) + "."


@router.get("/ingest/rejections", response_model=list[RejectionOut])
def rejections(
    db: DbDep,
    _: Reader,
    source: Annotated[str | None, Query(description="Only this source (segment).")] = None,
    reason: Annotated[str | None, Query(description=REASON_HELP)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RejectionOut]:
    """Newest first."""
    if reason is not None and reason not in REASONS:
        raise unprocessable("query", "reason", msg=f"not a reason; use one of {', '.join(REASONS)}")
    return [
        RejectionOut.model_validate(row, from_attributes=True)
        for row in list_rejections(db, source=source, reason=reason, limit=limit)
    ]
