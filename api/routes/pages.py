"""The approval inbox and the rep's lead page, rendered on the server (Jinja2 templates, plain
JS for keyboard shortcuts in api/static/app.js). Signing in puts the API key in a cookie.

CSRF: the cookie is httponly and SameSite=Strict, but a page on this host at another port is
same-site and its forms carry the cookie; so every form also holds this session's token and
unsafe requests from another origin are refused (api/csrf.py). Signing in has no session yet:
the origin check guards it. Each answer form also carries its approval id, which must match
the one in the path."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

from agent.errors import NurtureError
from agent.jobs.answers import wait_for_answer
from agent.jobs.previews import accept_preview
from agent.playbook import PlaybookError
from agent.playbook.models import STAGES
from agent.preview_json import preview_from_json
from agent.scheduled_sends import cancel_send
from agent.store.api_keys import Principal, split_key
from agent.store.approvals import Answer, GuardrailsNotOverridden, UnstorableAnswer, get_approval
from agent.store.previews import get_preview
from agent.store.runs import get_run
from agent.store.schema import ApprovalRow
from agent.store.sends import get_send
from api.auth_failures import TooManyFailures
from api.csrf import refuse_other_origins, require_token
from api.deps import KEY_COOKIE, CsrfTokenDep, DbDep, StateDep, verify_key
from api.routes.playbook import in_force
from api.state import ServiceState
from api.web.inbox import (
    Flash,
    draft_page,
    inbox,
    next_pending,
    outcome_flash,
    scheduled,
    stage_counts,
)
from api.web.lead import lead_page
from api.web.leads import LeadSearch, leads_page
from api.web.preview import preview_view
from api.web.render import (
    STATIC_DIR,
    Actor,
    Author,
    PageProblem,
    PageRoute,
    Viewer,
    render,
    safe_next,
    too_many_failures,
)

router = APIRouter(tags=["inbox"], include_in_schema=False, route_class=PageRoute)

PAGE_ROLES = {"admin", "marketer", "rep"}
ACTING_ROLES = {"admin", "marketer"}
FormApprovalId = Annotated[str, Form(alias="approval_id")]
Done = Annotated[str | None, Query(description="An approval just answered: show its outcome.")]


def static_files() -> StaticFiles:
    """The pages' CSS and JS, mounted at /static by the app."""
    return StaticFiles(directory=STATIC_DIR)


def path_part(value: str) -> str:
    """Ids come from CRMs and may hold '/', '?' or '#': quote them into one path segment."""
    return quote(value, safe=":@")


@router.get("/")
def home() -> RedirectResponse:
    return RedirectResponse("/inbox", status_code=303)


@router.get("/login")
def login_form(
    request: Request, db: DbDep, next_path: Annotated[str, Query(alias="next")] = "/inbox"
) -> Response:
    key = request.cookies.get(KEY_COOKIE, "")
    if key and verify_key(request, db, key) is not None:
        return RedirectResponse(safe_next(next_path), status_code=303)
    return render(request, "login.html", {"next": safe_next(next_path), "error": None})


@router.post("/login")
def login(
    request: Request,
    db: DbDep,
    key: Annotated[str, Form()],
    next_path: Annotated[str, Form(alias="next")] = "/inbox",
) -> Response:
    refuse_other_origins(request)  # login CSRF: no session yet, so no token to check
    key = key.strip()
    try:
        principal = verify_key(request, db, key) if key else None
    except TooManyFailures as exc:
        problem = too_many_failures(exc)
        context = {"next": safe_next(next_path), "error": problem.message}
        return render(request, "login.html", context, status_code=429, headers=problem.headers)
    if principal is None or principal.role not in PAGE_ROLES:
        error = (
            "That key is not valid (revoked, mistyped, or not a key)."
            if principal is None
            else f"The {principal.role} role cannot use the inbox."
        )
        context = {"next": safe_next(next_path), "error": error}
        return render(request, "login.html", context, status_code=401)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        KEY_COOKIE,
        key,
        httponly=True,  # page scripts never need the key
        samesite="strict",  # the CSRF defence: see the module docstring
        secure=request.url.scheme == "https",
        path="/",
    )
    return response


