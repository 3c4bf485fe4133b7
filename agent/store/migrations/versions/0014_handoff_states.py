"""Hand-offs that reach sales: a hand-off has a state (new, delivered, accepted, closed,
recycled) with an audit of every change, and the rep it is assigned to; rep keys carry an email
address; a shared counter table holds the round-robin turn.

Rows from before: delivered when their webhook was delivered, else new.

Revision ID: 0014_handoff_states
Revises: 0013_send_windows
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014_handoff_states"
down_revision: str | None = "0013_send_windows"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("state", sa.String(16), nullable=False, server_default="new"))
        batch.add_column(sa.Column("assigned_key_id", sa.String(32)))
        batch.add_column(sa.Column("assigned_to", sa.String(320)))
        batch.add_column(sa.Column("state_changed_at", sa.DateTime(timezone=True)))
    op.create_index("ix_handoffs_state", "handoffs", ["state"])
    op.create_index("ix_handoffs_assigned_key_id", "handoffs", ["assigned_key_id"])
    op.execute("UPDATE handoffs SET state = 'delivered' WHERE webhook_status = 'delivered'")
    op.create_table(
        "handoff_changes",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "handoff_id",
            sa.String(128),
            sa.ForeignKey("handoffs.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("from_state", sa.String(16)),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("by", sa.String(120), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text),
    )
    op.create_index("ix_handoff_changes_handoff_id", "handoff_changes", ["handoff_id"])
    op.create_table(
        "counters",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False),
    )
    with op.batch_alter_table("api_keys") as batch:
        batch.add_column(sa.Column("email", sa.String(320)))


def downgrade() -> None:
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("email")
    op.drop_table("counters")
    op.drop_index("ix_handoff_changes_handoff_id", "handoff_changes")
    op.drop_table("handoff_changes")
    op.drop_index("ix_handoffs_assigned_key_id", "handoffs")
    op.drop_index("ix_handoffs_state", "handoffs")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("state_changed_at")
        batch.drop_column("assigned_to")
        batch.drop_column("assigned_key_id")
        batch.drop_column("state")
