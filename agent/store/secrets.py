"""Secrets the service generates for itself and keeps in the database (table service_secrets).

The first process to need one creates it; a concurrent first use by another replica loses the
insert and reads the winner's, so every process ends up with the same value."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from agent.store.database import Database
from agent.store.schema import ServiceSecretRow
from agent.store.upsert import insert_ignoring_duplicates

SECRET_BYTES = 32


def service_secret(db: Database, name: str) -> str:
    """The secret called `name`, generated (256 random bits) and stored on first use."""
    with db.session() as session:
        row = session.get(ServiceSecretRow, name)
        if row is not None:
            return row.value
    candidate = {
        "name": name,
        "value": secrets.token_urlsafe(SECRET_BYTES),
        "created_at": datetime.now(UTC),
    }
    with db.session() as session:
        insert_ignoring_duplicates(session, ServiceSecretRow, [candidate])
    with db.session() as session:
        stored = session.get(ServiceSecretRow, name)
        if stored is None:  # pragma: no cover - the insert above or a concurrent one wrote it
            raise LookupError(name)
        return stored.value


def keep_service_secret(db: Database, name: str, value: str) -> None:
    """Stores `value` as the secret called `name` unless one exists: for a world that must
    sign the same way on every run (the eval suites), never for a service."""
    row = {"name": name, "value": value, "created_at": datetime.now(UTC)}
    with db.session() as session:
        insert_ignoring_duplicates(session, ServiceSecretRow, [row])
