"""Replace lone UTF-16 surrogates written before input refused them with U+FFFD, so no stored
row breaks a read (issue #10).

Where such a value can be, found by experiment:
- SQLite, JSON columns: json.dumps wrote it as the escape `\\ud800`, which orjson refuses to
  read back ("no low surrogate"): every read of the row failed. Cleaned here.
- SQLite, text columns: never; Python's sqlite3 refuses to encode a surrogate, so the write
  failed.
- PostgreSQL: never; jsonb refuses the escape ("Unicode low surrogate must follow a high
  surrogate") and psycopg cannot encode a surrogate for text, so the write failed (with its
  whole batch). Nothing to clean.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import json
import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# every JSON column a client's text can reach, as of revision 0004: table -> (key, columns)
JSON_COLUMNS = {
    "leads": ("id", ("attributes",)),
    "events": ("id", ("properties",)),
    "approvals": ("id", ("cited_asset_ids", "lead_facts_used", "violations", "decision")),
}
LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        return  # see above: PostgreSQL never stored one
    for table, (key, columns) in JSON_COLUMNS.items():
        for column in columns:
            # only rows holding an escape from \ud000 on (LIKE ignores case) can hold one
            candidates = bind.execute(
                sa.text(f"SELECT {key}, {column} FROM {table} WHERE {column} LIKE '%\\ud%'")
            ).all()
            for row_key, stored in candidates:
                cleaned = _cleaned(stored)
                if cleaned is not None:
                    bind.execute(
                        sa.text(f"UPDATE {table} SET {column} = :value WHERE {key} = :key"),
                        {"value": cleaned, "key": row_key},
                    )


def _cleaned(stored: str) -> str | None:
    """The JSON text with each lone surrogate (in keys and strings, at any depth) replaced, or
    None when it holds none. Python's json reads what orjson refuses, and joins escaped pairs
    into one character, so any surrogate left in its output stands alone."""
    text = json.dumps(json.loads(stored), ensure_ascii=False)
    if not LONE_SURROGATE.search(text):
        return None
    return json.dumps(json.loads(LONE_SURROGATE.sub("\ufffd", text)))


def downgrade() -> None:
    pass  # the replaced surrogates were never valid text: there is nothing to restore