@router.post("/logout")
def logout(request: Request, state: StateDep, csrf_token: CsrfTokenDep) -> RedirectResponse:
    refuse_other_origins(request)
    parts = split_key(request.cookies.get(KEY_COOKIE, ""))
    if parts:  # only this session's own form signs it out
        require_token(request, state.csrf, parts[0], csrf_token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(KEY_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get("/inbox")
def inbox_page(
    request: Request,
    principal: Viewer,
    state: StateDep,
    stage: str | None = None,
    done: Done = None,
    cancelled: Annotated[str | None, Query(description="A scheduled send just cancelled.")] = None,
) -> Response:
    ctx = state.agent.ctx
    stage = stage if stage in STAGES else None
    items = inbox(ctx)
    waiting = scheduled(ctx)
    context = {
        **_common(state, principal, done),
        "items": [item for item in items if not stage or item.stage == stage],
        "total": len(items),
        "counts": stage_counts(items),
        "stage": stage,
        "now": ctx.clock(),
        "scheduled": waiting,
    }
    if cancelled:  # said only for a send the store shows cancelled: a link cannot fake it
        send = get_send(ctx.db, cancelled)
        if send is not None and send.status == "cancelled":
            context["flash"] = Flash("info", f"Cancelled the email to {send.to_address}.")
    return render(request, "inbox.html", context)


@router.get("/inbox/{approval_id:id}")
def draft(
    request: Request, approval_id: str, principal: Viewer, state: StateDep, done: Done = None
) -> Response:
    page = draft_page(state.agent, _approval(state, approval_id))
    context = {**_common(state, principal, done), "page": page, "now": state.agent.ctx.clock()}
    return render(request, "draft.html", context)


@router.post("/inbox/{approval_id:id}/approve")
def approve(
    approval_id: str,
    principal: Actor,
    state: StateDep,
    form_id: FormApprovalId,
    subject: Annotated[str, Form()],
    body: Annotated[str, Form()],
    override_guardrails: Annotated[bool, Form()] = False,
) -> RedirectResponse:
    """Unchanged, it is an accept (of a draft whose guardrails failed, only with the confirm
    box ticked); changed, an edit (which the guardrails check again)."""
    row = _waiting(state, approval_id, form_id)
    subject, body = _plain(subject).strip(), _plain(body)
    if not subject or not body.strip():
        raise PageProblem(422, "Nothing to send", "The subject and the body must not be empty.")
    if subject == row.subject.strip() and body.strip() == row.body.strip():
        return _answer(state, principal, row, "accept", override_guardrails=override_guardrails)
    return _answer(state, principal, row, "edit", subject=subject, body=body)


@router.post("/inbox/{approval_id:id}/respond")
def request_changes(
    approval_id: str,
    principal: Actor,
    state: StateDep,
    form_id: FormApprovalId,
    feedback: Annotated[str, Form()],
) -> RedirectResponse:
    row = _waiting(state, approval_id, form_id)
    feedback = _plain(feedback).strip()
    if not feedback:
        raise PageProblem(422, "What should change?", "Say what the next draft should change.")
    return _answer(state, principal, row, "respond", feedback=feedback)


@router.post("/inbox/{approval_id:id}/discard")
def discard(
    approval_id: str, principal: Actor, state: StateDep, form_id: FormApprovalId
) -> RedirectResponse:
    return _answer(state, principal, _waiting(state, approval_id, form_id), "ignore")


@router.post("/inbox/sends/{approval_id:id}/cancel")
def cancel_scheduled_send(
    approval_id: str, principal: Actor, state: StateDep, form_id: FormApprovalId
) -> RedirectResponse:
    """Cancels an approved email still waiting for the send window: it never goes out."""
    if form_id != approval_id:
        raise PageProblem(400, "Mismatched form", "The form was for a different email.")
    try:
        cancel_send(state.agent.ctx, approval_id, by=principal.name)
    except NurtureError as exc:  # sent meanwhile, or cancelled by someone else
        raise PageProblem(409, "Not cancelled", str(exc)) from exc
    return RedirectResponse(f"/inbox?cancelled={quote(approval_id, safe='')}", status_code=303)


@router.get("/leads")
def leads(
    request: Request,
    principal: Viewer,
    state: StateDep,
    q: str = "",
    stage: str = "",
    action: str = "",
    hot: str = "",
    owner: str = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The reps' way in: find a lead without knowing its id."""
    search = LeadSearch(q=q, stage=stage, action=action, hot=hot, owner=owner, page=page)
    context = {
        **_common(state, principal, None),
        "page": leads_page(state.agent.ctx.db, search),
    }
    return render(request, "leads.html", context)


@router.get("/playbook/preview")
def playbook_preview_form(request: Request, principal: Author, state: StateDep) -> Response:
    """The candidate starts as the playbook in force: a marketer edits what is there."""
    context = {
        **_common(state, principal, None),
        "yaml": in_force(state).yaml,
        "problems": [],
        "view": None,
    }
    return render(request, "playbook_preview.html", context)


@router.post("/playbook/preview")
def playbook_preview(
    request: Request, principal: Author, state: StateDep, yaml: Annotated[str, Form()]
) -> Response:
    """Asks for a preview of the posted candidate (a job: every lead decided with the playbook
    in force and with the candidate) and goes to its page. Changes nothing."""
    text = _plain(yaml)
    try:
        preview_id, _ = accept_preview(state.agent.ctx, text, by=principal.name)
    except PlaybookError as exc:
        context = {**_common(state, principal, None), "yaml": yaml, "view": None}
        context["problems"] = exc.problems
        return render(request, "playbook_preview.html", context, status_code=422)
    row = get_preview(state.agent.ctx.db, preview_id)
    if row is not None and row.status == "queued":  # a job runs it once, however often handed
        state.jobs.submit_preview(preview_id)
    return RedirectResponse(f"/playbook/previews/{quote(preview_id, safe='')}", status_code=303)


PREVIEW_REFRESH_SECONDS = 2
"""How often a preview's page reloads itself while the preview runs (no script: the CSP)."""


@router.get("/playbook/previews/{preview_id}")
def playbook_preview_job(
    request: Request, preview_id: str, principal: Author, state: StateDep
) -> Response:
    """A preview asked for: how far it got, reloading itself until it is done; then the
    tables, under the candidate's YAML to edit and preview again."""
    row = get_preview(state.agent.ctx.db, preview_id)
    if row is None:
        raise PageProblem(404, "No such preview", f"no playbook preview with id '{preview_id}'")
    done = row.status == "done" and row.result is not None
    context = {
        **_common(state, principal, None),
        "yaml": row.text,
        "problems": [],
        "job": row,
        "refresh": PREVIEW_REFRESH_SECONDS if row.status in ("queued", "running") else None,
        "view": preview_view(preview_from_json(row.result)) if done and row.result else None,
    }
    return render(request, "playbook_preview.html", context)


@router.get("/leads/{lead_id:id}")
def lead(request: Request, lead_id: str, principal: Viewer, state: StateDep) -> Response:
    ctx = state.agent.ctx
    try:
        page = lead_page(ctx.db, ctx.playbook, lead_id, ctx.clock())
    except NurtureError as exc:
        raise PageProblem(404, "No such lead", str(exc)) from exc
    context = {**_common(state, principal, None), "page": page, "now": ctx.clock()}
    return render(request, "lead.html", context)


def _common(state: ServiceState, principal: Principal, done: str | None) -> dict[str, object]:
    """What every signed-in page shows: who is signed in, what they may do, the last outcome."""
    flash = None
    if done:
        try:
            flash = outcome_flash(state.agent.ctx, get_approval(state.agent.ctx.db, done))
        except NurtureError:
            flash = None  # a stale or made-up id: say nothing
    return {
        "principal": principal,
        "can_act": principal.role in ACTING_ROLES,
        "csrf_token": state.csrf.token(principal.key_id),  # every form: {% include "_csrf.html" %}
        "flash": flash,
        "path_part": path_part,
        "playbook_version": state.agent.ctx.playbook.version,
    }


def _approval(state: ServiceState, approval_id: str) -> ApprovalRow:
    try:
        return get_approval(state.agent.ctx.db, approval_id)
    except NurtureError as exc:
        raise PageProblem(404, "No such draft", str(exc)) from exc


def _waiting(state: ServiceState, approval_id: str, form_id: str) -> ApprovalRow:
    """The approval the form was for, still waiting for an answer."""
    if form_id != approval_id:
        raise PageProblem(400, "Mismatched form", "The form was for a different draft.")
    row = _approval(state, approval_id)
    if row.status != "pending":
        raise PageProblem(
            409,
            "Already decided",
            f"This draft was already {row.status} by {row.decided_by}. Nothing was changed.",
        )
    return row


def _answer(
    state: ServiceState,
    principal: Principal,
    row: ApprovalRow,
    answer: Answer,
    override_guardrails: bool = False,
    **fields: str,
) -> RedirectResponse:
    """Keeps the answer and has a job resume the waiting thread, then shows the new draft it
    produced (feedback, or an edit the guardrails refused) or else the next draft waiting,
    with the outcome as a flash (or, when the job takes longer than the wait, that the answer
    is kept and being worked on)."""
    try:
        state.agent.claim(
            row.id, answer, by=principal.name, override_guardrails=override_guardrails, **fields
        )
    except GuardrailsNotOverridden as exc:
        raise PageProblem(
            409,
            "Confirm the failed checks",
            f"This draft failed the guardrails ({', '.join(exc.rules)}). Nothing was sent. Edit "
            "it, request changes, or tick the box naming these checks to send it unchanged.",
        ) from exc
    except UnstorableAnswer as exc:
        raise PageProblem(422, "This text cannot be kept", f"{exc} Nothing was changed.") from exc
    except NurtureError as exc:  # someone else answered between the page load and now
        raise PageProblem(409, "Already decided", str(exc)) from exc
    db = state.agent.ctx.db
    state.jobs.submit_answer(row.id, row.lead_id)
    new_draft = None
    if wait_for_answer(db, row.id, seconds=state.settings.answer_wait_seconds):
        run = get_run(db, row.thread_id)
        new_draft = run.detail if run and run.outcome == "awaiting_approval" else None
    target = new_draft or next_pending(state.agent.ctx, row)
    where = f"/inbox/{path_part(target)}" if target else "/inbox"
    return RedirectResponse(f"{where}?done={quote(row.id, safe='')}", status_code=303)


def _plain(text: str) -> str:
    """Browsers submit textarea line breaks as CRLF; the drafts use LF."""
    return text.replace("\r\n", "\n").replace("\r", "\n")
