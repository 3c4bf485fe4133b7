"""Checks that see what a reader sees (issue #16): a subject that is a real subject, a hook that
says what the lead really did, a topic the cited asset really covers, "teams like yours" only
when the story is about a team like theirs, and every fact the draft lists as used actually in
the body.

Each reads the email as the lead would (prose: no links, no unsubscribe line) and compares it
with the evidence: the lead's timeline (`activities`) and the cited assets' own tags."""

from __future__ import annotations

import re

from agent.drafting.facts import said
from evals.checks.model import Activity, CheckInput, CheckResult
from evals.checks.text import normalise, prose

_ELLIPSIS = ("…", "...")

# A claim about something the lead did, and the signals that make it true.
_CLAIMS: tuple[tuple[str, re.Pattern[str], frozenset[str]], ...] = tuple(
    (label, re.compile(pattern, re.IGNORECASE), frozenset(signals))
    for label, pattern, signals in (
        ("read a blog post", r"\bread\b[^.?!\n]{0,30}\bblog\b", ("blog_view",)),
        (
            "downloaded a white paper",
            r"\bdownload\w*\b[^.?!\n]{0,30}\bwhite ?papers?\b",
            ("whitepaper_download",),
        ),
        (
            "attended a webinar",
            r"\b(?:attended|joined|watched)\b[^.?!\n]{0,30}\bwebinar",
            ("webinar_attended",),
        ),
        (
            "registered for a webinar",
            r"\bregistered\b[^.?!\n]{0,20}\bwebinar",
            ("webinar_registered", "webinar_attended"),
        ),
        (
            "read a case study",
            r"\b(?:read|looked at|viewed)\b[^.?!\n]{0,30}\bcase stud",
            ("case_study_view",),
        ),
        (
            "tried the ROI calculator",
            r"\b(?:tried|used)\b[^.?!\n]{0,20}\bROI calculator",
            ("roi_calculator_used",),
        ),
        ("compared options", r"\bcompared (?:options|us)\b", ("comparison_page_view",)),
        ("clicked an email", r"\bclicked\b", ("email_click",)),
    )
)
_YOU = re.compile(r"\byou(?:r)?\b", re.IGNORECASE)
# "you have been reading about X", "your interest in X", "where we left off on X"
_LEAD_TOPIC = re.compile(
    r"\b(?:reading (?:up )?(?:about|on)|read about|interest in|looking into|looked into"
    r"|left off on|we talked about|you (?:asked|wrote) about)\s+(?P<rest>[^.?!\n]+)",
    re.IGNORECASE,
)
# "<a blog post> on X": the topic of the thing the lead did, not a claim about the asset
_ACTIVITY_TOPIC = re.compile(
    r"(?:\b(?:blog posts?|white ?papers?|webinars?|case stud(?:y|ies)|emails?|calculator)"
    r"\s+(?:on|about)|\breading (?:up )?(?:about|on)|\bread about|\binterest in"
    r"|\blook(?:ing|ed) into)\s+$",
    re.IGNORECASE,
)
_PEER = re.compile(
    r"\b(?:teams?|compan(?:y|ies)|businesses|operations?|fleets?|people) like yours\b",
    re.IGNORECASE,
)


def _sentences(text: str) -> list[str]:
    return [s.strip() for s in re.split(r"(?<=[.?!])\s+|\n+", text) if s.strip()]


def _has(phrase: str, text: str) -> bool:
    """Whole-phrase, case- and punctuation-insensitive."""
    words = normalise(phrase)
    return bool(words) and f" {words} " in f" {normalise(text)} "


def subject_quality(inp: CheckInput) -> CheckResult:
    subject = inp.subject.strip()
    if subject.endswith(_ELLIPSIS):
        return CheckResult("subject_quality", False, f"the subject is cut: '{subject}'")
    for asset in inp.assets:
        title = normalise(asset.title)
        if not title:
            continue
        # "For Acme: <title>" is still the title pasted in
        after_colon = normalise(subject.split(":", 1)[1]) if ":" in subject else None
        if normalise(subject) == title or after_colon == title:
            return CheckResult(
                "subject_quality", False, f"the subject is the title of {asset.asset_id}"
            )
        if len(normalise(subject)) > 10 and title.startswith(normalise(subject)):
            return CheckResult(
                "subject_quality", False, f"the subject is a cut title of {asset.asset_id}"
            )
    return CheckResult("subject_quality", True, "a subject of its own, not a cut or pasted title")


