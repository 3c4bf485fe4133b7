"""Analytics from the store: what the playbook and the people did, counted from the tables.
The same figures reach `nurture report`, GET /v1/analytics/summary (and, later, a dashboard);
each one's definition lives next to it here, and a test recounts every figure by raw SQL."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from statistics import median
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from agent.store.approvals import STATUS_FOR
from agent.store.database import Database
from agent.store.schema import (
    ApprovalRow,
    DecisionChangeRow,
    EventRow,
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
    "handoffs_accepted": "Of those hand-offs, the ones sales accepted: handoffs.state accepted "
    "or closed (a hand-off is closed only after it was accepted).",
    "leads_by_stage_by_week": "Leads by stage over time: for each ISO week (UTC) from --since "
    "(or the first recorded decision) to now, each lead counted in the stage of its latest "
    "decision_changes row at the end of that week (at now for the current week); leads with "
    "no recorded decision by then are not counted.",
    "drafts_by_outcome": "Drafts answered at or after --since (approvals.decided_at), by answer: "
    "accepted (sent as drafted), edited (sent after a person changed it), responded (sent back "
    "for another draft), ignored (discarded).",
    "median_hours_to_decision": "Median hours from a draft's creation to its answer, over the "
    "drafts answered at or after --since; none when no draft was answered.",
    "drafts_waiting": "Drafts waiting for a person now (approvals pending), whatever --since says.",
    "sends_by_status": "Emails attempted at or after --since (sends.attempted_at), by status: "
    "sent, failed (nothing went out), needs_check (uncertain), blocked (refused at send time), "
    "sending (under way).",
    "mail_by_stage": "Per stage the lead was in when the draft was made (approvals.decision "
    "stage): sends = emails sent (sends.status sent, attempted at or after --since); opens, "
    "clicks, replies, bounces, unsubscribes = mail events of those types (email_open, "
    "email_click, email_reply, email_bounce, unsubscribe) at or after --since whose Message-ID "
    "(events.properties message_id) is one of our sends. Events matched only by address, or "
    "to no send, are not counted.",
    "mail_by_drafter": "The same counts as mail_by_stage, per drafter of the sent draft "
    "(approvals.drafter: template or the model).",
}
MAIL_FIGURES: dict[str, str] = {
    "email_open": "opens",
    "email_click": "clicks",
    "email_reply": "replies",
    "email_bounce": "bounces",
    "unsubscribe": "unsubscribes",
}
"""The mail event types counted, and the figure each one is counted in."""
MAIL_COLUMNS = ("sends", *MAIL_FIGURES.values())
ANSWERED = tuple(STATUS_FOR.values())
ACCEPTED = ("accepted", "closed")
"""Hand-off states that mean sales took it (closed follows accepted)."""


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
    handoffs_accepted: int
    leads_by_stage_by_week: dict[str, dict[str, int]]
    drafts_by_outcome: dict[str, int]
    median_hours_to_decision: float | None
    drafts_waiting: int
    sends_by_status: dict[str, int]
    mail_by_stage: dict[str, dict[str, int]]
    mail_by_drafter: dict[str, dict[str, int]]

    def figures(self) -> list[Figure]:
        """Every figure with its definition, in the order they are shown."""
        return [Figure(name, getattr(self, name), text) for name, text in DEFINITIONS.items()]


def report(db: Database, *, since: datetime | None, now: datetime) -> Report:
    """The figures from `since` (every row when None) up to the store as it is at `now`."""
    with db.session() as session:
        mql_moments = list(session.scalars(_since(_mqls(), DecisionChangeRow.at, since)))
        handoff_rows = session.execute(
            _since(
                select(HandoffRow.webhook_status, HandoffRow.state), HandoffRow.created_at, since
            )
        ).all()
        handoffs = Counter(status for status, _ in handoff_rows)
        mail_by_stage, mail_by_drafter = _mail_feedback(session, since)
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
            handoffs_accepted=sum(1 for _, state in handoff_rows if state in ACCEPTED),
            leads_by_stage_by_week=_stages_by_week(session, since, now),
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
            mail_by_stage=mail_by_stage,
            mail_by_drafter=mail_by_drafter,
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


def _mail_feedback(
    session: Session, since: datetime | None
) -> tuple[dict[str, dict[str, int]], dict[str, dict[str, int]]]:
    """Sends and the mail events matched to them by Message-ID, per stage and per drafter."""
    sent = session.execute(
        select(
            SendRow.message_id,
            SendRow.status,
            SendRow.attempted_at,
            ApprovalRow.decision,
            ApprovalRow.drafter,
        ).join(ApprovalRow, ApprovalRow.id == SendRow.approval_id)
    ).all()
    groups = {
        message_id: (str((decision or {}).get("stage")), drafter)
        for message_id, _, _, decision, drafter in sent
    }
    by_stage: dict[str, Counter[str]] = {}
    by_drafter: dict[str, Counter[str]] = {}

    def count(group: tuple[str, str], figure: str) -> None:
        by_stage.setdefault(group[0], Counter())[figure] += 1
        by_drafter.setdefault(group[1], Counter())[figure] += 1

    for message_id, status, attempted_at, _, _ in sent:
        if status == "sent" and (since is None or attempted_at >= since):
            count(groups[message_id], "sends")
    events = session.execute(
        _since(
            select(EventRow.type, EventRow.properties).where(EventRow.type.in_(MAIL_FIGURES)),
            EventRow.occurred_at,
            since,
        )
    )
    for kind, properties in events:
        group = groups.get((properties or {}).get("message_id", ""))
        if group is not None:
            count(group, MAIL_FIGURES[kind])
    return _table(by_stage), _table(by_drafter)


def _table(counts: dict[str, Counter[str]]) -> dict[str, dict[str, int]]:
    return {group: {c: row[c] for c in MAIL_COLUMNS} for group, row in sorted(counts.items())}


def _stages_by_week(
    session: Session, since: datetime | None, now: datetime
) -> dict[str, dict[str, int]]:
    """Replays the stage changes in order; after each week's end, snapshots every lead's stage."""
    changes = session.execute(
        select(DecisionChangeRow.lead_id, DecisionChangeRow.at, DecisionChangeRow.to_stage)
        .where(DecisionChangeRow.at <= now)
        .order_by(DecisionChangeRow.at, DecisionChangeRow.id)
    ).all()
    start = since if since is not None else (changes[0][1] if changes else None)
    if start is None:
        return {}
    monday = (start - timedelta(days=start.weekday())).replace(
        hour=0, minute=0, second=0, microsecond=0
    )
    stage_of: dict[str, str] = {}
    weeks: dict[str, dict[str, int]] = {}
    position = 0
    while monday <= now:
        end = min(monday + timedelta(days=7), now)
        while position < len(changes) and changes[position][1] <= end:
            lead_id, _, stage = changes[position]
            stage_of[lead_id] = stage
            position += 1
        weeks[_iso_week(monday)] = dict(Counter(stage_of.values()))
        monday += timedelta(days=7)
    return weeks
