"""Dependencies the routes declare: the service state, the database, and who is calling."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from agent.context import AgentContext
from agent.store import Database
from agent.store.api_keys import Principal, Role, authenticate
from api.csrf import refuse_other_origins, require_token, submitted_token
from api.state import ServiceState

KEY_COOKIE = "nurture_key"

KeySource = Literal["bearer", "x-api-key", "cookie"]
# Credentials the browser sends on its own, so a page of another origin can make it send them:
# requests made with these must pass the CSRF checks (api/csrf.py).
AMBIENT: frozenset[KeySource] = frozenset({"cookie"})


@dataclass(frozen=True, slots=True)
class PresentedKey:
    key: str
    source: KeySource


def get_state(request: Request) -> ServiceState:
    return request.app.state.service  # type: ignore[no-any-return]


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


CsrfTokenDep = Annotated[str | None, Depends(submitted_token)]


def current_principal(
    request: Request,
    db: DbDep,
    csrf_token: CsrfTokenDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    _header: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    return authenticate_request(request, db, csrf_token)


def presented_key(request: Request) -> PresentedKey | None:
    """The key the request brings, and how: `Authorization: Bearer`, `X-API-Key`, or the
    inbox's cookie, in that order."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer " and (key := header[7:].strip()):
        return PresentedKey(key, "bearer")
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
    principal = authenticate(db, presented.key) if presented else None
    if presented is None or principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API key is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if presented.source in AMBIENT:
        refuse_other_origins(request)
        require_token(request, get_state(request).csrf, principal.key_id, csrf_token)
    return principal


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
