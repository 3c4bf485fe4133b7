"""Hand-off delivery as a job: a hand-off keeps the payload it is delivered with (every retry
sends the same bytes), how many attempts were made, and when the receiver took it. A run
waiting for the retry of its failed job says when that is due (runs.retry_at).

Rows from before keep their status (delivered, failed or not_configured); their attempts are
unknown and recorded as 1 where a webhook was tried.

Revision ID: 0010_handoff
Revises: 0009_hotspots
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0010_handoff"
down_revision: str | None = "0009_hotspots"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("handoffs") as batch:
        batch.add_column(sa.Column("payload", sa.JSON().with_variant(JSONB(), "postgresql")))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("delivered_at", sa.DateTime(timezone=True)))
    op.execute("UPDATE handoffs SET attempts = 1 WHERE webhook_status IN ('delivered', 'failed')")
    op.execute("UPDATE handoffs SET delivered_at = created_at WHERE webhook_status = 'delivered'")
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("retry_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    # in place, not a batch copy: on SQLite the copy drops `runs`, and ON DELETE CASCADE
    # would empty approvals, sends and send_actions (SQLite 3.35+ drops a plain column itself)
    op.drop_column("runs", "retry_at")
    with op.batch_alter_table("handoffs") as batch:
        batch.drop_column("delivered_at")
        batch.drop_column("attempts")
        batch.drop_column("payload")
