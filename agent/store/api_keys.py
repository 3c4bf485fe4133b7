"""API keys: `nk_<id>_<secret>`. The id finds the row; only a SHA-256 of the secret is stored,
so a leaked database does not leak working keys. Keys are created and revoked with the CLI."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select

from agent.errors import NurtureError
from agent.store.database import Database
from agent.store.schema import ApiKeyRow

Role = Literal["admin", "marketer", "rep", "ingest"]
ROLES: tuple[Role, ...] = ("admin", "marketer", "rep", "ingest")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
"""An address that can be mailed: something@domain.tld (the mail server checks the rest)."""


@dataclass(frozen=True, slots=True)
class Principal:
    key_id: str
    name: str
    role: Role
    email: str | None = None


def create_key(
    db: Database, *, name: str, role: Role, at: datetime, email: str | None = None
) -> str:
    """Stores a new key and returns it; this is the only time the secret is seen. A rep key
    with an `email` takes part in hand-off assignment (agent/handoff_routing.py)."""
    if role not in ROLES:
        raise NurtureError(f"unknown role '{role}' (roles: {', '.join(ROLES)})")
    if email is not None and not EMAIL.fullmatch(email.strip()):
        raise NurtureError(f"'{email}' is not an email address")
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(24)
    with db.session() as session:
        session.add(
            ApiKeyRow(
                id=key_id,
                name=name,
                role=role,
                secret_hash=_hash(secret),
                email=email.strip() if email else None,
                created_at=at,
                revoked_at=None,
            )
        )
    return f"nk_{key_id}_{secret}"


def split_key(key: str) -> tuple[str, str] | None:
    """The id and secret of a key shaped `nk_<id>_<secret>`, or None for anything else."""
    prefix, _, rest = key.partition("_")
    key_id, _, secret = rest.partition("_")
    if prefix != "nk" or not key_id or not secret:
        return None
    return key_id, secret


def authenticate(db: Database, key: str) -> Principal | None:
    parts = split_key(key)
    if parts is None:
        return None
    key_id, secret = parts
    with db.session() as session:
        row = session.get(ApiKeyRow, key_id)
    if row is None or row.revoked_at is not None:
        return None
    if not hmac.compare_digest(row.secret_hash, _hash(secret)):
        return None
    return Principal(row.id, row.name, row.role, row.email)  # type: ignore[arg-type]


def revoke_key(db: Database, key_id: str, *, at: datetime) -> None:
    with db.session() as session:
        row = session.get(ApiKeyRow, key_id)
        if row is None:
            raise NurtureError(f"no API key with id '{key_id}'")
        row.revoked_at = at


def list_keys(db: Database) -> list[ApiKeyRow]:
    with db.session() as session:
        return list(session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.created_at)))


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def rep_keys(db: Database) -> list[ApiKeyRow]:
    """Reps that can take hand-offs: live rep keys with an email address, oldest first (a
    stable order, so the round-robin turn means the same rep in every process)."""
    query = (
        select(ApiKeyRow)
        .where(
            ApiKeyRow.role == "rep", ApiKeyRow.email.is_not(None), ApiKeyRow.revoked_at.is_(None)
        )
        .order_by(ApiKeyRow.created_at, ApiKeyRow.id)
    )
    with db.session() as session:
        return list(session.scalars(query))
