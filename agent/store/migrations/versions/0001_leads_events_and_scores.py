"""Leads, their events, and the bulk score snapshot.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "leads",
        sa.Column("id", sa.String(128), primary_key=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("name", sa.String(200)),
        sa.Column("company", sa.String(200)),
        sa.Column("attributes", JSON, nullable=False),
        sa.Column("do_not_contact", sa.Boolean(), nullable=False),
        sa.Column("fit_points", sa.Float()),
        sa.Column("derived_by", sa.String(16)),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_index("ix_leads_derived_by", "leads", ["derived_by"])

    op.create_table(
        "events",
        sa.Column("id", sa.String(160), primary_key=True),
        sa.Column(
            "lead_id", sa.String(128), sa.ForeignKey("leads.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("occurred_at", TIMESTAMP, nullable=False),
        sa.Column("properties", JSON, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("signal", sa.String(64)),
        sa.Column("points", sa.Float()),
        sa.Column("half_life_days", sa.Float()),
        sa.Column("derived_by", sa.String(16)),
    )
    op.create_index("ix_events_derived_by", "events", ["derived_by"])
    op.create_index(
        "ix_events_lead_time", "events", ["lead_id", "occurred_at", "points", "half_life_days"]
    )

    op.create_table(
        "lead_scores",
        sa.Column(
            "lead_id",
            sa.String(128),
            sa.ForeignKey("leads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("attribute", sa.Float(), nullable=False),
        sa.Column("behaviour", sa.Float(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("hot", sa.Boolean(), nullable=False),
        sa.Column("scored_at", TIMESTAMP, nullable=False),
        sa.Column("playbook_version", sa.String(64), nullable=False),
    )
    op.create_index("ix_lead_scores_hot_total", "lead_scores", ["hot", "total"])


def downgrade() -> None:
    op.drop_table("lead_scores")
    op.drop_table("events")
    op.drop_table("leads")
