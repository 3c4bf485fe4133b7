"""Tables. Changing one means adding an Alembic migration under migrations/versions/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

JsonDict = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware in Python, UTC in the database (SQLite has no time zones of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: a time zone is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def result_processor(self, dialect: Dialect, coltype: object) -> Any:
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        # SQLite holds our UTC values as ISO text: parse them with their zone in one C call
        # (timelines read thousands; the generic parse-then-replace path was the hot spot).
        def parse(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value + "+00:00")

        return parse


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JsonDict, datetime: UTCDateTime}


class LeadRow(Base):
    __tablename__ = "leads"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    email: Mapped[str] = mapped_column(String(320))
    # the rep who owns the lead in the CRM: hand-off routing and the reps' filters read it
    owner: Mapped[str | None] = mapped_column(String(320), index=True)
    # indexed for the guardrail that looks up other leads' names and companies in every draft
    name: Mapped[str | None] = mapped_column(String(200), index=True)
    company: Mapped[str | None] = mapped_column(String(200), index=True)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    do_not_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    # the account (buying committee) the lead belongs to (agent.accounts): set on every upsert,
    # indexed for the account page and the one-email-per-account check at send time
    account: Mapped[str | None] = mapped_column(String(255), index=True)
    # Derived by the playbook whose fingerprint is in derived_by; re-derived when it changes.
    fit_points: Mapped[float | None] = mapped_column(Float)
    derived_by: Mapped[str | None] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


# events and Segment messages may name their lead by address, in any letter case
Index("ix_leads_email_lower", func.lower(LeadRow.email))


class EventRow(Base):
    __tablename__ = "events"
    __table_args__ = (
        # Covers the timeline read and the bulk re-score without touching the table itself.
        Index("ix_events_lead_time", "lead_id", "occurred_at", "points", "half_life_days"),
        # `nurture run`'s candidates: did an event arrive after the recorded decision? One seek
        Index("ix_events_lead_received", "lead_id", "received_at"),
    )

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]
    signal: Mapped[str | None] = mapped_column(String(64))
    points: Mapped[float | None] = mapped_column(Float)
    half_life_days: Mapped[float | None] = mapped_column(Float)
    derived_by: Mapped[str | None] = mapped_column(String(16), index=True)


class LeadScoreRow(Base):
    __tablename__ = "lead_scores"
    __table_args__ = (Index("ix_lead_scores_hot_total", "hot", "total"),)

    lead_id: Mapped[str] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    attribute: Mapped[float] = mapped_column(Float)
    behaviour: Mapped[float] = mapped_column(Float)
    total: Mapped[float] = mapped_column(Float)
    hot: Mapped[bool] = mapped_column(Boolean)
    scored_at: Mapped[datetime]
    playbook_version: Mapped[str] = mapped_column(String(64))


ACTIVE_RUN = ("queued", "running")
"""Run statuses (the `outcome` column) of a run that has not ended: one per lead at a time."""


class RunRow(Base):
    """One pass of the agent over a lead (a LangGraph thread): its status while it is queued or
    running, then where it ended (awaiting_approval, sent, suppressed, failed, ...)."""

    __tablename__ = "runs"
    __table_args__ = (
        # one draft run per lead until it ends, whichever replica, worker or CLI started it
        Index(
            "uq_runs_active_lead",
            "lead_id",
            unique=True,
            sqlite_where=text("outcome IN ('queued', 'running')"),
            postgresql_where=text("outcome IN ('queued', 'running')"),
        ),
        # /metrics counts runs by outcome on every scrape: from this index, not the rows
        Index("ix_runs_outcome", "outcome"),
    )

    thread_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    action: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    playbook_version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    worker: Mapped[str | None] = mapped_column(String(120))
    """Who runs it (host:pid) while it is running, or who last did."""
    running_since: Mapped[datetime | None]
    # server-side only: writes that predate the column (old-revision tests) leave it out
    attempts: Mapped[int] = mapped_column(Integer, server_default="0")
    error: Mapped[str | None] = mapped_column(Text)
    """Why the last attempt failed."""
    retry_at: Mapped[datetime | None]
    """While queued after a failed attempt: when the job queue runs it again."""


class ApprovalRow(Base):
    """A draft waiting for (or decided by) a human: the inbox is the pending rows."""

    __tablename__ = "approvals"
    __table_args__ = (
        Index("ix_approvals_status_created", "status", "created_at"),
        # one draft per lead in the inbox: a second would ask the same reviewer the same thing
        Index(
            "uq_approvals_pending_lead",
            "lead_id",
            unique=True,
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    thread_id: Mapped[str] = mapped_column(
        ForeignKey("runs.thread_id", ondelete="CASCADE"), index=True
    )
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    cited_asset_ids: Mapped[list[str]] = mapped_column(JsonDict, default=list)
    lead_facts_used: Mapped[list[str]] = mapped_column(JsonDict, default=list)
    drafter: Mapped[str] = mapped_column(String(80))
    prompt_version: Mapped[str] = mapped_column(String(64))
    playbook_version: Mapped[str] = mapped_column(String(64))
    violations: Mapped[list[dict[str, Any]]] = mapped_column(JsonDict, default=list)
    decision: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    notes: Mapped[list[str] | None] = mapped_column(JsonDict)
    """What the drafter says the reviewer should know (feedback it could not apply, …)."""
    answer: Mapped[str | None] = mapped_column(String(16))
    decided_by: Mapped[str | None] = mapped_column(String(120))
    decided_at: Mapped[datetime | None]
    feedback: Mapped[str | None] = mapped_column(Text)
    final_subject: Mapped[str | None] = mapped_column(Text)
    final_body: Mapped[str | None] = mapped_column(Text)
    guardrails_overridden_by: Mapped[str | None] = mapped_column(String(120))
    """Who accepted this draft unchanged although its guardrails had failed."""
    guardrails_overridden: Mapped[list[str] | None] = mapped_column(JsonDict)
    """The rules of the failed checks they overrode."""
    experiments: Mapped[dict[str, str] | None] = mapped_column(JsonDict)
    """Experiment id → the variant the draft was written with (its send carries the same)."""


class SendRow(Base):
    """The send of one approved draft, as a state machine keyed to the approval.

    sending -> sent; sending -> needs_check (the process stopped between the SMTP server
    accepting and this row being updated: a human checks, nothing is re-sent); blocked (the
    re-check at send time said no); failed (refused before acceptance). A person may take a
    failed one, or a needs_check one they checked, back to sending (send_actions records it),
    or mark a needs_check one sent. Outside the playbook's send window an approved email waits
    as scheduled (until `scheduled_for`, in the lead's `send_zone`) -> sending, or cancelled by a
    person; the claim from scheduled to sending is what makes its delayed send happen once."""

    __tablename__ = "sends"

    approval_id: Mapped[str] = mapped_column(
        ForeignKey("approvals.id", ondelete="CASCADE"), primary_key=True
    )
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[str] = mapped_column(String(200), unique=True)
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    attempted_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    scheduled_for: Mapped[datetime | None] = mapped_column(index=True)
    """When a send waiting for the window goes out (UTC); None for one sent at approval."""
    send_zone: Mapped[str | None] = mapped_column(String(64))
    """The lead's time zone the window was read in (IANA name)."""


class SendActionRow(Base):
    """What a person did to a send after the agent let go of it: sent it again (a safe failure,
    or an uncertain one they checked) or said it was delivered. The audit: who, when, from which
    state, and how it ended."""

    __tablename__ = "send_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    approval_id: Mapped[str] = mapped_column(
        ForeignKey("sends.approval_id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(16))
    """resend (a failed send), send_again or delivered (an uncertain one, resolved), cancel (a
    scheduled one)."""
    by: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]
    from_status: Mapped[str] = mapped_column(String(16))
    from_reason: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str | None] = mapped_column(String(16))
    """The send's status after the action (None while a resend is still talking to SMTP)."""
    detail: Mapped[str | None] = mapped_column(Text)


