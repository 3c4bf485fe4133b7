"""How the email is put together: it ends with the playbook's unsubscribe line and it asks the
reader to do something."""

from __future__ import annotations

import re

from evals.checks.model import CheckInput, CheckResult
from evals.checks.text import URL, unsubscribe_pattern, without_unsubscribe

# Imperatives that open a sentence or line ("Book a time", "Please reply"), and a few common
# invitations that are not imperatives but ask for the same thing.
_CTA_VERBS = (
    "book",
    "reply",
    "read",
    "watch",
    "join",
    "schedule",
    "register",
    "download",
    "see",
    "try",
    "explore",
    "grab",
    "pick",
    "save",
    "sign up",
    "take a look",
    "have a look",
    "let me know",
    "let us know",
)
_IMPERATIVE = re.compile(
    r"(?:^|[.!?:]\s+|\n\s*)(?:please\s+|just\s+|feel free to\s+)?(?:"
    + "|".join(re.escape(v) for v in _CTA_VERBS)
    + r")\b",
    re.IGNORECASE,
)
_INVITATION = re.compile(
    r"\b(?:happy to (?:walk|show|share|talk|help)|worth a (?:read|look)|would you like"
    r"|shall we|are you free)\b",
    re.IGNORECASE,
)
_QUESTION = re.compile(r"\w[^.!?\n]*\?")


def unsubscribe(inp: CheckInput) -> CheckResult:
    line = inp.guardrails.unsubscribe_line
    if unsubscribe_pattern(inp.guardrails).search(inp.body.rstrip()):
        return CheckResult("unsubscribe", True, f"ends with '{line}'")
    if line.split("{", 1)[0] in inp.body:
        return CheckResult(
            "unsubscribe", False, f"carries '{line}' but not as the last line, or without a link"
        )
    return CheckResult("unsubscribe", False, f"the body does not end with '{line}'")


def call_to_action(inp: CheckInput) -> CheckResult:
    # the unsubscribe line has a question and a link of its own: they are not the email's ask
    body = without_unsubscribe(inp.body, inp.guardrails)
    found = []
    if URL.search(body):
        found.append("a link")
    question = _QUESTION.search(body)
    if question:
        found.append(f"a question ('{question.group(0).strip()}')")
    ask = _IMPERATIVE.search(body) or _INVITATION.search(body)
    if ask:
        found.append(f"an ask ('{ask.group(0).strip(' .!?:').strip()}')")
    if found:
        return CheckResult("call_to_action", True, "has " + ", ".join(found))
    return CheckResult(
        "call_to_action", False, "no link, no question and no ask outside the unsubscribe line"
    )
