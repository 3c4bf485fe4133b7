"""Search the content library the way the agent does: what fits a stage, a topic and a lead."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from agent.playbook.models import ContentKind, Stage
from agent.store.api_keys import Principal
from agent.tools.content import ContentNeed, LeadContext, persona_of, retrieve
from api.deps import StateDep, require
from api.routes.limits import unprocessable
from api.schemas import AUTH_ERRORS, ContentHit, ContentResults

router = APIRouter(prefix="/v1", tags=["content"], responses=AUTH_ERRORS)

Reader = Annotated[Principal, Depends(require("rep", "marketer"))]


@router.get("/content/search", response_model=ContentResults)
def search_content(
    state: StateDep,
    _: Reader,
    stage: Stage,
    q: Annotated[
        str | None, Query(max_length=200, description="A topic, e.g. 'cold chain'.")
    ] = None,
    kind: Annotated[
        list[ContentKind] | None, Query(description="Kinds wanted (default: the stage's kinds).")
    ] = None,
    industry: Annotated[str | None, Query(max_length=100)] = None,
    title: Annotated[
        str | None, Query(max_length=200, description="The reader's job title.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> ContentResults:
    ctx = state.agent.ctx
    playbook = ctx.playbook
    kinds = kind or list(playbook.content.stage_kinds[stage])
    need = ContentNeed(stage=stage, kinds=kinds, topic=q or None)
    lead = LeadContext(industry=industry, persona=persona_of(title))
    try:
        found = retrieve(ctx.collection, need, lead, playbook, k=limit)
    except ValueError as exc:  # e.g. a kind the stage may never use
        raise unprocessable("query", "kind", msg=str(exc)) from exc
    return ContentResults(
        hits=[
            ContentHit(
                asset_id=p.asset_id,
                title=p.title,
                kind=p.kind,
                url=p.url,
                stages=list(p.stages),
                score=round(p.score, 4),
                section=p.section,
                passage=p.chunk,
                why=p.why,
            )
            for p in found.picks
        ],
        allowed_stages=list(found.allowed_stages),
        note=found.note,
    )
