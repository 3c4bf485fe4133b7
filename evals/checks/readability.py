"""Readability: the Flesch reading ease of what the lead actually reads.

Short, plain sentences get more replies in sales email (see shared/style), so the suite sets a
floor. Links and the unsubscribe line are left out: a URL reads as one very long word."""

from __future__ import annotations

import textstat

from evals.checks.model import CheckInput, CheckResult
from evals.checks.text import prose


def flesch_reading_ease(text: str) -> float:
    return float(textstat.flesch_reading_ease(text))


def readability(inp: CheckInput) -> CheckResult:
    text = prose(inp.body, inp.guardrails)
    floor = inp.thresholds.readability_min
    if not text.split():
        return CheckResult("readability", False, "the body has no prose to read", None)
    score = flesch_reading_ease(text)
    verdict = "at or above" if score >= floor else "below"
    return CheckResult(
        "readability",
        score >= floor,
        f"Flesch reading ease {score:.1f}, {verdict} {floor:g}",
        score,
    )
