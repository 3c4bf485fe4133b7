"""Segment messages: events waiting for their lead (anonymous until identify or alias), the
anonymousId / userId each lead was linked to, and the messages we could not store.

Revision ID: 0012_segment
Revises: 0011_owner
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0012_segment"
down_revision: str | None = "0011_owner"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pending_events",
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column("anonymous_id", sa.String(200)),
        sa.Column("user_id", sa.String(200)),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("properties", JSON, nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
    )
    op.create_index("ix_pending_events_anonymous_id", "pending_events", ["anonymous_id"])
    op.create_index("ix_pending_events_user_id", "pending_events", ["user_id"])
    op.create_table(
        "identity_links",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("value", sa.String(200), primary_key=True),
        sa.Column(
            "lead_id",
            sa.String(128),
            sa.ForeignKey("leads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("linked_at", WHEN, nullable=False),
    )
    op.create_index("ix_identity_links_lead_id", "identity_links", ["lead_id"])
    op.create_table(
        "ingest_rejections",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("message_id", sa.String(200)),
        sa.Column("kind", sa.String(32)),
        sa.Column("reason_code", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message", JSON),
        sa.Column("received_at", WHEN, nullable=False),
    )
    op.create_index(
        "ix_ingest_rejections_source_reason", "ingest_rejections", ["source", "reason_code"]
    )
    op.create_index("ix_ingest_rejections_received_at", "ingest_rejections", ["received_at"])


def downgrade() -> None:
    op.drop_table("ingest_rejections")
    op.drop_table("identity_links")
    op.drop_table("pending_events")
