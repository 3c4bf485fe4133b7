"""The Report: every figure as a field whose description is its definition (written once: the
CLI, the API's OpenAPI schema and the dashboard all read it from here), and `report()`, which
counts them from the store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from agent.analytics.drafts import Spread, by_outcome, edit_distance_by_stage, hours_to_decision
from agent.analytics.groups import in_funnel_order
from agent.analytics.mail import mail_feedback
from agent.analytics.stages import stages_by_week
from agent.analytics.window import iso_week, since_filter
from agent.store.database import Database
from agent.store.schema import ApprovalRow, DecisionChangeRow, HandoffRow, LeadDecisionRow, SendRow

ACCEPTED = ("accepted", "closed")
"""Hand-off states that mean sales took it (closed follows accepted)."""
WINDOW = ("since", "until")
"""The Report's fields that say what was counted, not figures."""

_MAIL = (
    "sends = emails sent (sends.status sent, attempted at or after --since); opens, clicks, "
    "replies, bounces, unsubscribes = mail events of those types (email_open, email_click, "
    "email_reply, email_bounce, unsubscribe) at or after --since whose Message-ID "
    "(events.properties message_id) is one of our sends. Events matched only by address, or "
    "to no send, are not counted."
)
_SPREAD = "median and p75 (75th percentile, linear interpolation between the closest ranks)"


class Report(BaseModel):
    """The analytics figures from --since (every row when null) up to `until`."""

    model_config = ConfigDict(frozen=True)

    since: datetime | None = Field(
        description="Counted from this moment; null: from the first row."
    )
    until: datetime = Field(description="The store as it was at this moment.")
    leads_by_stage: dict[str, int] = Field(
        description="Leads by the stage of their latest recorded decision, now (whatever "
        "--since says): lead_decisions by stage."
    )
    mqls: int = Field(
        description="MQLs: leads that became hot at or after --since, counted once per time a "
        "recorded decision turned a lead hot from not hot (or a first decision found it hot): "
        "decision_changes with to_hot and not from_hot."
    )
    mqls_by_week: dict[str, int] = Field(
        description="The MQLs by the ISO week (UTC) of the decision that made them hot."
    )
    handoffs: int = Field(
        description="Hand-offs to sales recorded at or after --since (handoffs.created_at)."
    )
    handoffs_delivered: int = Field(
        description="Of those hand-offs, the ones whose webhook reached the CRM "
        "(webhook_status delivered)."
    )
    handoffs_accepted: int = Field(
        description="Of those hand-offs, the ones sales accepted: handoffs.state accepted "
        "or closed (a hand-off is closed only after it was accepted)."
    )
    leads_by_stage_by_week: dict[str, dict[str, int]] = Field(
        description="Leads by stage over time: for each ISO week (UTC) from --since (or the "
        "first recorded decision) to now, each lead counted in the stage of its latest "
        "decision_changes row at the end of that week (at now for the current week); leads "
        "with no recorded decision by then are not counted."
    )
    drafts_by_outcome: dict[str, int] = Field(
        description="Drafts answered at or after --since (approvals.decided_at), by answer: "
        "accepted (sent as drafted), edited (sent after a person changed it), responded (sent "
        "back for another draft), ignored (discarded)."
    )
    median_hours_to_decision: float | None = Field(
        description="Median hours from a draft's creation to its answer, over the drafts "
        "answered at or after --since; none when no draft was answered."
    )
    hours_to_decision_by_stage: dict[str, Spread] = Field(
        description="Per stage the lead was in when the draft was made (approvals.decision "
        "stage): answered = drafts answered at or after --since (any answer), and the "
        f"{_SPREAD} of the hours from each one's creation to its answer."
    )
    edit_distance_by_stage: dict[str, Spread] = Field(
        description="Per stage the lead was in when the draft was made: edited = drafts "
        f"answered 'edited' at or after --since, and the {_SPREAD} of the edit distance between "
        "the draft as written (approvals subject and body) and the text the person approved to "
        "send (final_subject and final_body): 1 - 2·LCS/(|a| + |b|) over the characters of the "
        "two texts (subject, blank line, body; line endings and trailing blanks ignored), LCS "
        "being their longest common subsequence: 0 for no change, 1 for nothing in common. "
        "The sent email differs from the approved text only by its freshly signed unsubscribe "
        "link."
    )
    drafts_waiting: int = Field(
        description="Drafts waiting for a person now (approvals pending), whatever --since says."
    )
    sends_by_status: dict[str, int] = Field(
        description="Emails attempted at or after --since (sends.attempted_at), by status: "
        "sent, failed (nothing went out), needs_check (uncertain), blocked (refused at send "
        "time), sending (under way)."
    )
    mail_by_stage: dict[str, dict[str, int]] = Field(
        description="Per stage the lead was in when the draft was made (approvals.decision "
        f"stage): {_MAIL}"
    )
    mail_by_drafter: dict[str, dict[str, int]] = Field(
        description="The same counts as mail_by_stage, per drafter of the sent draft "
        "(approvals.drafter: template or the model)."
    )
    mail_by_rule: dict[str, dict[str, int]] = Field(
        description="The same counts as mail_by_stage, per playbook rule that chose to write "
        "the sent draft (the action rule of the decision recorded on its approval: "
        "approvals.decision reasons[0].rule)."
    )
    mail_by_asset: dict[str, dict[str, int]] = Field(
        description="The same counts as mail_by_stage, per content asset the sent draft cites "
        "(approvals.cited_asset_ids): a draft citing two assets counts under each, one citing "
        "none under '(no asset)'."
    )

    def each_figure(self) -> list[Figure]:
        """Every figure with its definition, in the order they are shown."""
        return [Figure(name, getattr(self, name), text) for name, text in DEFINITIONS.items()]


