"""The playbook schema: every signal, number and rule a marketer may change, as pydantic models.

Unknown keys are errors (a typo must never silently disable a rule). Cross-references between
sections (a rule naming a signal that does not exist) are checked in `references.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

Stage = Literal["awareness", "interest", "consideration", "decision"]
STAGES: tuple[Stage, ...] = ("awareness", "interest", "consideration", "decision")

Action = Literal["suppress", "with_sales", "handoff_to_sales", "wait", "re_engage", "send_email"]

ContentKind = Literal[
    "blog",
    "guide",
    "explainer",
    "whitepaper",
    "report",
    "webinar",
    "case_study",
    "comparison",
    "roi",
    "faq",
    "security",
    "pricing",
]

RuleId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=80)]
SignalName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Scalar = str | int | float | bool
PositiveDays = Annotated[float, Field(gt=0, le=3650)]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Condition(StrictModel):
    """A test on one named value. Text compares case-insensitively; all given tests must hold."""

    equals: Scalar | None = None
    in_: list[Scalar] | None = Field(default=None, alias="in", min_length=1)
    gte: float | None = None
    lte: float | None = None
    matches: re.Pattern[str] | None = Field(
        default=None, description="A regular expression searched in the value (case-insensitive)."
    )

    @model_validator(mode="before")
    @classmethod
    def _compile_case_insensitive(cls, data: object) -> object:
        if isinstance(data, dict) and isinstance(data.get("matches"), str):
            try:
                data = {**data, "matches": re.compile(data["matches"], re.IGNORECASE)}
            except re.error as exc:
                raise ValueError(f"'matches' is not a valid regular expression: {exc}") from exc
        return data

    @model_validator(mode="after")
    def _needs_a_test(self) -> Self:
        if all(v is None for v in (self.equals, self.in_, self.gte, self.lte, self.matches)):
            raise ValueError("a condition needs at least one of: equals, in, gte, lte, matches")
        return self


class PropertyCondition(Condition):
    """A test on an event property, e.g. `{property: path, matches: "^/pricing"}`."""

    property: str = Field(min_length=1)


class AttributeCondition(Condition):
    """A test on a lead attribute, e.g. `{attribute: industry, in: [software]}`."""

    attribute: str = Field(min_length=1)


class Boost(StrictModel):
    """Points that replace a signal's base points when its properties meet every condition."""

    where: list[PropertyCondition] = Field(min_length=1)
    points: float = Field(ge=0)


class SignalSpec(StrictModel):
    """A canonical event type: what it is worth and how fast that fades."""

    points: float = Field(ge=0, description="Behaviour points before decay.")
    boosts: list[Boost] = Field(default_factory=list, description="First matching boost wins.")
    half_life_days: PositiveDays | None = Field(
        default=None, description="Overrides scoring.half_life_days for this signal."
    )
    lead_activity: bool = Field(
        default=True,
        description="Whether this event shows the lead doing something (false for our own "
        "touches such as email_sent), which is what inactivity is measured by.",
    )


class EventMapping(StrictModel):
    """Turns a raw event (a site's own event name) into a canonical signal."""

    id: RuleId
    event: str = Field(min_length=1, description="The raw event type this rule reads.")
    where: list[PropertyCondition] = Field(default_factory=list)
    signal: SignalName


class FitRule(StrictModel):
    id: RuleId
    where: list[AttributeCondition] = Field(min_length=1)
    points: float = Field(ge=0)


class FitGroup(StrictModel):
    """Mutually exclusive fit rules (e.g. seniority): the first matching rule scores."""

    name: str = Field(min_length=1)
    rules: list[FitRule] = Field(min_length=1)


class FitScoring(StrictModel):
    cap: float = Field(ge=0)
    groups: list[FitGroup] = Field(min_length=1)


class Scoring(StrictModel):
    half_life_days: PositiveDays
    hot_threshold: float = Field(gt=0)
    fit: FitScoring


class EventFilter(StrictModel):
    signals: list[SignalName] = Field(min_length=1)
    where: list[PropertyCondition] = Field(default_factory=list)


class EventPattern(EventFilter):
    """Something that happened on the timeline, counted inside windows of time."""

    count: int = Field(default=1, ge=1, description="How many matching events are needed.")
    within_days: PositiveDays | None = Field(
        default=None, description="The counted events must all fall inside a span this long."
    )
    in_last_days: PositiveDays | None = Field(
        default=None, description="Only events younger than this count (relative to now)."
    )
    same: str | None = Field(
        default=None, description="A property whose value the counted events must share."
    )
    distinct: str | None = Field(
        default=None, description="Count distinct values of this property instead of events."
    )
    unless_followed_by: EventFilter | None = Field(
        default=None, description="The pattern does not hold once such an event follows it."
    )


