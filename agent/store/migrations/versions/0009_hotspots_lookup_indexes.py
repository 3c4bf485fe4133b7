"""Lookups that must not grow with the table: the guardrail asking whether a draft names another
lead (`leads.name IN (...) OR leads.company IN (...)`, on every check and revision) reads two
indexes instead of every lead, and `nurture run` finds the leads whose recorded action sends
email through an index on `lead_decisions.action`.

Revision ID: 0009_hotspots
Revises: 0008
Create Date: 2026-12-03
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009_hotspots"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_leads_name", "leads", ["name"])
    op.create_index("ix_leads_company", "leads", ["company"])
    op.create_index("ix_lead_decisions_action", "lead_decisions", ["action"])


def downgrade() -> None:
    op.drop_index("ix_lead_decisions_action", "lead_decisions")
    op.drop_index("ix_leads_company", "leads")
    op.drop_index("ix_leads_name", "leads")
