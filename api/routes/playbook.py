"""The playbook in force, checking a candidate (marketers own the playbook), and activating a
new version (admin). The active version is recorded on every decision and draft made after
activation."""

from __future__ import annotations

from typing import Annotated, cast

from fastapi import APIRouter, Depends, HTTPException, Response, status

from agent.errors import NurtureError
from agent.jobs.previews import accept_preview
from agent.playbook import PlaybookError, parse_playbook
from agent.store.api_keys import Principal
from agent.store.playbooks import activate_playbook, playbook_history
from agent.store.previews import get_preview
from agent.store.scores import refresh_derived
from api.background import in_background
from api.convert import preview_job_out
from api.deps import StateDep, require
from api.routes.limits import unprocessable
from api.schemas import (
    AUTH_ERRORS,
    PlaybookOut,
    PlaybookProblem,
    PlaybookText,
    PlaybookVersionOut,
    PreviewAccepted,
    PreviewJobOut,
    PreviewStatus,
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


@router.post(
    "/playbook/preview",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=PreviewAccepted,
    responses=errors(400),
)
def preview_candidate(
    candidate: PlaybookText, state: StateDep, principal: Author, response: Response
) -> PreviewAccepted:
    """Every lead decided with the playbook in force and with this candidate, before it is
    activated: what would move, which waiting drafts would go stale, which rules would fire
    more or less often. On a large store that takes a minute or more (benchmarks/preview.py),
    so it is a job: written to the store before this 202, run by a worker; follow
    `status_url` (also the Location header). The same candidate asked for again while its
    preview waits or runs gets that preview, not a second one."""
    try:  # written to the store before the 202: an accepted preview is never lost
        preview_id, _ = accept_preview(state.agent.ctx, candidate.yaml, by=principal.name)
    except PlaybookError as exc:
        problems = [p.model_dump() for p in _problems(exc)]
        raise unprocessable("body", "yaml", msg="invalid playbook", problems=problems) from exc
    return _accepted(state, preview_id, response)


def _accepted(state: ServiceState, preview_id: str, response: Response) -> PreviewAccepted:
    row = get_preview(state.agent.ctx.db, preview_id)
    if row is None:  # pragma: no cover - written just now; nothing deletes previews
        raise HTTPException(404, f"no playbook preview with id '{preview_id}'")
    if row.status == "queued":  # handed over again if it was already: a job runs it once
        state.jobs.submit_preview(preview_id)
    url = f"/v1/playbook/previews/{preview_id}"
    response.headers["Location"] = url
    return PreviewAccepted(id=preview_id, status=cast(PreviewStatus, row.status), status_url=url)


@router.get("/playbook/previews/{preview_id}", response_model=PreviewJobOut, responses=errors(404))
def preview_status(preview_id: str, state: StateDep, _: Author) -> PreviewJobOut:
    """From the store alone: every replica gives the same answer. Once done, `result` is the
    preview; while running, `leads_done` of `leads_total` say how far it got."""
    row = get_preview(state.agent.ctx.db, preview_id)
    if row is None:
        raise HTTPException(404, f"no playbook preview with id '{preview_id}'")
    return preview_job_out(row)


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
