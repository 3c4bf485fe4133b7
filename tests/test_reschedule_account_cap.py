"""A scheduled send whose job ran after the window had closed moves to the next opening, and the
account cap is applied again at that new time, behind the account's lock row: when another
contact of the account holds the slot there, the send is blocked with a reason naming that
send, instead of moving next to it. The store on SQLite and PostgreSQL, and the agent's path
(send_scheduled) in both worlds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from agent.playbook import Playbook
from agent.playbook.models import AccountEmailCap
from agent.scheduled_sends import send_scheduled
from agent.store import Database
from agent.store.account_caps import AccountCap, AccountCapReached
from agent.store.approvals import get_approval
from agent.store.runs import get_run
from agent.store.scheduled_sends import reschedule, schedule_send
from agent.store.sends import get_send
from tests.test_account_send_cap import NOW, _approved, _record
from tests.test_account_send_cap_agent import SAM, _capped
from tests.test_scheduled_sends import at, closed_now, with_window
from tests.utils.agent_world import DANA, World, drafted

CAP = AccountCap(account="northwind.example", count=1, days=7.0)


def test_the_store_refuses_to_move_a_send_next_to_the_accounts_other_send(
    db: Database, playbook: Playbook
) -> None:
    ann = _approved(db, "ann", "ann@northwind.example", playbook)
    bo = _approved(db, "bo", "bo@northwind.example", playbook)
    first, later = NOW + timedelta(days=1), NOW + timedelta(days=9)  # 8 days apart: both pass
    for approval_id, lead_id, opening in ((ann, "ann", first), (bo, "bo", later)):
        assert schedule_send(
            db, **_record(approval_id, lead_id, NOW), scheduled_for=opening, zone="UTC",  # type: ignore[arg-type]
            account_cap=CAP,
        )  # fmt: skip
    with pytest.raises(AccountCapReached, match=bo):
        reschedule(db, ann, scheduled_for=later - timedelta(days=1), account_cap=CAP)
    row = get_send(db, ann)
    assert row is not None and row.status == "scheduled" and row.scheduled_for == first
    # a move that stays clear of bo's send is taken
    assert reschedule(db, ann, scheduled_for=first + timedelta(hours=1), account_cap=CAP)


@pytest.mark.parametrize("kind", ["world", "pg_world"])
def test_a_late_job_is_blocked_rather_than_moved_next_to_a_colleagues_send(
    kind: str, request: pytest.FixtureRequest
) -> None:
    """Dana waits for today's opening; Sam, approved after it closed, for tomorrow's (a day
    apart: the half-day cap lets both be scheduled). Dana's job runs late, after today's
    window: tomorrow's opening is Sam's, so Dana's send is blocked, naming Sam's."""
    world: World = request.getfixturevalue(kind)
    ctx = world.agent.ctx
    _capped(world, AccountEmailCap(count=1, days=0.5))
    window, opening = closed_now()
    with_window(world, window)
    dana, sam = drafted(world, DANA), drafted(world, SAM)
    assert world.agent.answer(dana, "accept", by="mara").outcome == "scheduled"
    late = opening + timedelta(hours=2)  # the window closed an hour ago
    at(world, late)
    assert world.agent.answer(sam, "accept", by="mara").outcome == "scheduled"

    result = send_scheduled(ctx, dana)

    assert result.outcome == "blocked", result
    assert sam in result.detail and "northwind.example" in result.detail
    row = get_send(ctx.db, dana)
    assert row is not None and row.status == "blocked" and row.reason == result.detail
    run = get_run(ctx.db, get_approval(ctx.db, dana).thread_id)
    assert run is not None and run.outcome == "blocked"
    assert world.delivered() == []
