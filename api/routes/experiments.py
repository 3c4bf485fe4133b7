"""The A/B experiments on drafts: results per variant and the stop rule's verdict."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from agent.experiments.results import experiment_results
from agent.store.api_keys import Principal
from api.deps import StateDep, require
from api.schemas import AUTH_ERRORS, ExperimentsOut

router = APIRouter(prefix="/v1", tags=["experiments"], responses=AUTH_ERRORS)

Reader = Annotated[Principal, Depends(require("rep", "marketer"))]


@router.get("/experiments", response_model=ExperimentsOut)
def experiments(state: StateDep, _: Reader) -> ExperimentsOut:
    """Each experiment of the playbook in force: sends and reply, click and unsubscribe rates
    per variant, the test used with its p-value, and the verdict (running, winner, no
    difference)."""
    ctx = state.agent.ctx
    results = experiment_results(ctx.db, ctx.playbook)
    return ExperimentsOut.model_validate({"experiments": [r.as_dict() for r in results]})