class Inactivity(StrictModel):
    days: PositiveDays
    reached_stage: Stage = Field(description="The lead must have reached this stage at some point.")


class Trigger(StrictModel):
    """When an action rule applies: exactly one of its fields is set."""

    event: EventPattern | None = None
    lead: AttributeCondition | None = None
    hot: Literal[True] | None = None
    inactive: Inactivity | None = None
    always: Literal[True] | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [name for name, value in self if value is not None]
        if len(given) != 1:
            raise ValueError(
                "a 'when' needs exactly one of: event, lead, hot, inactive, always"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self


class ContentRequest(StrictModel):
    kinds: list[ContentKind] | None = Field(
        default=None, description="Asset kinds to send; unset means the stage's kinds."
    )
    topic_from: str | None = Field(
        default=None, description="Take the topic from this property of the triggering event."
    )


class Reset(StrictModel):
    """After a `by` event the rule applies again only once a `renewed_by` event follows it; an
    event rule then also counts only evidence after it. A lead sales recycled to nurture is not
    handed off again on the same old signals."""

    by: list[SignalName] = Field(min_length=1)
    renewed_by: list[SignalName] = Field(min_length=1)


class ActionRule(StrictModel):
    id: RuleId
    action: Action
    when: Trigger
    explain: str = Field(default="", description="Why this rule exists, in the marketer's words.")
    content: ContentRequest | None = None
    reset: Reset | None = None
    quote: str | None = Field(
        default=None,
        min_length=1,
        description="A property of the newest event the rule matched, quoted in the reason "
        "(e.g. a reply's text, so the person it is handed to reads what the lead wrote).",
    )

    @model_validator(mode="after")
    def _content_only_for_emails(self) -> Self:
        if self.content is not None and self.action not in ("send_email", "re_engage"):
            raise ValueError("'content' only applies to send_email and re_engage rules")
        return self

    @model_validator(mode="after")
    def _quote_needs_an_event(self) -> Self:
        if self.quote is not None and self.when.event is None:
            raise ValueError("'quote' only applies to rules whose 'when' is an event")
        return self


class StageRule(StrictModel):
    id: RuleId
    stage: Stage
    when: EventPattern
    explain: str = ""


class Stages(StrictModel):
    lookback_days: PositiveDays = Field(description="Only evidence this recent sets the stage.")
    rules: list[StageRule] = Field(min_length=1)


class ContentStrategy(StrictModel):
    stage_kinds: dict[Stage, list[ContentKind]]
    re_engage_kinds: list[ContentKind] = Field(min_length=1)
    topic_property: str = Field(default="topic")
    consumed_properties: list[str] = Field(
        default_factory=lambda: ["asset", "asset_id", "url", "path"],
        description="Event properties naming an asset the lead already got or consumed.",
    )

    @model_validator(mode="after")
    def _every_stage_has_kinds(self) -> Self:
        missing = [s for s in STAGES if not self.stage_kinds.get(s)]
        if missing:
            raise ValueError(f"stage_kinds needs at least one kind for: {', '.join(missing)}")
        return self


class Guardrails(StrictModel):
    subject_max_chars: int = Field(gt=0)
    body_max_words: int = Field(gt=0)
    unsubscribe_line: str = Field(min_length=1)
    forbidden_terms: dict[Stage, list[str]] = Field(
        default_factory=dict, description="Words and phrases a draft at this stage may not use."
    )


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_CLOCK = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$")


class SendWindow(StrictModel):
    """When approved emails may go out, in the lead's own time zone (agent/send_windows.py).
    An approval outside the window is scheduled for the next opening; inside it, it goes out
    at once. `end` at or before `start` means the window runs past midnight into the next day."""

    days: list[Weekday] = Field(min_length=1, description="The days on which the window opens.")
    start: str = Field(description="Local opening time, HH:MM (24 h), or HH:MM:SS.")
    end: str = Field(description="Local closing time, HH:MM; at or before start: the next day.")
    timezone_attribute: str = Field(
        default="timezone", description="The lead attribute holding an IANA zone (Europe/Berlin)."
    )
    country_attribute: str = Field(
        default="country",
        description="The lead attribute holding an ISO 3166 country code, used when the zone "
        "attribute is missing or unknown: the country's first zone in IANA's zone.tab.",
    )
    default_timezone: str = Field(
        default="UTC", description="The zone of a lead with neither a known zone nor country."
    )

    @model_validator(mode="after")
    def _valid_times_and_zone(self) -> Self:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        for name in ("start", "end"):
            if not _CLOCK.match(getattr(self, name)):
                raise ValueError(f"'{name}' must be a 24-hour time like 09:00")
        if self.clock("start") == self.clock("end"):
            raise ValueError("'start' and 'end' are the same: the window would never close")
        try:
            ZoneInfo(self.default_timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone '{self.default_timezone}'") from exc
        return self

    def clock(self, name: Literal["start", "end"]) -> tuple[int, int, int]:
        hours, minutes, *seconds = (int(part) for part in getattr(self, name).split(":"))
        return hours, minutes, seconds[0] if seconds else 0


class HandoffPolicy(StrictModel):
    accept_within_hours: float = Field(
        default=24, gt=0, description="A hand-off not accepted by a rep within this is flagged."
    )


class AccountEmailCap(StrictModel):
    count: int = Field(default=1, ge=1, le=100)
    days: PositiveDays = 7


class AccountHandoff(StrictModel):
    engaged_contacts: int = Field(default=3, ge=1, le=1000)
    within_days: PositiveDays = 14


class AccountPolicy(StrictModel):
    """How a lead's contacts at one account (agent/accounts.py) count together."""

    score: Literal["max", "sum"] = Field(
        default="max", description="The account's score: its best contact's, or all summed."
    )
    engaged_within_days: PositiveDays = Field(
        default=14, description="A contact with an engaging signal this recent is engaged."
    )
    engaged_signals: list[SignalName] | None = Field(
        default=None,
        description="The signals that make a contact engaged, on the account page and for the "
        "account hand-off; unset: any lead activity.",
    )
    max_emails: AccountEmailCap | None = Field(
        default=None,
        description="At most `count` nurture emails to one account per `days` days, checked "
        "when the email goes out; unset: no cap.",
    )
    handoff: AccountHandoff | None = Field(
        default=None,
        description="Hand the account to sales when this many of its contacts were engaged "
        "within `within_days`; unset: no account-level hand-off.",
    )


ExperimentElement = Literal["subject_style", "opening"]
EXPERIMENT_VARIANTS: dict[str, tuple[str, ...]] = {
    "subject_style": ("topic", "question"),
    "opening": ("varied", "first"),
}
"""The values the template drafter knows for each named parameter (agent/drafting/template.py)."""


class StopRule(StrictModel):
    min_sends_per_variant: int = Field(
        default=200, ge=1, description="No verdict before every variant has this many sends."
    )
    alpha: float = Field(default=0.05, gt=0, lt=1, description="The test's significance level.")
    metric: Literal["reply", "click"] = Field(
        default="reply", description="The rate the verdict is about."
    )


class Experiment(StrictModel):
    """An A/B test of one drafter parameter: each lead gets one variant, by a stable hash."""

    id: RuleId
    element: ExperimentElement
    variants: list[str] = Field(min_length=2)
    stages: list[Stage] | None = Field(
        default=None, description="Only drafts at these stages take part; unset: every stage."
    )
    stop: StopRule = Field(default_factory=StopRule)


class DraftingDefaults(StrictModel):
    """The drafter's named parameters for every lead (unset: the drafter's own default). A
    winning variant becomes the default here; a running experiment overrides it for its leads."""

    subject_style: Literal["topic", "question"] | None = None
    opening: Literal["varied", "first"] | None = None


class Playbook(StrictModel):
    """The whole human-owned configuration. Parsed once; nothing downstream reads raw YAML."""

    version: str = Field(min_length=1, max_length=64)
    description: str = ""
    signals: dict[SignalName, SignalSpec] = Field(min_length=1)
    event_mappings: list[EventMapping] = Field(default_factory=list)
    scoring: Scoring
    stages: Stages
    action_rules: list[ActionRule] = Field(min_length=1)
    content: ContentStrategy
    guardrails: Guardrails
    send_window: SendWindow | None = Field(
        default=None, description="When emails may go out (lead's local time); unset: any time."
    )
    handoffs: HandoffPolicy = Field(default_factory=HandoffPolicy)
    accounts: AccountPolicy = Field(default_factory=AccountPolicy)
    drafting: DraftingDefaults = Field(default_factory=DraftingDefaults)
    experiments: list[Experiment] = Field(
        default_factory=list, description="A/B tests of the drafter's named parameters."
    )
    _fingerprint: str | None = PrivateAttr(default=None)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        copy = super().model_copy(update=update, deep=deep)
        copy._fingerprint = None  # a changed copy must not keep the original's hash
        return copy

    def engaging_signals(self) -> list[str]:
        """The signals that make an account's contact engaged (accounts.engaged_signals)."""
        if self.accounts.engaged_signals is not None:
            return list(self.accounts.engaged_signals)
        return [name for name, spec in self.signals.items() if spec.lead_activity]

    def half_life(self, signal: str) -> float:
        spec = self.signals[signal]
        return spec.half_life_days or self.scoring.half_life_days
