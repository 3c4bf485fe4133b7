"""Secrets the service makes for itself on first use (the unsubscribe links' signing key), kept
in the database so every replica and every restart signs and checks with the same one.

Revision ID: 0016_service_secrets
Revises: 0015_lean_reads
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016_service_secrets"
down_revision: str | None = "0015_lean_reads"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(256), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("service_secrets")
