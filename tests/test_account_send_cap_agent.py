"""The emails-per-account cap through the agent: two contacts of one account each get a draft;
both are approved, from two threads at once; one email goes out, the other run ends blocked
with a reason naming the first one's send. With the cap taken out of the playbook both go out."""

from __future__ import annotations

import threading
from typing import Any

from agent.playbook.models import AccountEmailCap, AccountPolicy
from agent.resend import send_again
from agent.runner import RunResult
from agent.store.sends import get_send
from tests.utils.agent_world import DANA, World, drafted

SAM = {
    "id": "L-sam",
    "email": "sam@northwind.example",
    "name": "Sam Ortiz",
    "company": "Northwind Freight",
    "attributes": {"industry": "logistics", "employees": 420, "title": "Head of Fleet"},
}


def _capped(world: World, cap: AccountEmailCap | None) -> None:
    ctx = world.agent.ctx
    ctx.playbook = ctx.playbook.model_copy(update={"accounts": AccountPolicy(max_emails=cap)})


def _approve_at_once(world: World, approvals: list[str]) -> dict[str, RunResult]:
    barrier = threading.Barrier(len(approvals))
    results: dict[str, Any] = {}

    def approve(approval_id: str) -> None:
        barrier.wait()
        results[approval_id] = world.agent.answer(approval_id, "accept", by="mara")

    threads = [threading.Thread(target=approve, args=(a,)) for a in approvals]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    return results


def test_one_email_per_account_when_two_contacts_are_approved_at_once(world: World) -> None:
    _capped(world, AccountEmailCap(count=1, days=7))
    dana = drafted(world, DANA)
    sam = drafted(world, SAM)
    results = _approve_at_once(world, [dana, sam])
    outcomes = sorted(r.outcome for r in results.values())
    assert outcomes == ["blocked", "sent"], results
    [sent] = [a for a, r in results.items() if r.outcome == "sent"]
    [blocked] = [a for a, r in results.items() if r.outcome == "blocked"]
    row = get_send(world.agent.ctx.db, blocked)
    assert row is not None and row.status == "blocked"
    assert row.reason is not None and sent in row.reason and "northwind.example" in row.reason
    assert len(world.delivered()) == 1


def test_without_the_cap_both_contacts_get_their_email(world: World) -> None:
    _capped(world, None)
    dana = drafted(world, DANA)
    sam = drafted(world, SAM)
    results = _approve_at_once(world, [dana, sam])
    assert sorted(r.outcome for r in results.values()) == ["sent", "sent"]
    assert len(world.delivered()) == 2


def test_a_resend_respects_the_account_cap(world: World) -> None:
    """Dana's send failed (nothing went out, no slot held); Sam at the same account got his
    email meanwhile: sending Dana's again is blocked, naming Sam's send, and nothing goes out.
    The failed send stays failed, to be sent again once the window has passed."""
    from tests.test_resend import failed_send

    _capped(world, AccountEmailCap(count=1, days=7))
    dana = failed_send(world)
    sam = drafted(world, SAM)
    assert world.agent.answer(sam, "accept", by="mara").outcome == "sent"
    result = send_again(world.agent.ctx, dana, by="mara")
    assert result.outcome == "blocked"
    assert sam in result.detail and "northwind.example" in result.detail
    row = get_send(world.agent.ctx.db, dana)
    assert row is not None and row.status == "failed"
    assert len(world.delivered()) == 1
