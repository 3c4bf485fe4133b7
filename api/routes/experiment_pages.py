"""The experiments page: each A/B experiment of the playbook in force, its numbers per variant,
the test with its p-value, and the stop rule's verdict (the same as GET /v1/experiments)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from agent.experiments.results import experiment_results
from api.deps import StateDep
from api.routes.pages import path_part
from api.web.render import PageRoute, Viewer, render

router = APIRouter(tags=["inbox"], include_in_schema=False, route_class=PageRoute)


@router.get("/experiments")
def experiments_page(request: Request, principal: Viewer, state: StateDep) -> Response:
    ctx = state.agent.ctx
    context = {
        "principal": principal,
        "csrf_token": state.csrf.token(principal.key_id),
        "path_part": path_part,
        "playbook_version": ctx.playbook.version,
        "flash": None,
        "results": experiment_results(ctx.db, ctx.playbook),
    }
    return render(request, "experiments.html", context)
