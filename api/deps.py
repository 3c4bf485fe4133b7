"""Dependencies the routes declare: the service state, the database, and who is calling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from agent.context import AgentContext
from agent.store import Database
from agent.store.api_keys import Principal, Role, authenticate
from api.state import ServiceState

KEY_COOKIE = "nurture_key"


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


def current_principal(
    request: Request,
    db: DbDep,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    _header: Annotated[str | None, Depends(api_key_header)],
) -> Principal:
    return authenticate_request(request, db)


def authenticate_request(request: Request, db: Database) -> Principal:
    """The caller, from `Authorization: Bearer <key>`, `X-API-Key`, or the inbox's cookie."""
    header = request.headers.get("authorization", "")
    key = header[7:].strip() if header[:7].lower() == "bearer " else ""
    key = key or request.headers.get("x-api-key", "").strip() or request.cookies.get(KEY_COOKIE, "")
    principal = authenticate(db, key) if key else None
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid API key is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
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
