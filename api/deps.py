"""Dependencies the routes declare: the service state, the database, and who is calling."""

from __future__ import annotations

import binascii
from base64 import b64decode
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBasic, HTTPBearer
from starlette.requests import HTTPConnection

from agent.context import AgentContext
from agent.store import Database
from agent.store.api_keys import Principal, Role
from api.csrf import refuse_other_origins, require_token, submitted_token
from api.state import ServiceState

KEY_COOKIE = "nurture_key"

KeySource = Literal["bearer", "x-api-key", "basic", "cookie"]
# Credentials the browser sends on its own (the cookie; a Basic login it cached), so a page of
# another origin can make it send them: unsafe requests made with these must come from this
# origin. The cookie's must also carry the session's token (the inbox forms hold it); Basic is
# what scripts use too, and they send no Origin, so for Basic the origin check is the guard.
AMBIENT: frozenset[KeySource] = frozenset({"basic", "cookie"})
TOKEN_BOUND: frozenset[KeySource] = frozenset({"cookie"})


@dataclass(frozen=True, slots=True)
class PresentedKey:
    key: str
    source: KeySource


def get_state(request: Request) -> ServiceState:
    service: ServiceState = request.app.state.service  # Starlette's app.state is untyped
    return service


StateDep = Annotated[ServiceState, Depends(get_state)]


def get_context(state: StateDep) -> AgentContext:
    return state.agent.ctx


ContextDep = Annotated[AgentContext, Depends(get_context)]


def get_db(ctx: ContextDep) -> Database:
    return ctx.db


DbDep = Annotated[Database, Depends(get_db)]


# Declared so /docs offers an Authorize button; the check itself is ours (auto_error=False).
bearer = HTTPBearer(auto_error=False, description="An API key: nk_<id>_<secret>")
api_key_header = APIKeyHeader(name="X-API-Key", auto_error=False)


class DeclaredBasic(HTTPBasic):
    """HTTP Basic (any user name, the key as password), declared for /docs. Reading it is
    presented_key's: FastAPI's own answers a malformed header with a 401 that makes browsers
    prompt for a password, and before the failure is counted."""

    async def __call__(self, request: HTTPConnection) -> None:
        return None


basic = DeclaredBasic(auto_error=False, description="Any user name; the API key as password.")


CsrfTokenDep = Annotated[str | None, Depends(submitted_token)]


def current_principal(
    request: Request,
    db: DbDep,
    csrf_token: CsrfTokenDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    _header: Annotated[str | None, Depends(api_key_header)],
    _basic: Annotated[None, Depends(basic)],
) -> Principal:
    return authenticate_request(request, db, csrf_token)


def presented_key(request: Request) -> PresentedKey | None:
    """The key the request brings, and how: `Authorization: Bearer` or `Basic` (the key as
    password), `X-API-Key`, or the inbox's cookie, in that order."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return PresentedKey(credentials, "bearer")
    if scheme.lower() == "basic" and credentials:
        return PresentedKey(_basic_password(credentials), "basic")
    if key := request.headers.get("x-api-key", "").strip():
        return PresentedKey(key, "x-api-key")
    if key := request.cookies.get(KEY_COOKIE, ""):
        return PresentedKey(key, "cookie")
    return None


def authenticate_request(
    request: Request, db: Database, csrf_token: str | None = None
) -> Principal:
    """The caller. A key the browser sent by itself must also pass the CSRF checks."""
    presented = presented_key(request)
    principal = verify_key(request, db, presented.key) if presented else None
    if presented is None or principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API key is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if presented.source in AMBIENT:
        refuse_other_origins(request)
    if presented.source in TOKEN_BOUND:
        require_token(request, get_state(request).csrf, principal.key_id, csrf_token)
    return principal


def verify_key(request: Request, db: Database, key: str) -> Principal | None:
    """The key's principal, or None for a wrong key, which is counted against the client's
    address and the key id; past the limit, TooManyFailures (429) instead."""
    state = get_state(request)
    principal = state.keys.authenticate(db, key)
    if principal is None:
        state.auth_failures.failed(client_address(request), key)
    return principal


def client_address(request: Request) -> str:
    """The socket peer, or the client a trusted proxy names (uvicorn's --forwarded-allow-ips,
    NURTURE_FORWARDED_ALLOW_IPS, rewrites request.client before the app sees it)."""
    return request.client.host if request.client else "unknown"


def _basic_password(credentials: str) -> str:
    try:
        decoded = b64decode(credentials, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return ""  # still a failed attempt: counted by address
    return decoded.partition(":")[2]


def require(*roles: Role) -> Callable[..., Principal]:
    """Admits the given roles (and admin, which may do everything)."""
    allowed = {*roles, "admin"}

    def check(principal: Annotated[Principal, Depends(current_principal)]) -> Principal:
        if principal.role not in allowed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"the {principal.role} role may not do this "
                f"(allowed: {', '.join(sorted(allowed))})",
            )
        return principal

    return check
