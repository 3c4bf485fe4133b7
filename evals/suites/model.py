"""The schema of a draft-quality suite file: cases of a lead, its timeline and what a good answer
looks like, plus the suite's gates and thresholds.

Times are written relative to the suite's `now` (`ago: 3d`) so a case reads like the situation it
describes and stays true as the calendar moves; `at:` (absolute) is for when a date matters."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Self

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    model_validator,
)

from agent.playbook import Playbook
from agent.timeline import Event, Lead, classify
from evals.checks import Expectations, Thresholds

Scalar = str | int | float | bool
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([mhdw])\s*$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_EMAILING = ("send_email", "re_engage")


def _duration(value: object) -> object:
    """'90m', '2h', '3d', '1.5w' → timedelta; anything else is left for pydantic to refuse."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"'{value}' is not a duration such as 45m, 2h, 3d or 1.5w")
        return timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LeadIn(_Strict):
    id: str = Field(min_length=1)
    email: str = Field(min_length=3)
    name: str | None = None
    company: str | None = None
    do_not_contact: bool = False
    attributes: dict[str, Scalar] = Field(
        default_factory=dict, description="industry, employees, title, country, …"
    )

    def to_lead(self) -> Lead:
        return Lead(
            id=self.id,
            email=self.email,
            name=self.name,
            company=self.company,
            attributes=dict(self.attributes),
            do_not_contact=self.do_not_contact,
        )


class EventIn(_Strict):
    id: str | None = Field(default=None, description="Defaults to '<case id>.e<position>'.")
    type: str = Field(min_length=1, description="A playbook signal or a mapped raw event type.")
    ago: Duration | None = Field(default=None, description="How long before the suite's now.")
    at: AwareDatetime | None = None
    properties: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_time(self) -> Self:
        if (self.ago is None) == (self.at is None):
            raise ValueError("an event needs exactly one of 'ago' (e.g. 3d) or 'at' (ISO time)")
        if self.ago is not None and self.ago < timedelta(0):
            raise ValueError("'ago' cannot be negative")
        return self

    def occurred_at(self, now: datetime) -> datetime:
        return self.at if self.at is not None else now - (self.ago or timedelta(0))


class Reference(_Strict):
    """Text a marketer approved for this situation (harvested from an edit)."""

    subject: str
    body: str


class Case(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_.\-]*$", max_length=80)
    description: str = Field(min_length=1)
    lead: LeadIn
    events: list[EventIn] = Field(default_factory=list)
    expect: Expectations
    reference: Reference | None = Field(
        default=None, description="Approved text: the run reports the draft's edit distance to it."
    )
    source_approval_id: str | None = Field(default=None, description="Where it was harvested.")
    feedback: str | None = Field(
        default=None,
        description="A marketer's change request: the first draft is answered with it (as "
        "`nurture respond` would) and the redraft is judged (evals/multiturn.py).",
    )

    @model_validator(mode="after")
    def _feedback_only_for_emails(self) -> Self:
        if self.feedback is not None and self.expect.action not in _EMAILING:
            raise ValueError(f"feedback needs a draft to answer, not {self.expect.action}")
        return self

    @model_validator(mode="after")
    def _content_only_for_emails(self) -> Self:
        if self.expect.content_kinds and self.expect.action not in _EMAILING:
            raise ValueError(
                f"expect.content_kinds only applies to {' and '.join(_EMAILING)}, "
                f"not {self.expect.action}"
            )
        return self

    def to_events(self, now: datetime) -> list[Event]:
        return [
            Event(
                id=e.id or f"{self.id}.e{n}",
                lead_id=self.lead.id,
                type=e.type,
                occurred_at=e.occurred_at(now),
                properties=dict(e.properties),
            )
            for n, e in enumerate(self.events, start=1)
        ]


class Suite(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    now: AwareDatetime = Field(description="The moment every case is decided at.")
    gates: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=dict,
        description="Metric → the largest drop from the baseline a change may cause: "
        "'pass_rate' (cases passing every check) or 'checks.<name>' (one check's pass rate).",
    )
    thresholds: Thresholds = Field(default_factory=Thresholds)
    cases: list[Case] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        problems = []
        seen: set[str] = set()
        for case in self.cases:
            if case.id in seen:
                problems.append(f"case id '{case.id}' is used twice")
            seen.add(case.id)
            late = [e.type for e in case.events if e.occurred_at(self.now) > self.now]
            if late:
                # the engine ignores events after `now`: almost certainly a typo in the suite
                problems.append(f"case '{case.id}' has events after now: {', '.join(late)}")
        from evals.run_checks import EVERY_CHECK  # imports the records, which import suites

        known = {"pass_rate", *(f"checks.{name}" for name in EVERY_CHECK)}
        unknown = sorted(set(self.gates) - known)
        if unknown:
            problems.append(
                f"unknown gates: {', '.join(unknown)} (known: {', '.join(sorted(known))})"
            )
        if problems:
            raise ValueError("; ".join(problems))
        return self


def playbook_problems(suite: Suite, playbook: Playbook) -> list[str]:
    """What in the suite the playbook cannot read: an unknown event type would silently drop
    out of the timeline, an unknown rule id could never be the reason given."""
    rules = {rule.id for rule in playbook.action_rules}
    problems = []
    for case in suite.cases:
        for event in case.events:
            if classify(event.type, event.properties, playbook) is None:
                problems.append(
                    f"case '{case.id}': event type '{event.type}' is not in the playbook"
                )
        if case.expect.rule is not None and case.expect.rule not in rules:
            problems.append(f"case '{case.id}': no action rule '{case.expect.rule}'")
    return problems
