"""Each lead's latest decision (for listing by stage and action) and activated playbooks.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "lead_decisions",
        sa.Column(
            "lead_id",
            sa.String(128),
            sa.ForeignKey("leads.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("stage", sa.String(16), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("wait_until", sa.DateTime(timezone=True)),
        sa.Column("total", sa.Float, nullable=False),
        sa.Column("hot", sa.Boolean, nullable=False),
        sa.Column("playbook_version", sa.String(64), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_lead_decisions_stage_action", "lead_decisions", ["stage", "action"])
    op.create_table(
        "playbook_versions",
        sa.Column("version", sa.String(64), primary_key=True),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("activated_by", sa.String(120), nullable=False),
        sa.Column("activated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_playbook_versions_activated_at", "playbook_versions", ["activated_at"])


def downgrade() -> None:
    op.drop_table("playbook_versions")
    op.drop_table("lead_decisions")
