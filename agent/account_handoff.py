"""The playbook's account-level hand-off (`accounts.handoff`) as a decision: when enough of an
account's contacts showed activity within the days it names, the account goes to sales once,
through its best contact's decision, and while the account is with sales marketing leaves the
rest of its buying committee alone.

Pure: the account's standing comes in as an AccountContext (agent/store/account_context.py
reads it in one query), so a decision stays a function of what it is given."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from agent.decisions import AccountContactOut, AccountOut, Decision, Reason

RULE = "accounts.handoff"
WITH_SALES_RULE = "with_sales.account"

NURTURE_ACTIONS = ("send_email", "re_engage", "wait")
"""What the account holds back while sales has it. A contact's suppression stands, and so does
its own hand-off rule (a demo request, a reply): a person asking for sales is handed over."""


@dataclass(frozen=True, slots=True)
class EngagedContact:
    lead_id: str
    name: str | None
    role: str
    score: float
    last_activity_at: datetime
    owner: str | None


@dataclass(frozen=True, slots=True)
class AccountContext:
    account_id: str
    engaged: tuple[EngagedContact, ...]
    """Contacts with lead activity within the rule's days (since the account's last hand-off
    ended), not suppressed, best first: highest score, then most recent activity, then id."""
    needed: int
    within_days: float
    open_handoff: str | None
    """The id of a hand-off of any of the account's contacts still with sales (new, delivered
    or accepted): the account is with sales."""

    @property
    def due(self) -> bool:
        return self.open_handoff is None and len(self.engaged) >= self.needed

    @property
    def best(self) -> EngagedContact | None:
        return self.engaged[0] if self.engaged else None

    @property
    def shared_owner(self) -> str | None:
        """The account's CRM owner: the one every engaged contact with an owner names (in any
        letter case); None when they name none or several."""
        owners = [c.owner.strip() for c in self.engaged if c.owner and c.owner.strip()]
        if len({owner.casefold() for owner in owners}) != 1:
            return None
        return owners[0]


def best_first(contacts: list[EngagedContact]) -> tuple[EngagedContact, ...]:
    return tuple(
        sorted(contacts, key=lambda c: (-c.score, -c.last_activity_at.timestamp(), c.lead_id))
    )


def apply_account(decision: Decision, context: AccountContext | None) -> Decision:
    """The lead's decision as its account changes it:

    - the account is with sales (a hand-off of any contact is new, delivered or accepted): a
      contact due a nurture email (or waiting for one) is with sales instead
      (with_sales.account); its suppression or its own hand-off rule stands;
    - the account meets the rule: its best contact is handed off (accounts.handoff, the engaged
      contacts named, its own reasons kept after), unless suppressed; the other contacts' nurture
      is held as above, so the run that hands the account over drafts nothing for them;
    - otherwise the lead's own decision stands."""
    if context is None or decision.action == "suppress":
        return decision
    if context.open_handoff is not None:
        if decision.action not in NURTURE_ACTIONS:
            return decision
        return _with_sales(
            decision,
            f"the account {context.account_id} is with sales (hand-off "
            f"{context.open_handoff}); its contacts get no nurture email meanwhile",
            context,
        )
    best = context.best
    if not context.due or best is None:
        return decision
    if best.lead_id != decision.lead_id:
        if decision.action not in NURTURE_ACTIONS:
            return decision
        return _with_sales(
            decision,
            f"the account {context.account_id} goes to sales through "
            f"{best.name or best.lead_id} ({_engaged_text(context)})",
            context,
        )
    reason = Reason(
        rule=RULE,
        text=f"{_engaged_text(context)}: {_names(context)}",
    )
    return decision.model_copy(
        update={
            "action": "handoff_to_sales",
            "wait_until": None,
            "content": None,
            "reasons": [reason, *decision.reasons],
            "account": _account_out(context),
        }
    )


def _with_sales(decision: Decision, text: str, context: AccountContext) -> Decision:
    return decision.model_copy(
        update={
            "action": "with_sales",
            "wait_until": None,
            "content": None,
            "reasons": [Reason(rule=WITH_SALES_RULE, text=text), *decision.reasons],
            "account": _account_out(context),
        }
    )


def _engaged_text(context: AccountContext) -> str:
    return (
        f"{len(context.engaged)} contacts engaged within {context.within_days:g} days "
        f"({RULE}: {context.needed} needed)"
    )


def _names(context: AccountContext) -> str:
    return ", ".join(
        f"{c.name or c.lead_id} ({c.role.replace('_', ' ')}, score {c.score:g})"
        for c in context.engaged
    )


def _account_out(context: AccountContext) -> AccountOut:
    return AccountOut(
        id=context.account_id,
        open_handoff=context.open_handoff,
        engaged_contacts=[
            AccountContactOut(lead_id=c.lead_id, name=c.name, role=c.role, score=c.score)
            for c in context.engaged
        ],
        owner=context.shared_owner,
    )
