"""Leads carry their account (buying committee): the `account_id` attribute, else the company's
email domain, never a free-mail provider's (agent.accounts). Indexed for the account page and
the one-email-per-account check at send time; existing leads get theirs here. Each account
sent to gets a lock row that serialises its sends' claims (agent/store/account_caps.py).

Revision ID: 0019_accounts
Revises: 0018_decision_history
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from agent.accounts import account_of
from agent.timeline import Lead

revision: str = "0019_accounts"
down_revision: str | None = "0018_decision_history"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("leads") as batch:
        batch.add_column(sa.Column("account", sa.String(255)))
    op.create_index("ix_leads_account", "leads", ["account"])
    op.create_table(
        "account_send_locks",
        sa.Column("account", sa.String(255), primary_key=True),
        sa.Column("claims", sa.Integer(), nullable=False, server_default="0"),
    )
    _backfill()


def _backfill() -> None:
    leads = sa.table(
        "leads",
        sa.column("id", sa.String),
        sa.column("email", sa.String),
        sa.column("attributes", sa.JSON),
        sa.column("account", sa.String),
    )
    bind = op.get_bind()
    after = ""
    while True:  # in id order, a batch at a time: a large table is never held in memory
        rows = bind.execute(
            sa.select(leads.c.id, leads.c.email, leads.c.attributes)
            .where(leads.c.id > after)
            .order_by(leads.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            return
        updates = [
            {"lead_id": row.id, "account": account}
            for row in rows
            if (account := account_of(Lead(row.id, row.email, attributes=row.attributes or {})))
        ]
        if updates:
            bind.execute(
                leads.update()
                .where(leads.c.id == sa.bindparam("lead_id"))
                .values(account=sa.bindparam("account")),
                updates,
            )
        after = rows[-1].id


def downgrade() -> None:
    op.drop_table("account_send_locks")
    op.drop_index("ix_leads_account", "leads")
    # a plain DROP COLUMN (SQLite 3.35+), not a batch: the batch would copy and drop the leads
    # table, and with foreign keys on, the drop cascades to every row that references a lead
    op.drop_column("leads", "account")
