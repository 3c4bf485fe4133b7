"""Prometheus metrics (admin key: give the scraper one, as a bearer token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agent.jobs.choose import on_postgresql
from agent.store.api_keys import Principal
from api.deps import StateDep, require
from api.schemas import AUTH_ERRORS
from api.store_metrics import store_registry

router = APIRouter(tags=["health"], responses=AUTH_ERRORS)


@router.get("/metrics", response_class=Response)
def metrics(state: StateDep, _: Annotated[Principal, Depends(require())]) -> Response:
    # this process's counters, then the cluster's counts as the database has them now
    ctx = state.agent.ctx
    counts = store_registry(
        ctx.db,
        queue=on_postgresql(state.settings),
        handoff_sla_hours=ctx.playbook.handoffs.accept_within_hours,
        now=ctx.clock(),
    )
    return Response(
        generate_latest(state.metrics.registry) + generate_latest(counts),
        media_type=CONTENT_TYPE_LATEST,
    )