class HandoffRow(Base):
    """A lead handed to sales, and the delivery of its webhook: queued -> retrying (a transient
    failure, another attempt is scheduled) -> delivered or failed (refused, or no attempt
    left); not_configured when no webhook URL is set."""

    __tablename__ = "handoffs"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    """Also the webhook's Idempotency-Key, so the receiver recognises a retried delivery."""
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    rule: Mapped[str] = mapped_column(String(80))
    reason: Mapped[str] = mapped_column(Text)
    webhook_status: Mapped[str] = mapped_column(String(16))
    webhook_error: Mapped[str | None] = mapped_column(Text)
    """The last failed attempt's error (kept after a later delivery: the trouble stays seen)."""
    created_at: Mapped[datetime]
    payload: Mapped[dict[str, Any] | None] = mapped_column(JsonDict)
    """What the webhook is sent: every attempt sends the same bytes."""
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    delivered_at: Mapped[datetime | None]
    state: Mapped[str] = mapped_column(String(16), default="new", server_default="new", index=True)
    """Where sales stands with it: new -> delivered (the rep was told) -> accepted -> closed, or
    recycled back to nurture (agent/handoff_states.py)."""
    assigned_key_id: Mapped[str | None] = mapped_column(String(32), index=True)
    """The rep's API key: the rep who may accept or recycle it."""
    assigned_to: Mapped[str | None] = mapped_column(String(320))
    """The rep's email address (None when no rep with an address exists)."""
    state_changed_at: Mapped[datetime | None]


