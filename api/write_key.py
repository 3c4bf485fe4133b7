"""The write key of a Segment-compatible client: HTTP Basic auth with the key as the user name
and an empty password (segment-analytics-python, rudder-sdk-python and Jitsu all send it so).
It is one of our API keys; the ingest role (or admin) may write. A wrong key counts towards the
brute-force limit like any other."""

from __future__ import annotations

import binascii
from base64 import b64decode
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from agent.store.api_keys import Principal
from api.csrf import refuse_other_origins
from api.deps import DbDep, presented_key, verify_key

WRITERS = frozenset({"ingest", "admin"})


def write_key_principal(request: Request, db: DbDep) -> Principal:
    key, basic = _write_key(request)
    principal = verify_key(request, db, key) if key else None
    if principal is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a valid write key is required: an API key with the ingest role, as the HTTP Basic "
            "user name",
            headers={"WWW-Authenticate": 'Basic realm="segment"'},
        )
    if basic:
        refuse_other_origins(request)  # a browser may have cached the Basic login
    if principal.role not in WRITERS:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"the {principal.role} role may not send events (allowed: admin, ingest)",
        )
    return principal


WriteKey = Annotated[Principal, Depends(write_key_principal)]


def _write_key(request: Request) -> tuple[str, bool]:
    """The key and whether it came as Basic auth: the user name, or the password when the user
    name is empty (how our other routes take Basic). A bearer token or X-API-Key works too."""
    scheme, _, credentials = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() == "basic":
        try:
            decoded = b64decode(credentials.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return "unreadable", True  # still a failed attempt, counted by address
        user, _, password = decoded.partition(":")
        return (user.strip() or password.strip()), True
    presented = presented_key(request)
    return (presented.key, False) if presented and presented.source != "cookie" else ("", False)
