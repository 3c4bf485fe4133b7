"""What the JSON API accepts and returns. Request models reject unknown fields, so a typo is a
422 that names the field rather than a silently ignored value."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from agent.analytics import Report
from agent.decisions import AccountContactOut, Decision
from agent.store.leads import LeadFields
from agent.store.values import StorableText

MAX_BATCH = 10_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LeadBody(LeadFields):
    """A lead as PUT to /v1/leads/{lead_id} (the id comes from the path)."""

    # built now: the service always validates leads, and FastAPI's body alias on a deferred
    # model made pydantic warn that the alias had no effect
    model_config = ConfigDict(defer_build=False)


class ItemOut(BaseModel):
    """The fate of one item of a batch, by its position in the request."""

    index: int
    id: str | None
    status: Literal["stored", "duplicate", "rejected"]
    reason: str | None = None


class BatchOut(BaseModel):
    stored: int
    duplicate: int
    rejected: int
    results: list[ItemOut]


class DecisionSummary(BaseModel):
    stage: str
    action: str
    wait_until: datetime | None
    total: float
    hot: bool
    playbook_version: str
    decided_at: datetime


class LeadOut(BaseModel):
    id: str
    email: str
    name: str | None
    company: str | None
    owner: str | None = Field(default=None, description="The lead's owner in the CRM, if known.")
    attributes: dict[str, Any]
    do_not_contact: bool
    decision: DecisionSummary | None = Field(
        description="The latest decision recorded for this lead (see decided_at), if any."
    )


class LeadPage(BaseModel):
    leads: list[LeadOut]
    next_after: str | None = Field(
        description="Pass as `after` for the next page; null at the end."
    )


class NextAction(Decision):
    """The decision JSON of `nurture next --json`, plus the playbook version that made it."""

    playbook_version: str


class RunAccepted(BaseModel):
    thread_id: str
    lead_id: str
    status: Literal["queued"]
    status_url: str


class RunOut(BaseModel):
    thread_id: str
    lead_id: str
    status: str = Field(
        description="queued, running, retrying (an attempt failed, see error; the job queue "
        "runs it again at retry_at), failed (see error; no retry is left), or where the run "
        "ended: "
        "awaiting_approval, "
        "sent, scheduled (approved outside the send window: see the send), suppressed, "
        "waiting, with_sales, handed_off, cancelled, ..."
    )
    action: str | None
    detail: str | None
    playbook_version: str | None
    approval_id: str | None = Field(description="Set while a draft waits for a human.")
    updated_at: datetime | None
    worker: str | None = Field(default=None, description="While running: which process.")
    running_since: datetime | None = Field(default=None, description="While running: since.")
    attempts: int = Field(default=0, description="How many times a worker took the run.")
    error: str | None = Field(default=None, description="When failed or retrying: why.")
    retry_at: datetime | None = Field(
        default=None, description="While retrying: when the next attempt is due."
    )


class SendActionOut(BaseModel):
    """One thing a person did to a send after the agent: the audit."""

    action: Literal["resend", "send_again", "delivered", "cancel"] = Field(
        description="resend: a failed send sent again; send_again / delivered: an uncertain "
        "send (needs_check) resolved by sending it again or by saying it went out; cancel: a "
        "send waiting for its send window cancelled."
    )
    by: str
    at: datetime
    from_status: str
    from_reason: str | None
    outcome: str | None = Field(description="The send's status afterwards.")
    detail: str | None


class SendOut(BaseModel):
    approval_id: str
    lead_id: str
    status: str
    reason: str | None
    to_address: str
    subject: str
    body: str
    message_id: str
    attempted_at: datetime
    finished_at: datetime | None
    scheduled_for: datetime | None = Field(
        default=None,
        description="When an email approved outside the playbook's send window goes out (UTC); "
        "status `scheduled` until then (`cancelled` if a person cancelled it).",
    )
    send_zone: str | None = Field(
        default=None, description="The lead's time zone the send window was read in."
    )
    scheduled: str | None = Field(
        default=None,
        description='How people read it: "scheduled for Tue 09:00 Europe/Berlin".',
        examples=["scheduled for Tue 09:00 Europe/Berlin"],
    )
    history: list[SendActionOut] = Field(
        default_factory=list,
        description="What people did to this send (sent it again, resolved it), oldest first.",
    )


class SendResolution(Strict):
    """How a person resolved an uncertain send after checking the mail server's log."""

    resolution: Literal["delivered", "send_again"] = Field(
        description="delivered: it did go out (nothing is sent); send_again: it did not, send "
        "it again with the same Message-ID."
    )


