"""Length checks, against the limits in the playbook's guardrails."""

from __future__ import annotations

from agent.guardrails import word_count
from evals.checks.model import CheckInput, CheckResult


def subject_length(inp: CheckInput) -> CheckResult:
    size = len(inp.subject.strip())
    limit = inp.guardrails.subject_max_chars
    if size == 0:
        return CheckResult("subject_length", False, "the subject is empty", 0.0)
    detail = f"{size} characters; the limit is {limit}"
    return CheckResult("subject_length", size <= limit, detail, float(size))


def body_length(inp: CheckInput) -> CheckResult:
    words = word_count(inp.body)
    limit = inp.guardrails.body_max_words
    if words == 0:
        return CheckResult("body_length", False, "the body is empty", 0.0)
    detail = f"{words} words; the limit is {limit}"
    return CheckResult("body_length", words <= limit, detail, float(words))