def _known_topics(inp: CheckInput) -> set[str]:
    topics = {t for a in inp.assets for t in a.topics}
    topics |= {a.topic for a in inp.activities if a.topic}
    return {t for t in topics if normalise(t)}


def _did(activities: tuple[Activity, ...], signals: frozenset[str]) -> bool:
    return any(a.signal in signals for a in activities)


def hook_evidence(inp: CheckInput) -> CheckResult:
    """What the draft says the lead did, and on what topic, is in the lead's timeline."""
    text = prose(inp.body, inp.guardrails)
    lead_topics = {a.topic for a in inp.activities if a.topic}
    problems = []
    for sentence in _sentences(text):
        if not _YOU.search(sentence):
            continue
        for label, pattern, signals in _CLAIMS:
            if pattern.search(sentence) and not _did(inp.activities, signals):
                problems.append(f"says the lead {label}")
        for match in _LEAD_TOPIC.finditer(sentence):
            claimed = re.split(r"[,;:]| so | and ", match.group("rest"))[0].strip()
            if not any(_has(topic, claimed) for topic in lead_topics):
                problems.append(f"says the lead was into {claimed}")
    did = ", ".join(sorted({a.signal for a in inp.activities})) or "nothing yet"
    if problems:
        detail = "; ".join(dict.fromkeys(problems))
        return CheckResult("hook_evidence", False, f"{detail}; the timeline has: {did}")
    return CheckResult("hook_evidence", True, f"claims only what the timeline has ({did})")


def asset_topic(inp: CheckInput) -> CheckResult:
    """Every topic the email talks about is one the cited asset covers (the lead's own reading,
    named as such - "a white paper on X" - is exempt: that is about the lead, not the asset)."""
    cited = inp.cited()
    if not cited:
        return CheckResult("asset_topic", True, "cites nothing to compare with")
    text = prose(inp.body, inp.guardrails)
    covered = " ".join(f"{a.text} {' '.join(a.topics)}" for a in cited)
    stray = []
    for topic in sorted(_known_topics(inp)):
        about_asset = [
            m
            for m in re.finditer(re.escape(topic), text, re.IGNORECASE)
            if not _ACTIVITY_TOPIC.search(text[max(0, m.start() - 40) : m.start()])
        ]
        if about_asset and not _has(topic, covered):
            stray.append(topic)
    names = ", ".join(a.asset_id for a in cited)
    if stray:
        return CheckResult(
            "asset_topic", False, f"talks about {', '.join(stray)}, which {names} does not cover"
        )
    return CheckResult("asset_topic", True, f"every topic named is covered by {names}")


def peer_match(inp: CheckInput) -> CheckResult:
    """'A team like yours' promises a story about the reader's peers: a case study whose
    customer shares the lead's industry (or, when the industry is unknown, whose readers share
    the lead's persona)."""
    text = prose(inp.body, inp.guardrails)
    claim = _PEER.search(text)
    if not claim:
        return CheckResult("peer_match", True, "makes no 'like yours' claim")
    for asset in inp.cited():
        if asset.kind != "case_study":
            continue
        if inp.lead_industry:  # a known industry decides; the persona only stands in for it
            if inp.lead_industry.casefold() in {i.casefold() for i in asset.industries}:
                return CheckResult(
                    "peer_match", True, f"{asset.asset_id} is a {inp.lead_industry} story"
                )
        elif inp.lead_persona and inp.lead_persona in asset.personas:
            return CheckResult(
                "peer_match", True, f"{asset.asset_id} is for {inp.lead_persona} readers"
            )
    kinds = ", ".join(
        f"{a.asset_id} ({a.kind}, {'/'.join(a.industries) or 'no industry'})" for a in inp.cited()
    )
    who = inp.lead_industry or "an unknown industry"
    return CheckResult(
        "peer_match", False, f"says '{claim.group(0)}' to a lead in {who}, citing {kinds}"
    )


def facts_used(inp: CheckInput) -> CheckResult:
    """Every fact the draft lists as used is in what the lead reads (judged the way the agent
    trims the list, agent.drafting.facts, so the two cannot disagree)."""
    text = f"{inp.subject}\n{prose(inp.body, inp.guardrails)}"
    missing = [f for f in inp.lead_facts_used if not said(f, text)]
    if missing:
        quoted = ", ".join(f"'{m}'" for m in missing)
        return CheckResult("facts_used", False, f"lists as used but never says: {quoted}")
    n = len(inp.lead_facts_used)
    return CheckResult("facts_used", True, f"all {n} facts listed as used are in the email")
