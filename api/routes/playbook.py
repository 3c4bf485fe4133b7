"""The playbook in force, checking a candidate (marketers own the playbook), and activating a
new version (admin). The active version is recorded on every decision and draft made after
activation."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException

from agent.errors import NurtureError
from agent.playbook import PlaybookError, parse_playbook
from agent.preview import preview
from agent.store.api_keys import Principal
from agent.store.playbooks import activate_playbook, playbook_history
from agent.store.scores import refresh_derived
from api.background import in_background
from api.convert import preview_out
from api.deps import StateDep, require
from api.routes.limits import unprocessable
from api.schemas import (
    AUTH_ERRORS,
    PlaybookOut,
    PlaybookProblem,
    PlaybookText,
    PlaybookVersionOut,
    PreviewOut,
    ValidationOut,
    errors,
)
from api.state import ServiceState

router = APIRouter(prefix="/v1", tags=["playbook"], responses=AUTH_ERRORS)

Reader = Annotated[Principal, Depends(require("rep", "marketer"))]
Author = Annotated[Principal, Depends(require("marketer"))]
Admin = Annotated[Principal, Depends(require())]


@router.get("/playbook", response_model=PlaybookOut)
def current(state: StateDep, _: Reader) -> PlaybookOut:
    return in_force(state)


def in_force(state: ServiceState) -> PlaybookOut:
    """The playbook in force with its YAML: the last activated, else the configured file."""
    ctx = state.agent.ctx
    history = playbook_history(ctx.db)
    if history and history[0].version == ctx.playbook.version:
        row = history[0]
        return PlaybookOut(
            version=row.version,
            source="activated",
            activated_by=row.activated_by,
            activated_at=row.activated_at,
            yaml=row.text,
        )
    path = state.settings.playbook
    return PlaybookOut(
        version=ctx.playbook.version,
        source=str(path),
        activated_by=None,
        activated_at=None,
        yaml=path.read_text(encoding="utf-8"),
    )


@router.get("/playbook/versions", response_model=list[PlaybookVersionOut])
def versions(state: StateDep, _: Reader) -> list[PlaybookVersionOut]:
    """Every version activated through the service, newest first."""
    return [
        PlaybookVersionOut(
            version=r.version, activated_by=r.activated_by, activated_at=r.activated_at
        )
        for r in playbook_history(state.agent.ctx.db)
    ]


@router.post("/playbook/validate", response_model=ValidationOut, responses=errors(400))
def validate(candidate: PlaybookText, _: Author) -> ValidationOut:
    """Checks a candidate playbook without activating it: every problem with its YAML path
    and line."""
    try:
        playbook = parse_playbook(candidate.yaml, source="candidate")
    except PlaybookError as exc:
        return ValidationOut(valid=False, version=None, problems=_problems(exc))
    return ValidationOut(valid=True, version=playbook.version, problems=[])


@router.post("/playbook/preview", response_model=PreviewOut, responses=errors(400))
def preview_candidate(candidate: PlaybookText, state: StateDep, _: Author) -> PreviewOut:
    """Every lead decided as of now with the playbook in force and with this candidate, before
    it is activated: what would move, which waiting drafts would go stale, which rules would
    fire more or less often. Reads and decides every lead on the request: on a large store
    that takes a while (benchmarks/preview.py measures it)."""
    ctx = state.agent.ctx
    try:
        playbook = parse_playbook(candidate.yaml, source="candidate")
    except PlaybookError as exc:
        problems = [p.model_dump() for p in _problems(exc)]
        raise unprocessable("body", "yaml", msg="invalid playbook", problems=problems) from exc
    return preview_out(preview(ctx.db, ctx.playbook, playbook, ctx.assets, ctx.clock()))


@router.post(
    "/playbook/activate",
    response_model=PlaybookOut,
    responses=errors(400, 409),
)
def activate(candidate: PlaybookText, state: StateDep, principal: Admin) -> PlaybookOut:
    """Validates and puts a playbook in force for every decision and draft from now on."""
    ctx = state.agent.ctx
    try:
        playbook = activate_playbook(
            ctx.db, candidate.yaml, by=principal.name, at=ctx.clock(), settings=state.settings
        )
    except PlaybookError as exc:
        problems = [p.model_dump() for p in _problems(exc)]
        raise unprocessable("body", "yaml", msg="invalid playbook", problems=problems) from exc
    except NurtureError as exc:
        raise HTTPException(409, str(exc)) from exc
    ctx.playbook = playbook  # a run in progress uses the new rules from its next step on
    # events and leads carry signals and points derived by the old rules: derive them again
    in_background(state.workers, lambda: refresh_derived(ctx.db, playbook))
    return current(state, principal)


def _problems(exc: PlaybookError) -> list[PlaybookProblem]:
    return [PlaybookProblem(path=p.path, line=p.line, message=p.message) for p in exc.problems]
