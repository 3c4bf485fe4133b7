"""What a draft is counted by: the stage, the rule and the assets recorded on its approval, as
SQL expressions (the same on SQLite and PostgreSQL), and the order stage tables are shown in."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func

from agent.playbook import STAGES
from agent.store.schema import ApprovalRow

UNKNOWN = "(unknown)"
"""The group of a draft whose decision does not say (a row written before it was recorded)."""


def stage_of_draft() -> Any:
    """The stage the lead was in when the draft was made (approvals.decision stage)."""
    return func.coalesce(ApprovalRow.decision["stage"].as_string(), UNKNOWN)


def rule_of_draft() -> Any:
    """The action rule that chose to write the draft: the decision's first reason."""
    return func.coalesce(ApprovalRow.decision[("reasons", 0, "rule")].as_string(), UNKNOWN)


def in_funnel_order(table: dict[str, Any]) -> dict[str, Any]:
    """Stage rows awareness → decision, anything else after them by name."""
    rank: dict[str, int] = {stage: n for n, stage in enumerate(STAGES)}
    return dict(sorted(table.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))
