"""How the email is put together: it ends with the playbook's unsubscribe line and it asks the
reader to do something."""

from __future__ import annotations

import re

from evals.checks.model import CheckInput, CheckResult
from evals.checks.text import URL, unsubscribe_pattern, without_unsubscribe

# An ask aimed at the reader, in one of three shapes. A bare link is not an ask (it tells the
# reader nothing to do), and neither is a rhetorical question ("Did you know fleets waste time?").
#
# 1. An imperative opening a sentence or line ("Book a time", "Please reply"). Each verb needs a
#    continuation that makes it an instruction, so "See you around." and "Read by 2,000 planners."
#    are not asks.
_OBJECT = r"(?:a|an|the|your|our|this|these|that|it|them|some|more|here|now|below|today)\b"
_CTA_VERBS = (
    rf"book\s+(?:{_OBJECT}|in\b|time\b|yourself\b)",
    r"reply(?:\s*(?:[.!:,\u2014\u2013-]|$)|\s+(?:to|with|here|and|if|yes|below|now|today)\b"
    r"|\s+[\"'\u201c\u2018])",
    rf"read\s+(?:{_OBJECT}|how|why|what|about|on|up|through)\b",
    rf"watch\s+(?:{_OBJECT}|how|what|on)\b",
    rf"join\s+(?:{_OBJECT}|us|me|in)\b",
    rf"register\s*(?::|$|(?:{_OBJECT}|for|at)\b)",
    r"sign\s+up\b",
    rf"schedule\s+(?:{_OBJECT}|time\b)",
    rf"download\s+{_OBJECT}",
    r"see\s+(?:how|what|why|where|whether|if|for yourself|the|it|this|our|more|them)\b",
    rf"try\s+(?:{_OBJECT}|out\b)",
    rf"explore\s+(?:{_OBJECT}|how|what)\b",
    rf"grab\s+(?:{_OBJECT}|time\b)",
    r"pick\s+(?:a|an|the|your)\b",
    r"save\s+(?:your|a|the)\s+(?:spot|seat|place|date)\b",
    rf"visit\s+{_OBJECT}",
    r"(?:check|find)\s+(?:it\s+)?out\b",
    r"learn\s+(?:more|how)\b",
    r"(?:take|have)\s+a\s+(?:quick\s+)?look\b",
    r"let\s+(?:me|us)\s+know\b",
    r"get\s+in\s+(?:touch|contact)\b",
    r"drop\s+(?:me|us)\s+a\s+(?:line|note)\b",
    r"reach\s+out\b",
    r"(?:contact|call|email|ring)\s+(?:me|us)\b",
    r"hit\s+reply\b",
    r"forward\s+(?:this|it)\b",
)
_IMPERATIVE = re.compile(
    r"^(?:(?:please|just|simply|feel free to|do|so|then|why not)\s+)*(?:"
    + "|".join(_CTA_VERBS)
    + ")",
    re.IGNORECASE,
)
# 2. An invitation that is not an imperative but asks for the same thing, anywhere in a sentence.
_INVITATION = re.compile(
    r"\b(?:(?:happy|glad|delighted) to (?:walk|show|share|talk|help|set up|send|answer|run"
    r"|take|chat|arrange|go through)"
    r"|i(?:(?:'|\u2019)d|\s+would) (?:love|like|be (?:happy|glad)) to (?:show|walk|share|talk|chat"
    r"|hear|set up|send)"
    r"|worth a (?:read|look|watch|listen)"
    r"|you can (?:read|watch|find|see|download|register|book|reply|join|get|grab|pick|sign up"
    r"|explore|try|reach|contact|access|view)"
    r"|you(?:'|\u2019)?ll find|you will find"
    r"|here(?:'|\u2019)?s the link|here is the link|the link is (?:below|here)"
    r"|if you(?:'|\u2019)?d like|if you would like|if you(?:'|\u2019)?re (?:interested|curious)"
    r"|if you are (?:interested|curious)"
    r"|let(?:'|\u2019)?s (?:talk|chat|find|set up|book|schedule|meet))\b",
    re.IGNORECASE,
)
# "The full story is here:" followed by a link is an invitation to read it.
_HERE_IS_THE_LINK = re.compile(
    r"(?P<lead>[^.!?\n]*\b(?:is|are)\s+(?:here|below))\s*[:.]?\s*" + URL.pattern, re.IGNORECASE
)
# 3. A question to the reader: one that names them ("What time suits you?"), one that puts a
#    next step to them ("Should we talk?"), or a polite offer ("Would a short call help?").
_RHETORICAL = re.compile(
    r"\b(?:did you (?:know|ever)|do you know|have you ever"
    r"|ever wonder(?:ed)?|what if|who (?:doesn(?:'|\u2019)?t|wouldn(?:'|\u2019)?t|else)"
    r"|wouldn(?:'|\u2019)?t it|isn(?:'|\u2019)?t it|don(?:'|\u2019)?t you)\b",
    re.IGNORECASE,
)
_OFFER = re.compile(
    r"^(?:would|shall|is it worth|worth|any chance|how about|fancy|why not|interested|open to)\b",
    re.IGNORECASE,
)
_AUXILIARY = re.compile(r"^(?:can|could|should|may|might|will|do|does|is|are)\b", re.IGNORECASE)
_READER = re.compile(r"\b(?:you|your|yours|you(?:'|\u2019)(?:re|d|ll|ve))\b", re.IGNORECASE)
_US = re.compile(r"\b(?:we|us|i|me|our|my)\b", re.IGNORECASE)


def _sentences(text: str) -> list[str]:
    """Sentences and lines, each stripped: an ask opens one or is one."""
    return [
        part.strip()
        for line in text.splitlines()
        for part in re.split(r"(?<=[.!?:])\s+", line)
        if part.strip()
    ]


def _asks_the_reader(question: str) -> bool:
    if _RHETORICAL.search(question):
        return False
    if _READER.search(question) or _OFFER.search(question):
        return True
    return bool(_AUXILIARY.search(question) and _US.search(question))


def _asks(body: str) -> list[str]:
    """What in the body asks the reader to do something, each described for the detail."""
    found = []
    sentences = _sentences(URL.sub(" ", body))
    question = next((s for s in sentences if s.endswith("?") and _asks_the_reader(s)), None)
    if question:
        found.append(f"a question ('{question}')")
    imperative = next((s for s in sentences if _IMPERATIVE.search(s)), None)
    invitations = [m.group(0) for m in _INVITATION.finditer(body)]
    # "The full story is here:" and its link
    invitations += [f"{m.group('lead').strip()}: <link>" for m in _HERE_IS_THE_LINK.finditer(body)]
    invitations = list(dict.fromkeys(invitations))
    if imperative:
        found.append(f"an ask ('{imperative.strip(' .!?:')}')")
    elif invitations:
        found.append("an invitation (" + ", ".join(f"'{i}'" for i in invitations[:3]) + ")")
    return found


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
    found = _asks(without_unsubscribe(inp.body, inp.guardrails))
    if found:
        return CheckResult("call_to_action", True, "has " + ", ".join(found))
    return CheckResult(
        "call_to_action",
        False,
        "no ask aimed at the reader outside the unsubscribe line: no question to them, no "
        "call-to-action verb and no invitation (a bare link or a rhetorical question does not "
        "count)",
    )
