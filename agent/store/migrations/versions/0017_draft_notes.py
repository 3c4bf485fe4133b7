"""Drafts carry notes for the reviewer: feedback the drafter applied or could not apply, a lead
whose language is not the content's (issue #16).

Revision ID: 0017_draft_notes
Revises: 0016_service_secrets
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017_draft_notes"
down_revision: str | None = "0016_service_secrets"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # nullable: drafts written before this revision have no notes (read as none)
    with op.batch_alter_table("approvals") as batch:
        batch.add_column(sa.Column("notes", sa.JSON(), nullable=True))


def downgrade() -> None:
    # in place, not a batch copy: on SQLite the copy drops `approvals`, and ON DELETE CASCADE
    # would empty sends and send_actions (SQLite 3.35+ drops a plain column itself)
    op.drop_column("approvals", "notes")
