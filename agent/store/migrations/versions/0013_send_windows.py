"""Sends may wait for the playbook's send window: when they go out and in which zone.

Revision ID: 0013_send_windows
Revises: 0012_segment
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013_send_windows"
down_revision: str | None = "0012_segment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sends") as batch:
        batch.add_column(sa.Column("scheduled_for", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("send_zone", sa.String(64)))
    op.create_index("ix_sends_scheduled_for", "sends", ["scheduled_for"])


def downgrade() -> None:
    op.drop_index("ix_sends_scheduled_for", "sends")
    # in place, not a batch copy: on SQLite the copy drops `sends`, and ON DELETE CASCADE
    # would empty send_actions (SQLite 3.35+ drops a plain column itself)
    op.drop_column("sends", "send_zone")
    op.drop_column("sends", "scheduled_for")
