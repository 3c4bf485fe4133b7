"""Analytics from the store: what the playbook and the people did, counted from the tables.
The same figures reach `nurture report`, GET /v1/analytics/summary (and, later, a dashboard);
each one's definition lives next to it here, and a test recounts every figure by raw SQL."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from statistics import median
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from agent.store.approvals import STATUS_FOR
from agent.store.database import Database
from agent.store.schema import (
    ApprovalRow,
    DecisionChangeRow,
    HandoffRow,
    LeadDecisionRow,
    SendRow,
)

DEFINITIONS: dict[str, str] = {
    "leads_by_stage": "Leads by the stage of their latest recorded decision, now (whatever "
    "--since says): lead_decisions by stage.",
    "mqls": "MQLs: leads that became hot at or after --since, counted once per time a recorded "
    "decision turned a lead hot from not hot (or a first decision found it hot): "
    "decision_changes with to_hot and not from_hot.",
    "mqls_by_week": "The MQLs by the ISO week (UTC) of the decision that made them hot.",
    "handoffs": "Hand-offs to sales recorded at or after --since (handoffs.created_at).",
    "handoffs_delivered": "Of those hand-offs, the ones whose webhook reached the CRM "
    "(webhook_status delivered).",
    "drafts_by_outcome": "Drafts answered at or after --since (approvals.decided_at), by answer: "
    "accepted (sent as drafted), edited (sent after a person changed it), responded (sent back "
    "for another draft), ignored (discarded).",
    "median_hours_to_decision": "Median hours from a draft's creation to its answer, over the "
    "drafts answered at or after --since; none when no draft was answered.",
    "drafts_waiting": "Drafts waiting for a person now (approvals pending), whatever --since says.",
    "sends_by_status": "Emails attempted at or after --since (sends.attempted_at), by status: "
    "sent, failed (nothing went out), needs_check (uncertain), blocked (refused at send time), "
    "sending (under way).",
}
ANSWERED = tuple(STATUS_FOR.values())


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: Any
    definition: str


@dataclass(frozen=True, slots=True)
class Report:
    since: datetime | None
    until: datetime
    leads_by_stage: dict[str, int]
    mqls: int
    mqls_by_week: dict[str, int]
    handoffs: int
    handoffs_delivered: int
    drafts_by_outcome: dict[str, int]
    median_hours_to_decision: float | None
    drafts_waiting: int
    sends_by_status: dict[str, int]

    def figures(self) -> list[Figure]:
        """Every figure with its definition, in the order they are shown."""
        return [Figure(name, getattr(self, name), text) for name, text in DEFINITIONS.items()]


def report(db: Database, *, since: datetime | None, now: datetime) -> Report:
    """The figures from `since` (every row when None) up to the store as it is at `now`."""
    with db.session() as session:
        mql_moments = list(session.scalars(_since(_mqls(), DecisionChangeRow.at, since)))
        handoffs = Counter(
            session.scalars(_since(select(HandoffRow.webhook_status), HandoffRow.created_at, since))
        )
        answered = session.execute(
            _since(
                select(ApprovalRow.status, ApprovalRow.created_at, ApprovalRow.decided_at).where(
                    ApprovalRow.status.in_(ANSWERED)
                ),
                ApprovalRow.decided_at,
                since,
            )
        ).all()
        return Report(
            since=since,
            until=now,
            leads_by_stage=_grouped(session, LeadDecisionRow.stage),
            mqls=len(mql_moments),
            mqls_by_week=dict(Counter(_iso_week(at) for at in mql_moments)),
            handoffs=sum(handoffs.values()),
            handoffs_delivered=handoffs["delivered"],
            drafts_by_outcome=dict(Counter(status for status, _, _ in answered)),
            median_hours_to_decision=_median_hours(
                [(decided - created).total_seconds() / 3600 for _, created, decided in answered]
            ),
            drafts_waiting=session.scalar(
                select(func.count()).where(ApprovalRow.status == "pending")
            )
            or 0,
            sends_by_status={
                status: count
                for status, count in session.execute(
                    _since(
                        select(SendRow.status, func.count()).group_by(SendRow.status),
                        SendRow.attempted_at,
                        since,
                    )
                )
            },
        )


def _mqls() -> Select[datetime]:
    return select(DecisionChangeRow.at).where(
        DecisionChangeRow.to_hot.is_(True),
        or_(DecisionChangeRow.from_hot.is_(None), DecisionChangeRow.from_hot.is_(False)),
    )


def _since(query: Any, column: Any, since: datetime | None) -> Any:
    return query if since is None else query.where(column >= since)


def _grouped(session: Session, column: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).group_by(column))
    return {value: count for value, count in rows}


def _iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _median_hours(hours: list[float]) -> float | None:
    return median(hours) if hours else None
