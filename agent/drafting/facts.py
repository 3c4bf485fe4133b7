"""Which of the facts a draft lists as used it actually says (issue #16: 115 of 119 demo drafts
listed "works at <company>" and never named the company). A fact counts as said when the words
a reader would need to see are in the subject or body: the company of "works at X", the industry
of "X is in Y", the title of "is T", the topic or the thing done of "recently …"."""

from __future__ import annotations

import re

from agent.drafting.models import EmailDraft

_ACTIVITY_NOUNS = (
    "blog post",
    "white paper",
    "webinar",
    "case study",
    "roi calculator",
    "emails",
    "email",
    "documents",
    "options",
)


def _words(text: str) -> str:
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))


def fact_keys(fact: str) -> list[str]:
    """The words a reader would have to see for the fact to be used (any one is enough)."""
    if fact.startswith("works at "):
        return [fact.removeprefix("works at ")]
    if " is in " in fact:
        return [fact.split(" is in ", 1)[1]]
    if fact.startswith("recently "):
        keys = [fact.split(" on ", 1)[1]] if " on " in fact else []
        return keys + [n for n in _ACTIVITY_NOUNS if n in fact.casefold()]
    if fact.startswith("is "):
        return [fact.removeprefix("is ")]
    return [fact]


def said(fact: str, text: str) -> bool:
    padded = f" {_words(text)} "
    return any(_words(k) and f" {_words(k)} " in padded for k in fact_keys(fact))


def facts_said(draft: EmailDraft) -> EmailDraft:
    """The draft with `lead_facts_used` cut to the facts its subject and body say."""
    text = f"{draft.subject}\n{draft.body}"
    kept = [fact for fact in draft.lead_facts_used if said(fact, text)]
    return (
        draft
        if kept == draft.lead_facts_used
        else draft.model_copy(update={"lead_facts_used": kept})
    )
