"""Durable runs: a run's status lives in the database (queued, running by which worker since
when, failed with why and how many attempts), and the database holds one draft run queued or
running and one pending draft per lead (partial unique indexes, so every replica and the CLI
meet the same rule).

Rows the old code could leave behind that the new indexes would refuse are settled first, and
none is deleted: of two unfinished runs of one lead the newest stays running (`nurture recover`
takes it) and the others become failed with the reason; of two pending drafts of one lead the
oldest stays in the inbox and the others become `superseded`.

On PostgreSQL it also creates procrastinate's tables (the job queue of agent/jobs/queue.py),
so `nurture db-upgrade` sets up everything a worker needs.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ACTIVE = "outcome IN ('queued', 'running')"
PENDING = "status = 'pending'"


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("worker", sa.String(120)))
        batch.add_column(sa.Column("running_since", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("error", sa.Text))
    op.execute("UPDATE runs SET outcome = 'running' WHERE outcome = 'started'")
    op.execute(
        "UPDATE runs SET outcome = 'failed', error = 'interrupted before the upgrade to durable "
        "runs; a newer run of this lead was also unfinished' "
        f"WHERE {ACTIVE} AND EXISTS (SELECT 1 FROM runs newer WHERE newer.lead_id = runs.lead_id "
        "AND newer.outcome IN ('queued', 'running') AND (newer.started_at > runs.started_at OR "
        "(newer.started_at = runs.started_at AND newer.thread_id > runs.thread_id)))"
    )
    op.execute(
        "UPDATE approvals SET status = 'superseded', feedback = 'another draft of this lead "
        "was already waiting when the upgrade to one pending draft per lead ran' "
        f"WHERE {PENDING} AND EXISTS (SELECT 1 FROM approvals older WHERE older.lead_id = "
        "approvals.lead_id AND older.status = 'pending' AND (older.created_at < "
        "approvals.created_at OR (older.created_at = approvals.created_at AND older.id < "
        "approvals.id)))"
    )
    op.create_index(
        "uq_runs_active_lead",
        "runs",
        ["lead_id"],
        unique=True,
        sqlite_where=sa.text(ACTIVE),
        postgresql_where=sa.text(ACTIVE),
    )
    op.create_index(
        "uq_approvals_pending_lead",
        "approvals",
        ["lead_id"],
        unique=True,
        sqlite_where=sa.text(PENDING),
        postgresql_where=sa.text(PENDING),
    )

    bind = op.get_bind()
    # the tables stay on a downgrade (see there): an upgrade after one finds them in place
    if bind.dialect.name == "postgresql" and not bind.scalar(
        sa.text("SELECT to_regclass('procrastinate_jobs') IS NOT NULL")
    ):
        from procrastinate.schema import SchemaManager

        # through the driver: the schema's own % and :: would be read as bind parameters
        cursor = op.get_bind().connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        cursor.execute(SchemaManager.get_schema())
        cursor.close()


def downgrade() -> None:
    # procrastinate's tables stay: procrastinate ships no script that removes them, and they
    # hold no data of ours

    op.drop_index("uq_approvals_pending_lead", "approvals")
    op.drop_index("uq_runs_active_lead", "runs")
    op.execute("UPDATE runs SET outcome = 'started' WHERE outcome IN ('queued', 'running')")
    # in place, not a batch copy: on SQLite the copy drops `runs`, and ON DELETE CASCADE
    # would empty approvals, sends and send_actions (SQLite 3.35+ drops a plain column itself)
    for column in ("error", "attempts", "running_since", "worker"):
        op.drop_column("runs", column)
