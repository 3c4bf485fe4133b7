"""Text helpers the checks share: phrase matching, the unsubscribe line, and the prose of a body."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from agent.playbook.models import Guardrails

URL = re.compile(r"https?://\S+")
# The playbook writes the unsubscribe line as a template; drafts carry it with a real link.
_URL_SLOT = "{unsubscribe_url}"


@cache
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A whole-phrase, case-insensitive pattern.

    Lookarounds instead of `\\b`, so phrases that start or end with a symbol ("50%", "$99")
    still only match as whole words; any run of whitespace matches a space."""
    words = [re.escape(word) for word in phrase.split()]
    return re.compile(r"(?<!\w)" + r"\s+".join(words) + r"(?!\w)", re.IGNORECASE)


def find_phrases(phrases: Iterable[str], text: str) -> list[str]:
    """The phrases that occur in the text, in the order given, each once."""
    return list(dict.fromkeys(p for p in phrases if p.strip() and phrase_pattern(p).search(text)))


def unsubscribe_pattern(guardrails: Guardrails) -> re.Pattern[str]:
    """The playbook's unsubscribe line, with its link slot filled by any URL, ending the text."""
    parts = [re.escape(part) for part in guardrails.unsubscribe_line.split(_URL_SLOT)]
    return re.compile(URL.pattern.join(parts) + r"\s*\Z")


def without_unsubscribe(body: str, guardrails: Guardrails) -> str:
    """The body without its closing unsubscribe line: the line is boilerplate, and its own
    question mark and link must not count as the email's call to action or prose."""
    return unsubscribe_pattern(guardrails).sub("", body.rstrip()).rstrip()


def prose(body: str, guardrails: Guardrails) -> str:
    """What a person reads: the body without the unsubscribe line and without links."""
    return URL.sub(" ", without_unsubscribe(body, guardrails))


def normalise(text: str) -> str:
    """Case-folded words separated by single spaces, for matching facts loosely."""
    return " ".join(re.findall(r"[^\W_]+", text.casefold()))