class HandoffChangeRow(Base):
    """The audit of a hand-off's states: who moved it, when, from where to where, and why."""

    __tablename__ = "handoff_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    handoff_id: Mapped[str] = mapped_column(
        ForeignKey("handoffs.id", ondelete="CASCADE"), index=True
    )
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    by: Mapped[str] = mapped_column(String(120))
    at: Mapped[datetime]
    reason: Mapped[str | None] = mapped_column(Text)


class CounterRow(Base):
    """Named counters shared by every process (hand-off round-robin): incremented in the
    database, so two replicas never hand out the same turn."""

    __tablename__ = "counters"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[int] = mapped_column(Integer)


class ApiKeyRow(Base):
    """An API key: only a hash of its secret is kept; the key itself is shown once."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    role: Mapped[str] = mapped_column(String(16))
    secret_hash: Mapped[str] = mapped_column(String(128))
    email: Mapped[str | None] = mapped_column(String(320))
    """A rep's address: hand-offs are assigned to reps with one, and they are told by email."""
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class LeadDecisionRow(Base):
    """Each lead's latest decision, so leads can be listed by stage, action and heat without
    re-deciding every lead. `decided_at` says how fresh it is."""

    __tablename__ = "lead_decisions"
    __table_args__ = (Index("ix_lead_decisions_stage_action", "stage", "action"),)

    lead_id: Mapped[str] = mapped_column(
        ForeignKey("leads.id", ondelete="CASCADE"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32), index=True)  # `nurture run` selects by it
    wait_until: Mapped[datetime | None]
    total: Mapped[float] = mapped_column(Float)
    hot: Mapped[bool] = mapped_column(Boolean)
    playbook_version: Mapped[str] = mapped_column(String(64))
    decided_at: Mapped[datetime]


