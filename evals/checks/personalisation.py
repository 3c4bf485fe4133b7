"""Personalisation: the draft uses at least one of the facts the case says it should."""

from __future__ import annotations

from evals.checks.model import CheckInput, CheckResult
from evals.checks.text import normalise, prose


def personalisation(inp: CheckInput) -> CheckResult:
    wanted = inp.expect.personalise_on
    if not wanted:
        return CheckResult("personalisation", True, "the case names no facts to use", None)
    # what the reader reads: a fact inside a link ("/blog/route-optimisation") is not used, nor
    # is one in the unsubscribe line; padded with spaces so "ops" does not count inside "devops"
    text = f" {normalise(inp.subject + ' ' + prose(inp.body, inp.guardrails))} "
    used = [fact for fact in wanted if normalise(fact) and f" {normalise(fact)} " in text]
    score = len(used) / len(wanted)
    if used:
        return CheckResult("personalisation", True, f"uses {', '.join(used)}", score)
    return CheckResult("personalisation", False, f"uses none of: {', '.join(wanted)}", score)
