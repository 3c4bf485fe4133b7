"""Decision history: every change of a lead's stage, action or hot flag, from now on (the lead
page shows it; analytics count from it). lead_decisions keeps only the latest decision.

Revision ID: 0018_decision_history
Revises: 0017_draft_notes
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018_decision_history"
down_revision: str | None = "0017_draft_notes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "decision_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "lead_id",
            sa.String(128),
            sa.ForeignKey("leads.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_stage", sa.String(16)),
        sa.Column("to_stage", sa.String(16), nullable=False),
        sa.Column("from_action", sa.String(32)),
        sa.Column("to_action", sa.String(32), nullable=False),
        sa.Column("from_hot", sa.Boolean),
        sa.Column("to_hot", sa.Boolean, nullable=False),
        sa.Column("playbook_version", sa.String(64), nullable=False),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("stage_rule", sa.String(80), nullable=False),
    )
    op.create_index("ix_decision_changes_lead_at", "decision_changes", ["lead_id", "at"])
    op.create_index("ix_decision_changes_at", "decision_changes", ["at"])


def downgrade() -> None:
    op.drop_table("decision_changes")
