"""The CSRF defence for credentials a browser sends by itself: the inbox's cookie (and a cached
HTTP Basic login: the origin check only, see api/deps.py). SameSite=Strict alone is not enough:
a site is host and scheme, not port, so a page on the same host at another port is "same-site"
and its forms carry the cookie. An unsafe request made with such a credential must therefore

1. come from this origin: `Sec-Fetch-Site` is not `cross-site` or `same-site`, and an `Origin`
   header, when present, is this request's own scheme, host and port; and
2. carry this session's token: an HMAC of the signed-in key's id under a server secret, which
   every inbox form holds in a hidden `csrf_token` field (API calls with the cookie send it as
   `X-CSRF-Token`). A page on another origin can neither read it nor compute it.

Requests that bring their key in a header (`Authorization: Bearer`, `X-API-Key`) are outside
it: no browser attaches those on its own. So are routes that never read the cookie (a one-click
unsubscribe POST, mail-system webhooks): the check belongs to the credential, not to the route,
so such routes opt out by not authenticating with the cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from pydantic import SecretStr
from starlette.datastructures import URL

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
TOKEN_FIELD = "csrf_token"
TOKEN_HEADER = "X-CSRF-Token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
DEFAULT_PORTS = {"http": 80, "https": 443}


class CrossSiteRefused(HTTPException):
    """A 403 with a title for the page version of the refusal."""

    def __init__(self, title: str, reason: str) -> None:
        super().__init__(403, f"{reason} Nothing was changed.")
        self.title = title


class CsrfTokens:
    """Makes and checks the per-session tokens. Without a configured secret, a random one per
    process: forms rendered before a restart (or by another replica) are then refused once,
    and a reload fixes them."""

    def __init__(self, secret: SecretStr | None) -> None:
        self._key = secret.get_secret_value().encode() if secret else secrets.token_bytes(32)

    def token(self, key_id: str) -> str:
        return hmac.new(self._key, b"nurture-csrf\0" + key_id.encode(), hashlib.sha256).hexdigest()

    def valid(self, key_id: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.token(key_id), token or "")


async def submitted_token(request: Request) -> str | None:
    """The token an unsafe request carries, from the header or the form. FastAPI has already
    parsed a form body for routes with Form fields; Starlette hands back that same parse."""
    if request.method in SAFE_METHODS or not request.cookies:
        return None  # only a request with the cookie is asked for a token: no body read else
    if header := request.headers.get(TOKEN_HEADER):
        return header
    if request.headers.get("content-type", "").startswith(FORM_TYPES):
        value = (await request.form()).get(TOKEN_FIELD)
        return value if isinstance(value, str) else None
    return None


def refuse_other_origins(request: Request) -> None:
    """Step 1: an unsafe request from a page of another origin is refused. Requests without
    these headers (scripts, older browsers) pass this step; the token still applies to them."""
    if request.method in SAFE_METHODS:
        return
    site = request.headers.get("sec-fetch-site", "").lower()
    origin = request.headers.get("origin")
    if site in ("cross-site", "same-site"):
        source = f"{origin} " if origin else ""
        where = f"another site ({source}Sec-Fetch-Site: {site})"
    elif origin is not None and not same_origin(origin, request.url):
        where = f"another site ({origin})"
    else:
        return
    raise CrossSiteRefused(
        "Refused: sent from another site",
        f"This request came from {where}, not from a page of this inbox, so it was refused.",
    )


def require_token(request: Request, tokens: CsrfTokens, key_id: str, token: str | None) -> None:
    """Step 2: the request carries the token of the session it is made with."""
    if request.method in SAFE_METHODS or tokens.valid(key_id, token):
        return
    raise CrossSiteRefused(
        "Refused: this form is out of date",
        "The request did not carry this session's CSRF token (every inbox form has it; an API "
        f"call with the sign-in cookie sends it as {TOKEN_HEADER}). Reload the page and try "
        "again.",
    )


def same_origin(origin: str, url: URL) -> bool:
    """Scheme, host and port equal, default ports filled in ('null' is no origin at all)."""
    try:
        parts = urlsplit(origin)
        port = parts.port or DEFAULT_PORTS.get(parts.scheme)
    except ValueError:  # a port that is not a number
        return False
    own_port = url.port or DEFAULT_PORTS.get(url.scheme)
    return (parts.scheme, parts.hostname, port) == (url.scheme, url.hostname, own_port)
