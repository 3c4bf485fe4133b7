"""Liveness and readiness (no key needed: load balancers call these)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import text

from api.deps import StateDep

router = APIRouter(tags=["health"])


@router.get("/health")
def health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/ready")
def ready(state: StateDep) -> dict[str, str]:
    """The database answers and the content index is reachable."""
    try:
        with state.agent.ctx.db.engine.connect() as connection:
            connection.execute(text("select 1"))
        state.agent.ctx.collection.count()
    except Exception as exc:  # noqa: BLE001 - any dependency failure means not ready
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, f"not ready: {exc}") from exc
    return {"status": "ready"}
