"""Multi-turn cases: a suite case with a `feedback:` step is drafted, answered with that feedback
(as `nurture respond` would), and the redraft is what every check judges. One more check reads
both turns: a redraft after feedback must differ from the draft it replaces, unless the drafter
said, in the draft's notes, that it could not apply the feedback (issue #16: a byte-identical
redraft, silently)."""

from __future__ import annotations

from dataclasses import dataclass

from evals.checks.model import CheckResult


@dataclass(frozen=True, slots=True)
class Turn:
    """One draft of a conversation with the drafter."""

    subject: str
    body: str
    notes: tuple[str, ...] = ()


_CANNOT = "cannot apply"


def redraft_changed(feedback: str, first: Turn, redraft: Turn) -> CheckResult:
    if (first.subject, first.body) != (redraft.subject, redraft.body):
        return CheckResult("redraft_changed", True, f"the redraft differs after '{feedback}'")
    said = [n for n in redraft.notes if _CANNOT in n]
    if said:
        return CheckResult("redraft_changed", True, f"unchanged, and says so: {said[0]}")
    return CheckResult(
        "redraft_changed",
        False,
        f"the redraft after '{feedback}' is identical to the draft it replaces, and nothing "
        "says the feedback could not be applied",
    )


MULTI_TURN_CHECKS = ("redraft_changed",)
