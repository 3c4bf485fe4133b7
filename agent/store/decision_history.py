"""Decision history: the changes of a lead's stage, action or hot flag, as they were decided.
Written by record_decisions (agent/store/decisions.py) in the transaction that moves the latest
decision, so the history and lead_decisions never disagree."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import false, insert, select, update
from sqlalchemy.orm import Session

from agent.decisions import Decision
from agent.store.database import Database
from agent.store.schema import DecisionChangeRow, LeadDecisionRow

CHUNK = 500
"""Lead ids per lookup of the decisions in force (SQLite limits bound parameters)."""


@dataclass(frozen=True, slots=True)
class _Standing:
    """What a lead's latest decision says, as far as the history cares."""

    stage: str
    action: str
    hot: bool
    at: datetime


def write_changes(
    session: Session, decisions: Sequence[tuple[Decision, str]]
) -> list[tuple[Decision, str]]:
    """Records the changes `decisions` make, each compared with the decision just before it in
    time (stored or in the batch), and returns the latest decision per lead to store. A decision
    older than the one stored changes nothing (it was overtaken)."""
    if session.get_bind().dialect.name == "sqlite":
        # take the write lock before reading what stands: pysqlite starts the transaction only
        # at the first write, and a writer in between would make us compare with a stale row
        session.execute(update(LeadDecisionRow).where(false()).values(stage="x"))
    standing = _standing(session, sorted({d.lead_id for d, _ in decisions}))
    latest: dict[str, tuple[Decision, str]] = {}
    changes: list[dict[str, Any]] = []
    for decision, version in sorted(decisions, key=lambda item: item[0].at):
        before = standing.get(decision.lead_id)
        if before is not None and before.at > decision.at:
            continue
        now = _Standing(decision.stage, decision.action, decision.score.hot, decision.at)
        if before is None or (before.stage, before.action, before.hot) != (
            now.stage,
            now.action,
            now.hot,
        ):
            changes.append(_change_row(decision, version, before))
        standing[decision.lead_id] = now
        latest[decision.lead_id] = (decision, version)
    if changes:
        session.execute(insert(DecisionChangeRow), changes)
    return list(latest.values())


def _standing(session: Session, lead_ids: list[str]) -> dict[str, _Standing]:
    found: dict[str, _Standing] = {}
    for start in range(0, len(lead_ids), CHUNK):
        query = select(
            LeadDecisionRow.lead_id,
            LeadDecisionRow.stage,
            LeadDecisionRow.action,
            LeadDecisionRow.hot,
            LeadDecisionRow.decided_at,
        ).where(LeadDecisionRow.lead_id.in_(lead_ids[start : start + CHUNK]))
        # PostgreSQL: a concurrent writer of the same leads waits, so it compares with ours
        for lead_id, stage, action, hot, at in session.execute(query.with_for_update()):
            found[lead_id] = _Standing(stage, action, hot, at)
    return found


def _change_row(decision: Decision, version: str, before: _Standing | None) -> dict[str, Any]:
    return {
        "lead_id": decision.lead_id,
        "at": decision.at,
        "from_stage": before.stage if before else None,
        "to_stage": decision.stage,
        "from_action": before.action if before else None,
        "to_action": decision.action,
        "from_hot": before.hot if before else None,
        "to_hot": decision.score.hot,
        "playbook_version": version,
        "rule": decision.reasons[0].rule,
        "stage_rule": decision.reasons[1].rule,
    }


def lead_history(db: Database, lead_id: str) -> list[DecisionChangeRow]:
    """A lead's changes, oldest first."""
    query = (
        select(DecisionChangeRow)
        .where(DecisionChangeRow.lead_id == lead_id)
        .order_by(DecisionChangeRow.at, DecisionChangeRow.id)
    )
    with db.session() as session:
        return list(session.scalars(query))