@dataclass(frozen=True, slots=True)
class Figure:
    name: str
    value: Any
    definition: str


DEFINITIONS: dict[str, str] = {
    name: field.description or ""
    for name, field in Report.model_fields.items()
    if name not in WINDOW
}


def report(db: Database, *, since: datetime | None, now: datetime) -> Report:
    """The figures from `since` (every row when None) up to the store as it is at `now`."""
    with db.session() as session:
        mqls_by_week = _mqls_by_week(session, since)
        handoffs = _handoffs(session, since)
        waits = hours_to_decision(session, since)
        mail = mail_feedback(session, since)
        return Report(
            since=since,
            until=now,
            leads_by_stage=in_funnel_order(_grouped(session, LeadDecisionRow.stage)),
            mqls=sum(mqls_by_week.values()),
            mqls_by_week=mqls_by_week,
            handoffs=handoffs["all"],
            handoffs_delivered=handoffs["delivered"],
            handoffs_accepted=handoffs["accepted"],
            leads_by_stage_by_week=stages_by_week(session, since, now),
            drafts_by_outcome=by_outcome(session, since),
            median_hours_to_decision=waits.median_hours,
            hours_to_decision_by_stage=waits.by_stage,
            edit_distance_by_stage=edit_distance_by_stage(session, since),
            drafts_waiting=session.scalar(
                select(func.count()).where(ApprovalRow.status == "pending")
            )
            or 0,
            sends_by_status=_grouped(session, SendRow.status, since, SendRow.attempted_at),
            mail_by_stage=in_funnel_order(mail["stage"]),
            mail_by_drafter=mail["drafter"],
            mail_by_rule=mail["rule"],
            mail_by_asset=mail["asset"],
        )


def _mqls_by_week(session: Session, since: datetime | None) -> dict[str, int]:
    """Grouped in the database by the moment (many MQLs share a decision's moment), then by
    week here: ISO weeks are spelled differently by each SQL dialect."""
    at = DecisionChangeRow.at
    query = since_filter(
        select(at, func.count())
        .where(
            DecisionChangeRow.to_hot.is_(True),
            or_(DecisionChangeRow.from_hot.is_(None), DecisionChangeRow.from_hot.is_(False)),
        )
        .group_by(at),
        at,
        since,
    )
    weeks: dict[str, int] = {}
    for moment, count in session.execute(query.execution_options(yield_per=1_000)):
        weeks[iso_week(moment)] = weeks.get(iso_week(moment), 0) + count
    return weeks


def _handoffs(session: Session, since: datetime | None) -> dict[str, int]:
    query = since_filter(
        select(
            func.count(),
            func.count().filter(HandoffRow.webhook_status == "delivered"),
            func.count().filter(HandoffRow.state.in_(ACCEPTED)),
        ),
        HandoffRow.created_at,
        since,
    )
    every, delivered, accepted = session.execute(query).one()
    return {"all": every, "delivered": delivered, "accepted": accepted}


def _grouped(
    session: Session, column: Any, since: datetime | None = None, moment: Any = None
) -> dict[str, int]:
    query = since_filter(select(column, func.count()).group_by(column), moment, since)
    return {value: count for value, count in session.execute(query)}
