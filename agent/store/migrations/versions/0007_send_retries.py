"""The audit of what people do to sends: sending a failed one again, resolving an uncertain one.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "send_actions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "approval_id",
            sa.String(64),
            sa.ForeignKey("sends.approval_id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("by", sa.String(120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("from_reason", sa.Text),
        sa.Column("outcome", sa.String(16)),
        sa.Column("detail", sa.Text),
    )
    op.create_index("ix_send_actions_approval_id", "send_actions", ["approval_id"])


def downgrade() -> None:
    op.drop_table("send_actions")
