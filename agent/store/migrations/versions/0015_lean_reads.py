"""Reads that must not grow with the events or the runs: `nurture run`'s candidate selection asks
whether an event arrived after each recorded decision (one seek into (lead_id, received_at)
instead of reading every event of the lead), and `/metrics` counts runs by outcome from a narrow
index instead of the runs' rows.

Revision ID: 0015_lean_reads
Revises: 0014_handoff_states
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0015_lean_reads"
down_revision: str | None = "0014_handoff_states"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_events_lead_received", "events", ["lead_id", "received_at"])
    op.create_index("ix_runs_outcome", "runs", ["outcome"])


def downgrade() -> None:
    op.drop_index("ix_runs_outcome", "runs")
    op.drop_index("ix_events_lead_received", "events")
