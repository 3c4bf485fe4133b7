"""Draft guardrails: what a draft may say, checked the same way for every drafter.

Each check is a small function returning violations with a rule id; `check_draft` runs them all.
The lead's own free text is never an input here, so nothing a lead writes can change an outcome."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from agent.drafting.models import EmailDraft
from agent.quantities import ungrounded

_URL = re.compile(r"https?://\S+")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PLACEHOLDER = re.compile(
    r"\{\{?[^{}\n]{0,40}\}?\}|\[(?:first ?name|name|company|insert[^\]]*)\]"
    r"|<(?:name|company|first_name)>|\bTODO\b|\bXXX\b",
    re.IGNORECASE,
)
_CAPITALISED = re.compile(r"\b[A-Z][\w&'-]*(?:\s+[A-Z][\w&'-]*){0,3}\b")


@dataclass(frozen=True, slots=True)
class Violation:
    rule: str
    message: str


@dataclass(frozen=True, slots=True)
class GuardrailContext:
    """What a draft is checked against."""

    stage: str
    forbidden_terms: list[str]
    subject_max_chars: int
    body_max_words: int
    unsubscribe_line: str
    grounding: list[str]
    """Text the draft may take numbers and names from: what the system itself knows (the cited
    assets' facts and titles). Never lead-supplied text."""
    cited_asset_ids: set[str]
    """Assets that were retrieved for this draft (the only ones it may cite)."""
    known_customers: set[str]
    lead_email: str
    other_leads_named: Callable[[list[str]], list[str]] = lambda _phrases: []
    """Returns which of the given phrases are another lead's name or company."""
    lead_supplied: list[str] = field(default_factory=list)
    """What the lead (or a CRM) typed: name, company, title, attributes, event properties. It
    supports only its own verbatim mention: "3M Logistics" may be written, its "3" grounds
    nothing else, and an injected "90%" grounds nothing at all."""


def check_draft(draft: EmailDraft, ctx: GuardrailContext) -> list[Violation]:
    text = f"{draft.subject}\n{draft.body}"
    return [
        *_length(draft, ctx),
        *_unsubscribe(draft, ctx),
        *_forbidden_terms(text, ctx),
        *_ungrounded_numbers(text, ctx),
        *_ungrounded_customers(text, ctx),
        *_citations(draft, ctx),
        *_personal_data(text, ctx),
        *_placeholders(text),
    ]


def word_count(text: str) -> int:
    return len(text.split())


def _length(draft: EmailDraft, ctx: GuardrailContext) -> list[Violation]:
    out = []
    if len(draft.subject) > ctx.subject_max_chars:
        out.append(
            Violation(
                "guardrail.subject_length",
                f"subject has {len(draft.subject)} characters; the limit is "
                f"{ctx.subject_max_chars}",
            )
        )
    if not draft.subject.strip():
        out.append(Violation("guardrail.subject_length", "subject is empty"))
    words = word_count(draft.body)
    if words > ctx.body_max_words:
        out.append(
            Violation(
                "guardrail.body_length",
                f"body has {words} words; the limit is {ctx.body_max_words}",
            )
        )
    return out


def _unsubscribe(draft: EmailDraft, ctx: GuardrailContext) -> list[Violation]:
    if ctx.unsubscribe_line in draft.body:
        return []
    return [
        Violation(
            "guardrail.unsubscribe",
            f"the body must carry the unsubscribe line '{ctx.unsubscribe_line}'",
        )
    ]


def _forbidden_terms(text: str, ctx: GuardrailContext) -> list[Violation]:
    lowered = _URL.sub(" ", text)
    found = [
        term
        for term in ctx.forbidden_terms
        if re.search(rf"\b{re.escape(term)}\b", lowered, re.IGNORECASE)
    ]
    if not found:
        return []
    return [
        Violation(
            "guardrail.stage_terms",
            f"at the {ctx.stage} stage a draft may not mention: {', '.join(found)}",
        )
    ]


def without_lead_text(text: str, lead_supplied: Iterable[str]) -> str:
    """The text with every verbatim mention of a lead-supplied value blanked out (longest
    first), so a company's own name is never read as a claim, nor as its grounding."""
    values = {v.strip() for v in lead_supplied if len(v.strip()) > 1}
    for value in sorted(values, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(value)}(?!\w)", " ", text, flags=re.IGNORECASE)
    return text


def _ungrounded_numbers(text: str, ctx: GuardrailContext) -> list[Violation]:
    # links first: a lead-supplied path such as "/" must not break a link apart
    text = without_lead_text(_URL.sub(" ", text), ctx.lead_supplied)
    stray = ungrounded(text, ctx.grounding)
    if not stray:
        return []
    return [
        Violation(
            "guardrail.grounding",
            f"numbers not found in the cited content or the lead's timeline: {', '.join(stray)}",
        )
    ]


def _ungrounded_customers(text: str, ctx: GuardrailContext) -> list[Violation]:
    grounding = " ".join(ctx.grounding).casefold()
    text = without_lead_text(text, ctx.lead_supplied)  # a lead may work at a customer
    named = [c for c in ctx.known_customers if c.casefold() in text.casefold()]
    stray = sorted(c for c in named if c.casefold() not in grounding)
    if not stray:
        return []
    return [
        Violation(
            "guardrail.grounding", f"customers not named in the cited content: {', '.join(stray)}"
        )
    ]


def _citations(draft: EmailDraft, ctx: GuardrailContext) -> list[Violation]:
    unknown = sorted(set(draft.cited_asset_ids) - ctx.cited_asset_ids)
    out = []
    if unknown:
        out.append(
            Violation(
                "guardrail.citations", f"cites assets that were not retrieved: {', '.join(unknown)}"
            )
        )
    if not draft.cited_asset_ids:
        out.append(Violation("guardrail.citations", "cites no asset"))
    return out


def _personal_data(text: str, ctx: GuardrailContext) -> list[Violation]:
    out = []
    emails = sorted({e for e in _EMAIL.findall(text) if e.casefold() != ctx.lead_email.casefold()})
    if emails:
        out.append(
            Violation(
                "guardrail.personal_data",
                f"contains email addresses other than the lead's: {', '.join(emails)}",
            )
        )
    others = ctx.other_leads_named(sorted(set(_phrases(text)) - ctx.known_customers))
    if others:
        out.append(
            Violation(
                "guardrail.personal_data",
                f"names other leads or their companies: {', '.join(sorted(others))}",
            )
        )
    return out


def _placeholders(text: str) -> list[Violation]:
    found = sorted({m.group(0) for m in _PLACEHOLDER.finditer(text)})
    if not found:
        return []
    return [Violation("guardrail.placeholders", f"unfilled placeholders: {', '.join(found)}")]


def _phrases(text: str) -> Iterable[str]:
    """Capitalised runs of one to four words and every shorter run inside them."""
    for match in _CAPITALISED.finditer(text):
        words = match.group(0).split()
        for size in range(1, len(words) + 1):
            for start in range(len(words) - size + 1):
                yield " ".join(words[start : start + size])
