"""The unsubscribe page every email links to: GET shows a small confirmation, POST (the form's
button, or a mailbox provider's RFC 8058 one-click) records the unsubscribe at once.

No API key, no cookie and so no CSRF check: the signed token in the path is the credential,
and it can only ever unsubscribe the one lead it was made for. A bad or expired token gets a
page saying so (400 or 410), never a 500."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from agent.store.schema import LeadRow
from agent.unsubscribe import BadUnsubscribeToken, record_unsubscribe, unsubscribe_links
from api.deps import StateDep
from api.web.render import render

router = APIRouter(tags=["unsubscribe"])


@router.get("/unsubscribe/{token}", response_class=Response, include_in_schema=False)
def confirm_page(token: str, request: Request, state: StateDep) -> Response:
    """Asks before unsubscribing: link scanners in mail gateways follow every GET."""
    lead = _lead(state, request, token)
    if isinstance(lead, Response):
        return lead
    return _page(
        request,
        "Unsubscribe?",
        f"Stop all marketing emails to {masked(lead.email)}? This takes effect at once.",
        confirm=True,
    )


@router.post("/unsubscribe/{token}", response_class=Response, include_in_schema=False)
def unsubscribe(token: str, request: Request, state: StateDep) -> Response:
    """RFC 8058 one-click: the body (List-Unsubscribe=One-Click) is not needed to act."""
    lead = _lead(state, request, token)
    if isinstance(lead, Response):
        return lead
    ctx = state.agent.ctx
    try:
        record_unsubscribe(ctx.db, ctx.playbook, lead.id, now=ctx.clock(), via="link")
    except LookupError:
        return _gone(request)
    state.jobs.redecide([lead.id])
    return _page(
        request,
        "You are unsubscribed",
        f"{masked(lead.email)} will get no more marketing emails from us.",
    )


def _lead(state: StateDep, request: Request, token: str) -> LeadRow | Response:
    """The lead the token names, or the page saying why the link does not work."""
    ctx = state.agent.ctx
    try:
        lead_id = unsubscribe_links(ctx.settings, ctx.db).lead_for(token)
    except BadUnsubscribeToken as exc:
        if exc.expired:
            title = "This link has expired"
            more = "Use the link in a more recent email, or reply asking us to stop."
        else:
            title = "This link is not valid"
            more = "It may have been cut short: copy the whole link from the email."
        return _page(
            request, title, f"{str(exc).capitalize()}. {more}", status=410 if exc.expired else 400
        )
    with ctx.db.session() as session:
        lead = session.get(LeadRow, lead_id)
    return lead if lead is not None else _gone(request)


def masked(address: str) -> str:
    """Enough of the address to recognise it, not enough to harvest it from a forwarded link."""
    local, _, domain = address.partition("@")
    return f"{local[:1]}***@{domain}" if domain else "***"


def _page(
    request: Request, title: str, message: str, *, status: int = 200, confirm: bool = False
) -> Response:
    context = {
        "title": title,
        "message": message,
        "confirm": confirm,
        "action": request.url.path,
        "principal": None,
    }
    return render(request, "unsubscribe.html", context, status_code=status)


def _gone(request: Request) -> Response:
    return _page(request, "Not on our lists", "This address is not on our lists.", status=404)
