"""Analytics from the store: the figures of `nurture report`, each with its definition."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from agent.analytics import report
from agent.store.api_keys import Principal
from api.convert import analytics_out
from api.deps import StateDep, require
from api.schemas import AUTH_ERRORS, AnalyticsOut

router = APIRouter(prefix="/v1", tags=["analytics"], responses=AUTH_ERRORS)

Reader = Annotated[Principal, Depends(require("rep", "marketer"))]


@router.get("/analytics/summary", response_model=AnalyticsOut)
def summary(
    state: StateDep,
    _: Reader,
    since: Annotated[
        AwareDatetime | None,
        Query(description="Count from this moment (with a time zone); every row when left out."),
    ] = None,
) -> AnalyticsOut:
    """MQLs (by week), hand-offs, drafts by outcome and time to decision, sends by status, and
    leads by stage now; `figures` defines each."""
    ctx = state.agent.ctx
    return analytics_out(report(ctx.db, since=since, now=ctx.clock()))
