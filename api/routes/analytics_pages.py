"""The analytics dashboard (/analytics): the figures of `nurture report` with charts and each
figure's definition, for reps, marketers and admins."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from agent.analytics import report
from agent.store.api_keys import Principal
from api.deps import StateDep
from api.routes.pages import ACTING_ROLES, path_part
from api.web.dashboard import panels
from api.web.render import PageProblem, PageRoute, page_roles, render

router = APIRouter(tags=["analytics"], include_in_schema=False, route_class=PageRoute)

Reader = Annotated[Principal, Depends(page_roles("marketer", "rep", doing="view analytics"))]


@router.get("/analytics")
def dashboard(
    request: Request,
    principal: Reader,
    state: StateDep,
    since: Annotated[str | None, Query()] = None,
) -> Response:
    ctx = state.agent.ctx
    start = _since(since)
    result = report(ctx.db, since=start, now=ctx.clock())
    context = {
        "principal": principal,
        "csrf_token": state.csrf.token(principal.key_id),
        "path_part": path_part,
        "can_act": principal.role in ACTING_ROLES,
        "flash": None,
        "since": start.date().isoformat() if start else "",
        "until": result.until,
        "panels": panels(result),
    }
    return render(request, "analytics.html", context)


def _since(value: str | None) -> datetime | None:
    """A day (YYYY-MM-DD) counted from its start in UTC; empty means every row."""
    if not value:
        return None
    try:
        return datetime.combine(date.fromisoformat(value), time(), tzinfo=UTC)
    except ValueError:
        raise PageProblem(
            422, "Bad date", f"since: {value!r} is not a day like 2026-11-01. Nothing was counted."
        ) from None
