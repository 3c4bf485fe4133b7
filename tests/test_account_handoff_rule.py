"""The playbook's account-level rule `accounts.handoff`: when enough contacts of one account
were engaged within the days it names, the account says it should go to sales, and why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.account_score import ContactStanding, account_standing
from agent.playbook.models import AccountHandoff, AccountPolicy

NOW = datetime(2026, 11, 30, 12, tzinfo=UTC)
RULE = AccountPolicy(handoff=AccountHandoff(engaged_contacts=3, within_days=14))


def _contacts(*days_ago: float) -> list[ContactStanding]:
    moments = [NOW - timedelta(days=d) for d in days_ago]
    return [ContactStanding(10.0, "interest", at, engaged_at=at) for at in moments]


def test_activity_that_does_not_engage_does_not_count() -> None:
    """A contact whose latest event is recent but whose latest engaging signal is old (a blog
    read yesterday, a case study 30 days ago) is not engaged."""
    read = [
        ContactStanding(10.0, "interest", NOW - timedelta(days=1), NOW - timedelta(days=30))
        for _ in range(3)
    ]
    standing = account_standing(read, RULE, NOW)
    assert standing.engaged_contacts == 0 and standing.handoff is None


def test_three_contacts_engaged_within_14_days_hand_the_account_off() -> None:
    standing = account_standing(_contacts(1, 5, 13), RULE, NOW)
    assert standing.handoff == "3 contacts engaged within 14 days (accounts.handoff)"


def test_two_recent_contacts_and_an_old_one_do_not() -> None:
    assert account_standing(_contacts(1, 5, 20), RULE, NOW).handoff is None


def test_without_the_rule_no_account_is_handed_off() -> None:
    assert account_standing(_contacts(1, 2, 3, 4), AccountPolicy(), NOW).handoff is None
