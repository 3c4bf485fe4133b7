"""What a draft-quality check reads and what it answers.

A check sees one drafted email together with everything needed to judge it without a model or a
database: the decision behind it, the content it was written from, the lead's facts, the case's
expectations and the playbook's own guardrail and content settings (reused, not copied, so an eval
always judges against the playbook that was shipped)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field

from agent.playbook.models import Action, ContentKind, ContentStrategy, Guardrails, Stage


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectations(_Frozen):
    """What a case says a good answer looks like (the `expect` block of a suite case)."""

    stage: Stage
    action: Action
    rule: str | None = Field(
        default=None, description="The playbook rule expected to decide the action."
    )
    content_kinds: tuple[ContentKind, ...] | None = Field(
        default=None,
        description="The kinds a scenario rule asks for; unset means the playbook's default "
        "for the stage (or for re-engagement).",
    )
    personalise_on: tuple[str, ...] = Field(
        default=(), description="Lead facts a good draft uses; any one of them is enough."
    )
    must_not_use: tuple[str, ...] = Field(
        default=(), description="Words or phrases this draft must not contain."
    )


class Thresholds(_Frozen):
    """Suite-wide quality bars that are a matter of taste rather than playbook policy."""

    readability_min: float = Field(
        default=45.0, description="Minimum Flesch reading ease of the body (higher is easier)."
    )


@dataclass(frozen=True, slots=True)
class CitedContent:
    """One asset the drafter was given: its kind and all the text it may take claims from."""

    asset_id: str
    kind: ContentKind
    text: str
    """Title, summary, facts and the matched passage, joined."""
    title: str = ""
    topics: tuple[str, ...] = ()
    """What the asset is about (its library tags)."""
    industries: tuple[str, ...] = ()
    """Whose story it tells: a case study's customer industry."""
    personas: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Activity:
    """One thing the lead did, from their timeline: the signal and the topic it carried."""

    signal: str
    topic: str | None = None


@dataclass(frozen=True, slots=True)
class CheckInput:
    subject: str
    body: str
    cited_asset_ids: tuple[str, ...]
    """The assets the draft says it cites."""
    expect: Expectations
    stage: Stage
    """The decision's stage."""
    action: Action
    """The decision's action."""
    content_kinds: tuple[ContentKind, ...]
    """The kinds the decision asked for (empty when the action sends nothing)."""
    lead_facts: tuple[str, ...]
    """True statements about the lead: attributes and timeline, as the drafter saw them."""
    assets: tuple[CitedContent, ...]
    """The content the drafter was given."""
    customers: frozenset[str]
    """The customer roster: names a draft may only use when its cited content names them."""
    guardrails: Guardrails
    content: ContentStrategy
    thresholds: Thresholds = field(default_factory=Thresholds)
    lead_facts_used: tuple[str, ...] = ()
    """The facts the draft says it personalises on."""
    activities: tuple[Activity, ...] = ()
    """Every lead activity in the timeline: what a hook about the lead may claim."""
    lead_industry: str | None = None
    lead_persona: str | None = None
    lead_supplied: tuple[str, ...] = ()
    """Every value the lead (or a CRM on their behalf) typed: name, company, title, attributes,
    event properties. Data, never instructions."""

    @property
    def text(self) -> str:
        """Subject and body, as a reader sees them."""
        return f"{self.subject}\n{self.body}"

    def cited(self) -> list[CitedContent]:
        """The given assets the draft actually cites."""
        ids = set(self.cited_asset_ids)
        return [a for a in self.assets if a.asset_id in ids]


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    passed: bool
    detail: str
    score: float | None = None
