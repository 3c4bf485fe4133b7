"""Personalisation: the draft uses at least one of the facts the case says it should."""

from __future__ import annotations

from evals.checks.model import CheckInput, CheckResult
from evals.checks.text import normalise


def personalisation(inp: CheckInput) -> CheckResult:
    wanted = inp.expect.personalise_on
    if not wanted:
        return CheckResult("personalisation", True, "the case names no facts to use", None)
    # padded with spaces so "ops" does not count as used inside "devops"
    text = f" {normalise(inp.text)} "
    used = [fact for fact in wanted if normalise(fact) and f" {normalise(fact)} " in text]
    score = len(used) / len(wanted)
    if used:
        return CheckResult("personalisation", True, f"uses {', '.join(used)}", score)
    return CheckResult("personalisation", False, f"uses none of: {', '.join(wanted)}", score)
