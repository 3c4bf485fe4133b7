"""Exit codes: whether what a command was asked to do happened, so a script can tell.

Derived from where the run ended, never listed per failure: an outcome a command does not know
(a new refusal, say) counts as "did not happen", so it can never pass for success."""

from __future__ import annotations

from collections.abc import Iterable

OK = 0
NOT_DONE = 1
"""What was asked for did not happen (a draft failed, a send was blocked or refused...)."""
USAGE = 2
"""A usage or configuration error: nothing was tried (typer's own code, and `main`'s)."""
UNCERTAIN = 3
"""It may or may not have happened (the mail server's verdict never came): a human checks."""

UNCERTAIN_OUTCOMES = frozenset({"needs_check"})
DECIDED_WITHOUT_DRAFT = frozenset({"suppressed", "with_sales", "waiting", "handed_off"})
"""The playbook said the lead should not hear from us now: a decision, not a failure."""

WANTED: dict[str, frozenset[str]] = {
    "draft": frozenset({"awaiting_approval", *DECIDED_WITHOUT_DRAFT}),
    "run": frozenset({"awaiting_approval", *DECIDED_WITHOUT_DRAFT}),
    "approve": frozenset({"sent", "scheduled"}),  # scheduled: waits for the send window
    "respond": frozenset({"awaiting_approval"}),
    "discard": frozenset({"discarded"}),
    "recover": frozenset(
        {"awaiting_approval", "sent", "scheduled", "discarded", *DECIDED_WITHOUT_DRAFT}
    ),
    "resend": frozenset({"sent"}),
}


def exit_code(command: str, outcome: str) -> int:
    """0 when `outcome` is what `command` was asked for, 3 when it may or may not have
    happened, else 1."""
    if outcome in WANTED[command]:
        return OK
    if outcome in UNCERTAIN_OUTCOMES:
        return UNCERTAIN
    return NOT_DONE


def worst(codes: Iterable[int]) -> int:
    """One code for many runs: an uncertain one outranks a failed one, which outranks success."""
    return max(codes, default=OK)
