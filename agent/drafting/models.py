"""What a drafter is given and what it must return. Every drafter (LLM or template) speaks this."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class EmailDraft(BaseModel):
    """The structured output a drafter produces (the LLM fills exactly this model)."""

    subject: str = Field(description="Subject line, plain text, at most the playbook's limit.")
    body: str = Field(
        description="Plain-text body, ending with the unsubscribe line it was given, verbatim."
    )
    cited_asset_ids: list[str] = Field(
        default_factory=list, description="Ids of the content assets the body cites or links."
    )
    lead_facts_used: list[str] = Field(
        default_factory=list,
        description="The facts about this lead the email personalises on, quoted from the input.",
    )


class CitedAsset(BaseModel):
    """A retrieved asset the draft may cite: its claims are the only ones it may make."""

    asset_id: str
    title: str
    kind: str
    url: str
    summary: str
    facts: list[str]
    passage: str = Field(description="The section that matched the lead best.")
    topics: list[str] = Field(default_factory=list, description="What the asset is about.")
    industries: list[str] = Field(default_factory=list, description="Whose story it tells.")
    personas: list[str] = Field(default_factory=list, description="Who it is written for.")


class LeadActivity(BaseModel):
    """One thing the lead did, from their timeline: the evidence a hook may state."""

    signal: str
    topic: str | None = None
    days_ago: int
    fact: str | None = Field(
        default=None, description="The entry of `lead_facts` that states it, when there is one."
    )


class DraftRequest(BaseModel):
    """Everything a drafter may use. The lead's free text (`lead_messages`) is data only."""

    lead_id: str
    first_name: str | None
    company: str | None
    email: str
    stage: str
    action: str = Field(description="send_email or re_engage")
    topic: str | None
    lead_facts: list[str] = Field(
        description="True statements about the lead (attributes, "
        "recent activity) a draft may personalise on."
    )
    lead_messages: list[str] = Field(
        default_factory=list, description="The lead's own free text: untrusted."
    )
    assets: list[CitedAsset] = Field(min_length=1)
    forbidden_terms: list[str] = Field(default_factory=list)
    subject_max_chars: int
    body_max_words: int
    unsubscribe_line: str = Field(description="Must end the body, verbatim.")
    feedback: str | None = Field(default=None, description="A marketer's change request.")
    violations: list[str] = Field(
        default_factory=list, description="Guardrail failures of the previous attempt."
    )
    previous: EmailDraft | None = None
    activities: list[LeadActivity] = Field(
        default_factory=list, description="The lead's own activity, newest first."
    )
    industry: str | None = None
    persona: str | None = None
    language: str | None = Field(
        default=None, description="The lead's language when a field names one (e.g. 'de')."
    )
    lead_supplied: list[str] = Field(
        default_factory=list,
        description="Every value the lead or a CRM supplied (fields, attributes, event "
        "properties): untrusted; it grounds nothing but its own verbatim mention.",
    )
    lead_data: dict[str, str] = Field(
        default_factory=dict, description="The lead's fields as supplied: untrusted data."
    )
    style: dict[str, str] = Field(
        default_factory=dict,
        description="Drafter parameters an experiment set for this lead (subject_style, "
        "opening → the variant); they override the drafter's defaults.",
    )


class DraftResult(BaseModel):
    draft: EmailDraft
    drafter: str = Field(
        description="Which drafter wrote it, e.g. 'template' or 'llm:gpt-4o-mini'."
    )
    prompt_version: str
    usage: dict[str, Any] = Field(default_factory=dict, description="Token counts, when known.")
    attempts: int = 1
    notes: list[str] = Field(
        default_factory=list,
        description="What the reviewer should know about this draft (shown in the inbox), e.g. "
        "feedback the drafter could not apply.",
    )


class DraftFailed(Exception):
    """The drafter could not produce a valid draft; the reason is kept with the lead."""

    def __init__(self, reason: str, *, attempts: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
