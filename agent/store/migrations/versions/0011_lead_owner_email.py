"""Leads carry their CRM owner (hand-offs go to them, reps filter by it), and are found by
address in any letter case (events and Segment messages may name a lead by email).

Revision ID: 0011_owner
Revises: 0010_handoff
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011_owner"
down_revision: str | None = "0010_handoff"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("owner", sa.String(320)))
    op.create_index("ix_leads_owner", "leads", ["owner"])
    op.create_index("ix_leads_email_lower", "leads", [sa.text("lower(email)")])


def downgrade() -> None:
    op.drop_index("ix_leads_email_lower", "leads")
    op.drop_index("ix_leads_owner", "leads")
    # in place, not a batch copy: on SQLite a copy drops `leads`, and ON DELETE CASCADE would
    # empty every table that refers to it (SQLite 3.35+ drops a plain column itself)
    op.drop_column("leads", "owner")
