"""Drafts record the A/B experiment variants they were written with (issue #18, item 1).

Revision ID: 0020_experiments
Revises: 0019_accounts
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020_experiments"
down_revision: str | None = "0019_accounts"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable: drafts written before this revision took part in no experiment
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("experiments", sa.JSON(), nullable=True))


def downgrade() -> None:
    # in place, not a batch copy: on SQLite the copy drops `approvals`, and ON DELETE CASCADE
    # would empty sends and send_actions (SQLite 3.35+ drops a plain column itself)
    op.drop_column("approvals", "experiments")
