"""Agent runs, the approval inbox, sends (exactly-once state machine) and hand-offs.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
TIMESTAMP = sa.DateTime(timezone=True)


def _lead() -> sa.Column[str]:
    return sa.Column(
        "lead_id",
        sa.String(128),
        sa.ForeignKey("leads.id", ondelete="CASCADE"),
        nullable=False,
        index=True,
    )


def upgrade() -> None:
    op.create_table(
        "runs",
        sa.Column("thread_id", sa.String(128), primary_key=True),
        _lead(),
        sa.Column("action", sa.String(32)),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("detail", sa.Text()),
        sa.Column("playbook_version", sa.String(64), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
    )
    op.create_table(
        "approvals",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column(
            "thread_id",
            sa.String(128),
            sa.ForeignKey("runs.thread_id", ondelete="CASCADE"),
            nullable=False,
            index=True,
        ),
        _lead(),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("cited_asset_ids", JSON, nullable=False),
        sa.Column("lead_facts_used", JSON, nullable=False),
        sa.Column("drafter", sa.String(80), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("playbook_version", sa.String(64), nullable=False),
        sa.Column("violations", JSON, nullable=False),
        sa.Column("decision", JSON, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("answer", sa.String(16)),
        sa.Column("decided_by", sa.String(120)),
        sa.Column("decided_at", TIMESTAMP),
        sa.Column("feedback", sa.Text()),
        sa.Column("final_subject", sa.Text()),
        sa.Column("final_body", sa.Text()),
    )
    op.create_index("ix_approvals_status_created", "approvals", ["status", "created_at"])
    op.create_table(
        "sends",
        sa.Column(
            "approval_id",
            sa.String(64),
            sa.ForeignKey("approvals.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        _lead(),
        sa.Column("message_id", sa.String(200), nullable=False, unique=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text()),
        sa.Column("to_address", sa.String(320), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("attempted_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP),
    )
    op.create_table(
        "handoffs",
        sa.Column("id", sa.String(128), primary_key=True),
        _lead(),
        sa.Column("rule", sa.String(80), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("webhook_status", sa.String(16), nullable=False),
        sa.Column("webhook_error", sa.Text()),
        sa.Column("created_at", TIMESTAMP, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("handoffs")
    op.drop_table("sends")
    op.drop_table("approvals")
    op.drop_table("runs")
