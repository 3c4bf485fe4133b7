"""The same opening sentence sent to many leads reads as a form letter (issue #16: one sentence
went to 11 of 119 leads). A run may share an opening between a tenth of its drafts (and at
least two); every draft whose opening more drafts share fails."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from types import MappingProxyType

from evals.checks.model import CheckResult
from evals.checks.text import normalise

# Greetings are expected to repeat; the opening is the first sentence after one.
_GREETING = re.compile(r"^(?:hi|hello|dear|hey|good (?:morning|afternoon))\b", re.IGNORECASE)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s")

Draft = tuple[str, str]
"""(case id, body)"""
RunCheck = Callable[[list[Draft]], dict[str, CheckResult]]


def opening_of(body: str) -> str:
    """The first sentence after the greeting, normalised (case and punctuation ignored)."""
    for line in body.splitlines():
        line = line.strip()
        if not line or _GREETING.match(line):
            continue
        return normalise(_SENTENCE_END.split(line, maxsplit=1)[0])
    return ""


def allowed_share(drafts: int) -> int:
    return max(2, drafts // 10)


def repeated_opening(drafts: list[Draft]) -> dict[str, CheckResult]:
    openings = {case_id: opening_of(body) for case_id, body in drafts}
    counts = Counter(o for o in openings.values() if o)
    limit = allowed_share(len(drafts))
    results = {}
    for case_id, opening in openings.items():
        shared = counts.get(opening, 0)
        passed = shared <= limit
        detail = (
            f"opening shared by {shared} of {len(drafts)} drafts (at most {limit})"
            if opening
            else "no opening sentence"
        )
        results[case_id] = CheckResult("repeated_opening", passed and bool(opening), detail)
    return results


RUN_CHECKS: Mapping[str, RunCheck] = MappingProxyType({"repeated_opening": repeated_opening})
