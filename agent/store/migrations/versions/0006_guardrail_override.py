"""Who sent a draft whose guardrails failed, and which checks they overrode.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("guardrails_overridden_by", sa.String(120), nullable=True))
        batch.add_column(
            sa.Column(
                "guardrails_overridden",
                sa.JSON().with_variant(JSONB(), "postgresql"),
                nullable=True,
            )
        )


def downgrade() -> None:
    # in place, not a batch copy: on SQLite the copy drops `approvals`, and ON DELETE CASCADE
    # would empty sends and send_actions (SQLite 3.35+ drops a plain column itself)
    op.drop_column("approvals", "guardrails_overridden")
    op.drop_column("approvals", "guardrails_overridden_by")
