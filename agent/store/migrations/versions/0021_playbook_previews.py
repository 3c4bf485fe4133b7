"""Playbook previews as jobs (issue #17): a preview of a candidate playbook over every lead takes
a minute or more on a large store, far beyond an HTTP request, and what a user was told is
accepted must not live in one process's memory. Each request is a row: queued, running (with
the leads done so far), done (with its result) or failed (with why).

Revision ID: 0021_playbook_previews
Revises: 0020_experiments
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0021_playbook_previews"
down_revision: str | None = "0020_experiments"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "status IN ('queued', 'running')"


def upgrade() -> None:
    op.create_table(
        "playbook_previews",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_hash", sa.String(64), nullable=False),
        sa.Column("candidate_version", sa.String(64), nullable=False),
        sa.Column("current_version", sa.String(64), nullable=False),
        sa.Column("requested_by", sa.String(120), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("result", sa.JSON().with_variant(JSONB(), "postgresql")),
        sa.Column("leads_done", sa.Integer, nullable=False, server_default="0"),
        sa.Column("leads_total", sa.Integer),
        sa.Column("worker", sa.String(120)),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True)),
        sa.Column("finished_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_playbook_previews_created_at", "playbook_previews", ["created_at"])
    op.create_index(
        "uq_playbook_previews_active",
        "playbook_previews",
        ["text_hash", "current_version"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )


def downgrade() -> None:
    # a table of its own, referenced by none: dropping it touches no other table's rows
    op.drop_table("playbook_previews")
