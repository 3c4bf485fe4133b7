"""Who may do what on LangGraph Server (`langgraph.json` → `"auth"`): the project's own API keys,
the same ones and the same headers the HTTP API accepts (`Authorization: Bearer <key>`, Basic with
the key as password, or `X-API-Key`), looked up in the database the settings name.

- no key, or an unknown or revoked one: 401;
- the roles that may draft through the API (`rep`, `marketer`, `admin`) may read threads, create
  them and start runs; `ingest` may do nothing here (403);
- answering a draft (a run carrying a `command`: `resume`, but also `update` or `goto`, which
  could move a thread past the review), changing a thread (its state, its metadata, cancelling
  its runs), deleting threads, and writing assistants or crons: `marketer` or `admin` only (403
  naming the role).

`langgraph.json` sets `disable_studio_auth`: otherwise langgraph dev lets any request carrying
`x-auth-scheme: langsmith` in as a Studio user, without a key.

The graph records the answer under the key's name (agent/nodes/common.py `server_caller`).
Handlers run on the server's event loop, which refuses blocking calls: the database is read in a
worker thread."""

from __future__ import annotations

import asyncio
import binascii
import threading
from base64 import b64decode
from collections.abc import Mapping
from typing import Any

from langgraph_sdk import Auth

from agent.store.api_keys import Principal, Role, authenticate
from agent.store.database import Database

DRAFTERS: frozenset[Role] = frozenset({"rep", "marketer", "admin"})
DECIDERS: frozenset[Role] = frozenset({"marketer", "admin"})

auth = Auth()

_db: Database | None = None
_db_lock = threading.Lock()


def _database() -> Database:
    """The settings' database, opened (and migrated) once per process, on first use."""
    global _db
    with _db_lock:
        if _db is None:
            from agent.settings import get_settings

            db = Database(get_settings().resolved_database_url)
            db.migrate()
            _db = db
        return _db


def _principal(key: str) -> Principal | None:
    return authenticate(_database(), key)


def presented_key(headers: Mapping[bytes, bytes]) -> str | None:
    """The key in `Authorization: Bearer`, `Authorization: Basic` (the password) or
    `X-API-Key`, in that order, as the HTTP API reads them."""
    scheme, _, credentials = headers.get(b"authorization", b"").decode().partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer" and credentials:
        return credentials
    if scheme.lower() == "basic" and credentials:
        try:
            return b64decode(credentials, validate=True).decode().partition(":")[2] or None
        except (binascii.Error, UnicodeDecodeError):
            return None
    return headers.get(b"x-api-key", b"").decode().strip() or None


@auth.authenticate
async def authenticate_key(headers: dict[bytes, bytes]) -> Auth.types.MinimalUserDict:
    key = presented_key(headers)
    principal = await asyncio.to_thread(_principal, key) if key else None
    if principal is None:
        raise Auth.exceptions.HTTPException(
            status_code=401,
            detail="a valid API key is required (Authorization: Bearer <key>, or X-API-Key)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return {
        "identity": principal.key_id,
        "display_name": principal.name,
        "permissions": [principal.role],
    }


def _require(ctx: Auth.types.AuthContext, allowed: frozenset[Role], doing: str) -> None:
    role = next(iter(ctx.permissions), None)
    if role not in allowed:
        who = f"the {role} role" if role else "a caller without a project API key"
        raise Auth.exceptions.HTTPException(
            status_code=403,
            detail=f"{who} may not {doing} (allowed: {', '.join(sorted(allowed))})",
        )


@auth.on.threads.create_run
async def start_or_answer(ctx: Auth.types.AuthContext, value: Auth.types.RunsCreate) -> None:
    if (value.get("kwargs") or {}).get("command") is not None:
        _require(ctx, DECIDERS, "answer a draft (resume a thread)")
    else:
        _require(ctx, DRAFTERS, "start a run")


@auth.on.threads.update
async def change_thread(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsUpdate) -> None:
    _require(ctx, DECIDERS, "change a thread")


@auth.on.threads.delete
async def delete_thread(ctx: Auth.types.AuthContext, value: Auth.types.ThreadsDelete) -> None:
    _require(ctx, DECIDERS, "delete a thread")


async def configure(ctx: Auth.types.AuthContext, value: Any) -> None:
    """Assistants and crons carry a config and an input for runs to come: a decider's call."""
    _require(ctx, DECIDERS, f"{ctx.action} {ctx.resource}")


for register in (
    auth.on.assistants.create,
    auth.on.assistants.update,
    auth.on.assistants.delete,
    auth.on.crons.create,
    auth.on.crons.update,
    auth.on.crons.delete,
):
    register(configure)


@auth.on
async def read_or_draft(ctx: Auth.types.AuthContext, value: Any) -> None:
    _require(ctx, DRAFTERS, f"{ctx.action} {ctx.resource}")