class ApprovalOut(BaseModel):
    """A draft and, once decided, the audit of who decided what and when."""

    id: str
    thread_id: str
    lead_id: str
    status: str
    stage: str | None
    why: list[dict[str, Any]] = Field(description="The decision's reasons: rule and text.")
    subject: str
    body: str
    cited_asset_ids: list[str]
    lead_facts_used: list[str]
    drafter: str
    prompt_version: str
    playbook_version: str
    violations: list[dict[str, Any]]
    notes: list[str] = Field(
        default_factory=list,
        description="What the drafter says the reviewer should know (e.g. feedback it could "
        "not apply, content in English for a lead who reads another language).",
    )
    created_at: datetime
    answer: str | None
    decided_by: str | None
    decided_at: datetime | None
    feedback: str | None
    final_subject: str | None = Field(description="What was approved (after any edit).")
    final_body: str | None
    edited: bool
    guardrails_overridden_by: str | None = Field(
        description="Who accepted this draft unchanged although its guardrails had failed."
    )
    guardrails_overridden: list[str] = Field(description="The failed checks they overrode.")
    stale: bool = Field(
        default=False,
        description="A waiting draft its lead should no longer get, decided now (the action is "
        "no longer send_email/re_engage, or the stage moved where a cited asset does not "
        "reach); sending it would be blocked.",
    )
    stale_reason: str | None = None
    send: SendOut | None


class Accept(Strict):
    answer: Literal["accept"]
    override_guardrails: bool = Field(
        default=False,
        description="Required to accept a draft whose guardrails failed (see `violations`); "
        "recorded with your name and the checks. Without it such an accept is a 409.",
    )


class Edit(BaseModel):
    """Sent exactly as written (no trimming): the audit keeps what the marketer approved."""

    model_config = ConfigDict(extra="forbid")

    answer: Literal["edit"]
    subject: StorableText = Field(min_length=1, max_length=300, pattern=r"\S")
    body: StorableText = Field(min_length=1, max_length=20_000, pattern=r"\S")


class Respond(Strict):
    answer: Literal["respond"]
    feedback: StorableText = Field(
        min_length=1, max_length=4_000, description="What the next draft must change."
    )


class Ignore(Strict):
    answer: Literal["ignore"]


ApprovalDecision = Annotated[Accept | Edit | Respond | Ignore, Field(discriminator="answer")]


class DecisionOut(BaseModel):
    approval: ApprovalOut
    run: RunOut
    next_approval_id: str | None = Field(
        description="A new draft waiting (after feedback, or an edit the guardrails refused)."
    )


class AnswerAccepted(BaseModel):
    """An answer kept, whose thread had not finished resuming within the wait."""

    approval: ApprovalOut = Field(
        description='Its status is "answering" until the thread takes the answer, then the '
        "decision (accepted, edited, responded, ignored)."
    )
    status_url: str = Field(description="Where to read the approval, and then its send.")
    run_status_url: str = Field(description="Where to read the run: where it went next.")


class ContentHit(BaseModel):
    asset_id: str
    title: str
    kind: str
    url: str
    stages: list[str]
    score: float
    section: str
    passage: str
    why: list[str]


class ContentResults(BaseModel):
    hits: list[ContentHit]
    allowed_stages: list[str]
    note: str | None


class PlaybookText(BaseModel):
    """The YAML exactly as sent (not trimmed: the stored text is what was activated)."""

    model_config = ConfigDict(extra="forbid")

    yaml: StorableText = Field(min_length=1, max_length=1_000_000, description="The playbook YAML.")


class PlaybookProblem(BaseModel):
    path: str
    line: int | None
    message: str


class ValidationOut(BaseModel):
    valid: bool
    version: str | None
    problems: list[PlaybookProblem]


class PlaybookOut(BaseModel):
    version: str
    source: str = Field(description="'activated' or the configured file's path.")
    activated_by: str | None
    activated_at: datetime | None
    yaml: str


class PlaybookVersionOut(BaseModel):
    version: str
    activated_by: str
    activated_at: datetime


class ErrorOut(BaseModel):
    """Every error: a sentence, or (422) a list of {loc, msg} naming each field and reason
    (with `input`, an excerpt of what was sent)."""

    detail: str | list[dict[str, Any]]


