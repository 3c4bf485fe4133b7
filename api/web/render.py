"""Page rendering and page errors: templates, security headers, and a route class that turns a
missing login into a redirect and a refusal into a friendly HTML page (never 401/403 JSON)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, HTTPException, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates

from agent.store.api_keys import Principal, Role
from api.auth_failures import TooManyFailures
from api.convert import scheduled_label
from api.csrf import CrossSiteRefused
from api.deps import CsrfTokenDep, DbDep, authenticate_request

API_DIR = Path(__file__).resolve().parent.parent
TEMPLATES_DIR = API_DIR / "templates"
STATIC_DIR = API_DIR / "static"

# Everything the pages load comes from this origin; no inline script or style is needed, so
# an injected <script> could not run even if escaping ever failed. No framing: clickjacking.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",  # drafts and lead data: keep them out of shared caches
}


class PageProblem(Exception):
    """Stops a page with a status and a message the person can act on."""

    def __init__(
        self, status_code: int, title: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.title = title
        self.message = message
        self.headers = headers or {}


class LoginRequired(Exception):
    """No valid key in the cookie: the browser goes to /login and comes back afterwards."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


@lru_cache(maxsize=1)
def templates() -> Jinja2Templates:
    """Built on first use, not at import. Autoescaping is on for .html: lead text is data."""
    env = Jinja2Templates(directory=TEMPLATES_DIR)
    env.env.filters["age"] = age
    env.env.filters["utc"] = utc_text
    env.env.filters["scheduled"] = scheduled_label  # "scheduled for Tue 09:00 Europe/Berlin"
    return env


def render(
    request: Request,
    name: str,
    context: Mapping[str, Any],
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> Response:
    return templates().TemplateResponse(
        request,
        name,
        dict(context),
        status_code=status_code,
        headers={**SECURITY_HEADERS, **(headers or {})},
    )


def age(then: datetime, now: datetime | None = None) -> str:
    """How long ago, coarsely: '5 min', '3 h', '2 d'."""
    seconds = max(0.0, ((now or datetime.now(UTC)) - then).total_seconds())
    if seconds < 3600:
        return f"{max(1, int(seconds // 60))} min"
    if seconds < 2 * 86400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86400)} d"


def utc_text(value: datetime | None) -> str:
    return "" if value is None else f"{value.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def safe_next(value: str | None) -> str:
    """Only a path on this site: '//evil.example' or 'https://…' would be an open redirect."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/inbox"
    return value


def login_url(next_path: str) -> str:
    return f"/login?next={quote(safe_next(next_path), safe='/')}"


class PageRoute(APIRoute):
    """Renders page errors as HTML, including those raised while solving dependencies."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired as exc:
                return RedirectResponse(login_url(exc.next_path), status_code=303)
            except PageProblem as exc:
                return problem_page(request, exc)
            except CrossSiteRefused as exc:
                return problem_page(request, PageProblem(403, exc.title, exc.detail))
            except TooManyFailures as exc:
                return problem_page(request, too_many_failures(exc))
            except RequestValidationError as exc:
                fields = ", ".join(str(e.get("loc", ("?",))[-1]) for e in exc.errors())
                problem = PageProblem(422, "Something is missing", f"Check these fields: {fields}.")
                return problem_page(request, problem)

        return handle


def problem_page(request: Request, problem: PageProblem) -> Response:
    context = {"title": problem.title, "message": problem.message, "principal": None}
    return render(
        request, "error.html", context, status_code=problem.status_code, headers=problem.headers
    )


def too_many_failures(exc: TooManyFailures) -> PageProblem:
    return PageProblem(
        429,
        "Too many failed sign-ins",
        f"Too many failed sign-ins: too many wrong keys were tried from this address (or for "
        f"this key) in the last minute. Try another in {exc.retry_after} seconds; a valid key "
        "works at once.",
        headers={"Retry-After": str(exc.retry_after)},
    )


def page_principal(request: Request, db: DbDep, csrf_token: CsrfTokenDep) -> Principal:
    """The caller, authenticated exactly as the API does (same keys, same cookie, same CSRF
    checks)."""
    try:
        return authenticate_request(request, db, csrf_token)
    except (CrossSiteRefused, TooManyFailures):
        raise  # a refusal page, not the login form: signing in again would not help
    except HTTPException as exc:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        # a POST cannot be replayed after login; come back to the page it was posted from
        raise LoginRequired(path if request.method == "GET" else "/inbox") from exc


def page_roles(*roles: Role, doing: str) -> Callable[..., Principal]:
    """Admits the given roles and admin; anyone else gets a 403 page saying what they tried."""
    allowed = {*roles, "admin"}

    def check(principal: Annotated[Principal, Depends(page_principal)]) -> Principal:
        if principal.role not in allowed:
            raise PageProblem(
                403,
                "Not allowed",
                f"You are signed in as {principal.name} ({principal.role}). Only "
                f"{', '.join(sorted(allowed))} may {doing}. Nothing was changed.",
            )
        return principal

    return check


Viewer = Annotated[Principal, Depends(page_roles("marketer", "rep", doing="view the inbox"))]
Actor = Annotated[
    Principal, Depends(page_roles("marketer", doing="approve, change or discard drafts"))
]
Author = Annotated[Principal, Depends(page_roles("marketer", doing="preview playbooks"))]
