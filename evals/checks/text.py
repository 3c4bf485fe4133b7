"""Text helpers the checks share: phrase matching, the unsubscribe line, and the prose of a body."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache

from agent.playbook.models import Guardrails

URL = re.compile(r"https?://\S+")
# The playbook writes the unsubscribe line as a template; drafts carry it with a real link.
_URL_SLOT = "{unsubscribe_url}"


# Apostrophes as typed and as word processors and models write them.
_APOSTROPHES = "'\u2019\u2018\u02bc"
# Between the words of a phrase: any run of spaces or hyphens/dashes ("price list", "price-list").
_SEPARATOR = r"[\s\-\u2010\u2011\u2012\u2013]+"
# A percent sign however it is written: "50%", "50 %", "50 percent", "50 per cent".
_PERCENT = r"\s*(?:%|per\s*cent)"


def _word_pattern(word: str, *, last: bool) -> str:
    """One word of a phrase: apostrophes in any form, "%" in any spelling, and, for the last
    word, its common inflections ("discount" also matches "discounts" and "discounted")."""
    out = []
    for char in word:
        if char in _APOSTROPHES:
            out.append(f"[{_APOSTROPHES}]?")  # "don't", "don\u2019t" and "dont"
        elif char == "%":
            out.append(_PERCENT)
        else:
            out.append(re.escape(char))
    if not (last and len(word) >= 3 and word[-1].isalpha()):
        return "".join(out)  # "50%", "$99", "a": no inflection
    stem = "".join(out[:-1])
    if word[-1].lower() == "e":  # price: prices, priced, pricing
        return stem + r"(?:e|es|ed|ing)"
    if word[-1].lower() == "y" and word[-2].lower() not in "aeiou":
        return stem + r"(?:y|ies|ied|ying)"  # reply: replies, replied, replying
    return "".join(out) + r"(?:s|es|ed|ing)?"  # demo: demos, demoed; not "demonstrate"


@cache
def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """A whole-phrase, case-insensitive pattern that tolerates how the same words get written.

    Lookarounds instead of `\\b`, so phrases that start or end with a symbol ("50%", "$99")
    still only match as whole words. Spaces and hyphens between words are interchangeable
    ("risk-free" matches "risk free", "price list" matches "price-list"), curly and straight
    apostrophes are the same, "%" also matches " %" and " percent", and the last word may carry
    an inflection ("demo" matches "demos" and "demoed", never "demonstrate")."""
    words = [w for w in re.split(r"[\s\-\u2010\u2011\u2012\u2013]+", phrase.strip()) if w]
    parts = [_word_pattern(w, last=n == len(words) - 1) for n, w in enumerate(words)]
    return re.compile(r"(?<!\w)" + _SEPARATOR.join(parts) + r"(?!\w)", re.IGNORECASE)


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


# Unfilled template slots, in the syntaxes drafts and mail tools use. Stricter than the agent's
# own guardrail (which the placeholders check also runs): an eval should catch what slipped past.
_PLACEHOLDER = re.compile(
    r"\{\{[^{}\n]*\}\}|\{[^{}\n]+\}"  # {{first_name}}, {name}, {a long run of anything}
    r"|\{\{?\s*[A-Za-z_][\w.]*"  # unclosed: "{{first_name", "{company"
    r"|\[\s*[A-Za-z][^\[\]\n]{0,60}\](?!\()"  # [Company Name], [Date], [link]; not [1], [a](url)
    r"|<\s*[A-Za-z][A-Za-z _.-]{0,40}>"  # <first name>, <COMPANY>
    r"|\*\|[^|\n]+\|\*"  # Mailchimp: *|FNAME|*
    r"|%[A-Za-z_][\w.]*%"  # %FIRSTNAME%
    r"|\$\{?[A-Za-z_]\w*\}?"  # $first_name, ${name}
    r"|\b(?:TODO|TBD|XXX+)\b|\blorem ipsum\b",
    re.IGNORECASE,
)
# Percent-encoding in a link ("%20", "%E2%80%99") is not a %SLOT%.
_PERCENT_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_NOT_SLOTS = frozenset({"[sic]"})


def find_placeholders(text: str) -> list[str]:
    """Unfilled placeholders in the text, each once, sorted."""
    text = URL.sub(lambda m: _PERCENT_ESCAPE.sub("", m.group(0)), text)
    found = {m.group(0).strip() for m in _PLACEHOLDER.finditer(text)}
    # a long run is shown by its start: the detail names it, it need not quote it
    return sorted(
        f if len(f) <= 40 else f[:39] + "\u2026" for f in found if f.lower() not in _NOT_SLOTS
    )