class ServerErrorOut(BaseModel):
    """A failure of the service, not of the request: the log line has the same request id."""

    detail: str
    request_id: str = Field(description="Also in the X-Request-ID header and the server log.")


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route may answer with."""
    text = {
        400: "The body could not be read as JSON (the reason says why: nesting, a number too "
        "long, bytes that are not UTF-8)",
        401: "No valid API key",
        403: "The key's role may not do this",
        404: "Not found",
        409: "Conflicts with the current state (e.g. already decided)",
        413: "More than 10,000 items in one batch",
        429: "Too many wrong keys from this address or for this key id; a valid key still works",
    }
    answers: dict[int | str, dict[str, Any]] = {
        code: {"model": ErrorOut, "description": text[code]} for code in codes
    }
    if 429 in answers:
        answers[429]["headers"] = {"Retry-After": RETRY_AFTER}
    return answers


RETRY_AFTER = {
    "description": "Seconds until another key may be tried",
    "schema": {"type": "integer", "minimum": 1},
}
AUTH_ERRORS = errors(401, 403, 429)
# any route may fail: declared once for the whole app (api/main.py)
SERVER_ERROR: dict[int | str, dict[str, Any]] = {
    500: {"model": ServerErrorOut, "description": "The service failed; quote the request_id"}
}


class RejectionOut(BaseModel):
    """A message answered 200 but not stored (Segment clients never read the body)."""

    id: str
    source: str = Field(description="Where it came from: segment.")
    message_id: str | None
    kind: str | None = Field(description="The message's type as sent: track, page, identify...")
    reason_code: str = Field(description="unmapped_event, invalid_message, unknown_lead, ...")
    reason: str
    message: dict[str, Any] | None = Field(description="The message as sent, when storable.")
    received_at: datetime


class HandoffChangeOut(BaseModel):
    from_state: str | None
    to_state: str
    by: str
    at: datetime
    reason: str | None


class HandoffOut(BaseModel):
    """A lead handed to sales: who, why, the evidence, where sales stands with it, and its
    audit (every state change with who, when and why)."""

    id: str
    lead_id: str
    lead_name: str | None
    lead_email: str
    company: str | None
    rule: str = Field(description="The playbook rule that handed the lead over.")
    why: str
    evidence: str | None
    score: float | None
    stage: str | None
    state: Literal["new", "delivered", "accepted", "closed", "recycled"]
    assigned_to: str | None = Field(description="The rep's email address.")
    waiting_since: datetime
    overdue: bool = Field(
        description="Not accepted within the playbook's acceptance SLA "
        "(handoffs.accept_within_hours)."
    )
    webhook_status: str
    account: str | None = Field(
        default=None, description="The account handed over (rule accounts.handoff), if one."
    )
    account_contacts: list[AccountContactOut] = Field(
        default_factory=list,
        description="The account's engaged contacts when it was handed over (its buying "
        "committee: name, role, score), best first.",
    )
    changes: list[HandoffChangeOut]


class HandoffMove(Strict):
    reason: str | None = Field(
        default=None, max_length=2000, description="Why (required to recycle a hand-off)."
    )


class TransitionOut(BaseModel):
    before: str = Field(description="With the playbook in force.")
    after: str = Field(description="With the candidate.")
    count: int
    examples: list[str] = Field(description="A few of these leads' ids.")


class RuleShiftOut(BaseModel):
    rule: str
    kind: Literal["action", "stage"]
    before: int = Field(description="Leads it decides with the playbook in force.")
    after: int = Field(description="Leads it decides with the candidate.")


class StaleDraftOut(BaseModel):
    approval_id: str
    lead_id: str
    reason: str


class PreviewOut(BaseModel):
    """Every lead decided as of `at` with the playbook in force and with the candidate."""

    current_version: str
    candidate_version: str
    at: datetime
    leads: int
    changed: int = Field(description="Leads whose stage, action or hot flag would change.")
    stage: list[TransitionOut]
    action: list[TransitionOut]
    hot: list[TransitionOut]
    rules: list[RuleShiftOut] = Field(description="Rules that would fire more or less often.")
    waiting_drafts: int
    stale_count: int = Field(description="Waiting drafts the candidate would make stale.")
    stale_drafts: list[StaleDraftOut] = Field(description="The first 200 of them.")


PreviewStatus = Literal["queued", "running", "done", "failed"]


class PreviewAccepted(BaseModel):
    """A preview written to the store as a job; follow `status_url` (also the Location)."""

    id: str
    status: PreviewStatus = Field(
        description="Where it stands: queued when new; running (or even done) when the same "
        "candidate against the same playbook in force was asked for already and this is that one."
    )
    status_url: str


class PreviewJobOut(BaseModel):
    """A preview asked for: how far it got, and once done, its result."""

    id: str
    status: PreviewStatus
    candidate_version: str
    current_version: str = Field(description="In force when it was asked for.")
    requested_by: str
    created_at: datetime = Field(description="Every lead is decided as of this moment.")
    started_at: datetime | None
    finished_at: datetime | None
    leads_done: int
    leads_total: int | None
    error: str | None = Field(description="Why it failed.")
    result: PreviewOut | None = Field(description="Once done: the preview.")


class AnalyticsFigureOut(BaseModel):
    name: str
    definition: str


class AnalyticsOut(Report):
    """The figures of `nurture report --json` (the Report's fields, each described by its
    definition); `figures` lists each figure's name with its definition again, in order."""

    figures: list[AnalyticsFigureOut]


class VariantResultOut(BaseModel):
    """One variant's numbers; the unit is the lead (the variant is assigned per lead), and an
    outcome counts when its mail event came after the lead's first send in the variant."""

    variant: str
    leads: int
    sends: int
    replies: int
    clicks: int
    unsubscribes: int
    reply_rate: float | None
    click_rate: float | None
    unsubscribe_rate: float | None


class ExperimentVerdictOut(BaseModel):
    status: Literal["running", "winner", "no_difference"]
    winner: str | None
    metric: str = Field(description="The rate the stop rule judges (reply or click).")
    test: str | None = Field(description="The statistical test used (statsmodels / scipy).")
    p_value: float | None
    summary: str = Field(description="running, winner <variant>, or no difference.")


class ExperimentOut(BaseModel):
    id: str
    element: str
    stages: list[str] | None
    stop: dict[str, Any]
    variants: list[VariantResultOut]
    verdict: ExperimentVerdictOut


class ExperimentsOut(BaseModel):
    """The playbook's experiments with their results (`nurture experiments --json`)."""

    experiments: list[ExperimentOut]
