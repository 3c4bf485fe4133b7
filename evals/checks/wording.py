"""Words a draft must not use: spam triggers (a curated list shipped beside this module) and the
words a case forbids for its own lead (e.g. what a prompt injection tried to make us promise)."""

from __future__ import annotations

from functools import cache
from importlib import resources

from evals.checks.model import CheckInput, CheckResult
from evals.checks.text import find_phrases


@cache
def spam_phrases() -> tuple[str, ...]:
    text = resources.files(__package__).joinpath("spam_words.txt").read_text(encoding="utf-8")
    lines = (line.split("#", 1)[0].strip() for line in text.splitlines())
    return tuple(line for line in lines if line)


def spam_words(inp: CheckInput) -> CheckResult:
    found = find_phrases(spam_phrases(), inp.text)
    if found:
        return CheckResult("spam_words", False, f"spam triggers: {', '.join(found)}")
    return CheckResult("spam_words", True, f"none of {len(spam_phrases())} spam triggers")


def must_not_use(inp: CheckInput) -> CheckResult:
    banned = inp.expect.must_not_use
    found = find_phrases(banned, inp.text)
    if found:
        return CheckResult("must_not_use", False, f"uses {', '.join(found)}")
    detail = f"none of: {', '.join(banned)}" if banned else "the case forbids nothing"
    return CheckResult("must_not_use", True, detail)