class DecisionChangeRow(Base):
    """A change of a lead's stage, action or hot flag, kept from the moment it was decided: the
    lead page's history and the analytics read these. The first decision of a lead is a change
    from nothing (the from_ columns are null)."""

    __tablename__ = "decision_changes"
    __table_args__ = (Index("ix_decision_changes_lead_at", "lead_id", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(index=True)
    """The moment of the decision that made the change (as of which the lead was decided)."""
    from_stage: Mapped[str | None] = mapped_column(String(16))
    to_stage: Mapped[str] = mapped_column(String(16))
    from_action: Mapped[str | None] = mapped_column(String(32))
    to_action: Mapped[str] = mapped_column(String(32))
    from_hot: Mapped[bool | None] = mapped_column(Boolean)
    to_hot: Mapped[bool] = mapped_column(Boolean)
    playbook_version: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(80))
    """The action rule of the new decision."""
    stage_rule: Mapped[str] = mapped_column(String(80))
    """The stage rule of the new decision (stage.default when no interest signal)."""


class AccountSendLockRow(Base):
    """One row per account that was ever sent to: a send's claim writes it first, so claims for
    one account are taken one at a time (agent/store/account_caps.py)."""

    __tablename__ = "account_send_locks"

    account: Mapped[str] = mapped_column(String(255), primary_key=True)
    claims: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PlaybookVersionRow(Base):
    """Every playbook activated through the service, with its text; the newest is in force."""

    __tablename__ = "playbook_versions"

    version: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    activated_by: Mapped[str] = mapped_column(String(120))
    activated_at: Mapped[datetime] = mapped_column(index=True)


class PlaybookPreviewRow(Base):
    """A playbook preview asked for (a job: queued, running, then done or failed). The result
    is what `POST /v1/playbook/preview` answered before it became a job (agent/preview_json.py);
    every replica reads it from here."""

    __tablename__ = "playbook_previews"
    __table_args__ = (
        # one waiting or running preview per candidate and playbook in force, in any process:
        # asking again for the same is answered with the one under way
        Index(
            "uq_playbook_previews_active",
            "text_hash",
            "current_version",
            unique=True,
            sqlite_where=text("status IN ('queued', 'running')"),
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    """The candidate playbook's YAML."""
    text_hash: Mapped[str] = mapped_column(String(64))
    """sha256 of `text`, hex."""
    candidate_version: Mapped[str] = mapped_column(String(64))
    current_version: Mapped[str] = mapped_column(String(64))
    """The version in force when it was asked for: the one the candidate is compared with."""
    requested_by: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    result: Mapped[dict[str, Any] | None] = mapped_column(JsonDict)
    leads_done: Mapped[int] = mapped_column(Integer, default=0)
    leads_total: Mapped[int | None] = mapped_column(Integer)
    worker: Mapped[str | None] = mapped_column(String(120))
    """Who runs it (host:pid) while it is running, or who last did."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(index=True)
    """When it was asked for: the preview decides every lead as of this moment."""
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class PendingEventRow(Base):
    """An event whose lead is not known yet (a Segment message under an anonymousId, or a
    userId no lead has): kept until an identify or alias names the lead, then moved to
    `events` under the same id."""

    __tablename__ = "pending_events"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    anonymous_id: Mapped[str | None] = mapped_column(String(200), index=True)
    user_id: Mapped[str | None] = mapped_column(String(200), index=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime]
    properties: Mapped[dict[str, Any]] = mapped_column(default=dict)
    received_at: Mapped[datetime]


class IdentityLinkRow(Base):
    """Which lead a Segment anonymousId or userId stands for, once an identify or alias said
    so: later messages under that id go straight to the lead."""

    __tablename__ = "identity_links"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    """anonymous or user."""
    value: Mapped[str] = mapped_column(String(200), primary_key=True)
    lead_id: Mapped[str] = mapped_column(ForeignKey("leads.id", ondelete="CASCADE"), index=True)
    linked_at: Mapped[datetime]


class IngestRejectionRow(Base):
    """A message we answered 200 but could not store (Segment clients never read the body):
    kept with its reason, counted in /metrics, listed by `nurture ingest rejections`."""

    __tablename__ = "ingest_rejections"
    __table_args__ = (Index("ix_ingest_rejections_source_reason", "source", "reason_code"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    """source:messageId, so a retried flush records a rejection once."""
    source: Mapped[str] = mapped_column(String(32))
    message_id: Mapped[str | None] = mapped_column(String(200))
    kind: Mapped[str | None] = mapped_column(String(32))
    """The message's type (track, page, identify, ...), as sent."""
    reason_code: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)
    message: Mapped[dict[str, Any] | None] = mapped_column(JsonDict)
    received_at: Mapped[datetime] = mapped_column(index=True)


class ServiceSecretRow(Base):
    """A key the service generated for itself on first use (e.g. the unsubscribe links'
    signing key): one row per purpose, shared by every replica, never a default string."""

    __tablename__ = "service_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))
    created_at: Mapped[datetime]
