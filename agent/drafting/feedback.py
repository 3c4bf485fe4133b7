"""What the template drafter can do with a marketer's feedback (`nurture respond ID "..."`).

It reads the feedback clause by clause ("lose the detail line, mention they are a food
manufacturer" is two) and acts on these requests, in any wording close to the examples:

- shorter ("shorter", "too long", "more concise"): one sentence of summary, no team-story
  line, no offer;
- another asset ("another asset", "a different piece", "something else"): the next asset that
  fits the stage;
- drop a part ("drop the detail line", "lose the offer", "remove the opening"): that part goes;
- more formal ("more formal"): "Dear …," and "Kind regards,";
- more casual ("more casual", "less formal", "friendlier"): "Hi …," and "Cheers,";
- mention a fact ("mention they are a food manufacturer"): a sentence saying it, after the
  opening.

Anything else is not guessed at: the draft says so in the inbox ("the template drafter cannot
apply this; set NURTURE_LLM_BASE_URL"), so a redraft is never silently identical."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_CLAUSES = re.compile(r"[,;.\n]+|\band\b(?=\s+(?:mention|drop|lose|remove|cut|make|use|pick))")
_SHORTER = re.compile(r"\b(?:shorter|shorten|too long|more concise|concise|trim|tighter)\b", re.I)
_OTHER = re.compile(
    r"\b(?:another|different|other)\s+(?:asset|piece|resource|content|article|one)\b"
    r"|\bsomething else\b",
    re.I,
)
_DROP = re.compile(r"\b(?:drop|lose|remove|cut|delete|skip|no)\b\s+(?:the\s+)?(?P<part>.+)", re.I)
_FORMAL = re.compile(r"\bmore formal\b|\bformal\b", re.I)
_CASUAL = re.compile(r"\b(?:more casual|casual|less formal|friendlier|more relaxed)\b", re.I)
_MENTION = re.compile(r"\bmention\b\s+(?:that\s+)?(?P<fact>.+)", re.I)
# the part a "drop" clause names → the field of the email it removes
_PARTS = (
    (re.compile(r"detail|summary|description|second paragraph|middle", re.I), "summary"),
    (re.compile(r"offer|walk ?through|call|help line", re.I), "offer"),
    (re.compile(r"team(?:s)? like yours|peer|story line", re.I), "peer_line"),
    (re.compile(r"opening|hook|intro|first (?:line|paragraph|sentence)", re.I), "hook"),
)


@dataclass
class Changes:
    shorter: bool = False
    other_asset: bool = False
    drop: list[str] = field(default_factory=list)
    tone: str | None = None
    mention: str | None = None
    cannot: list[str] = field(default_factory=list)
    applied: list[str] = field(default_factory=list)

    @property
    def drop_summary_fully(self) -> bool:
        """'Drop the detail line' means no line about the asset at all, not its title instead."""
        return "summary" in self.drop

    def refuse(self, what: str) -> None:
        self.cannot.append(what)

    def apply(self, parts: Any) -> None:
        """Edits the email's parts (agent.drafting.template._Parts) as asked."""
        if self.shorter:
            first = re.split(r"(?<=[.!?])\s", parts.summary, maxsplit=1)[0]
            # one sentence already: the title alone says what the asset is, in fewer words
            parts.summary = first if first != parts.summary else ""
            parts.peer_line, parts.offer = "", ""
            self.applied.append("made it shorter")
        for name in self.drop:
            setattr(parts, name, "")
            self.applied.append(f"dropped the {name.replace('_', ' ')}")
        if self.tone == "formal":
            parts.greeting = re.sub(r"^Hi\b", "Dear", parts.greeting)
            parts.sign_off = "Kind regards,"
            self.applied.append("made it more formal")
        elif self.tone == "casual":
            parts.greeting = re.sub(r"^(?:Dear|Hello)\b", "Hi", parts.greeting)
            parts.sign_off = "Cheers,"
            self.applied.append("made it more casual")
        if self.mention:
            parts.mention = _mention_sentence(self.mention)
            self.applied.append(f"mentioned that {self.mention}")
        if self.other_asset and "another asset" not in " ".join(self.cannot):
            self.applied.append("picked another asset")

    def notes(self) -> list[str]:
        out = []
        if self.applied:
            out.append("feedback applied by the template drafter: " + "; ".join(self.applied))
        if self.cannot:
            quoted = "; ".join(f"'{c}'" for c in self.cannot)
            out.append(
                f"the template drafter cannot apply this: {quoted}; set NURTURE_LLM_BASE_URL "
                "to have a model apply it"
            )
        return out


def read_feedback(feedback: str) -> Changes:
    changes = Changes()
    for clause in (c.strip() for c in _CLAUSES.split(feedback)):
        if clause and not _read_clause(clause, changes):
            changes.refuse(clause)
    return changes


def _read_clause(clause: str, changes: Changes) -> bool:
    if mention := _MENTION.search(clause):
        changes.mention = mention.group("fact").strip().rstrip(".")
        return True
    if _SHORTER.search(clause):
        changes.shorter = True
        return True
    if _OTHER.search(clause):
        changes.other_asset = True
        return True
    if _CASUAL.search(clause):
        changes.tone = "casual"
        return True
    if _FORMAL.search(clause):
        changes.tone = "formal"
        return True
    if drop := _DROP.search(clause):
        for pattern, name in _PARTS:
            if pattern.search(drop.group("part")):
                changes.drop.append(name)
                return True
    return False


def _mention_sentence(fact: str) -> str:
    """'they are a food manufacturer' → 'As a food manufacturer, you may find this relevant.'"""
    fact = re.sub(r"^(?:they|he|she)\s+(?:are|is)\s+", "", fact, flags=re.I)
    if re.match(r"^(?:a|an)\s", fact, re.I):
        return f"As {fact}, you may find this especially relevant."
    return f"This may be relevant to {fact}."
