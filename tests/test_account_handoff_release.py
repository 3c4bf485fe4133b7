"""While an account is with sales its other contacts get no nurture email; the account's
hand-off goes to the rep its engaged contacts share as CRM owner (not the next in turn); when
sales recycles it, the held contacts are nurtured again at the next run, and the account goes
back to sales only on activity after the recycle."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from agent.handoff_desk import Actor, act
from agent.jobs.due import RUN_ACTIONS, due_leads
from agent.store.decisions import latest_decision
from agent.store.handoffs import get_handoff
from agent.store.ingest import ingest_events
from tests.utils.agent_world import SeedEvent, World
from tests.utils.handoffs import make_rep

OWNER = "sam@routewise.example"


def _contact(n: int, title: str) -> dict[str, Any]:
    """K1, the best contact, has no owner in the CRM; its colleagues name the account's."""
    return {
        "id": f"K{n}",
        "email": f"k{n}@kestrelcargo.example",
        "name": f"Kim {n}",
        "company": "Kestrel Cargo",
        "owner": OWNER if n > 1 else None,
        "attributes": {"industry": "logistics", "employees": 300, "title": title},
    }


def _read(days: float) -> list[SeedEvent]:
    """A case-study read: one of the playbook's engaging signals (accounts.engaged_signals)."""
    return [
        ("case_study_view", days, {"url": f"/customers/{days:g}", "topic": "route optimisation"})
    ]


def _due(world: World) -> list[str]:
    ctx = world.agent.ctx
    return due_leads(ctx.db, ctx.playbook, now=datetime.now(UTC), actions=RUN_ACTIONS)


def test_the_account_is_held_routed_to_its_owner_and_released_by_a_recycle(
    world: World,
) -> None:
    db = world.agent.ctx.db
    make_rep(db, "riley", "riley@routewise.example")  # first in turn: not the account's owner
    make_rep(db, "sam", OWNER)
    for n, (title, days) in enumerate([("COO", 1), ("Fleet Manager", 3), ("Planner", 5)], 1):
        world.seed(_contact(n, title), _read(days))

    assert _due(world) == ["K1"]  # the best contact: the COO's fit; the others are held
    result = world.agent.start("K1")
    assert result.outcome == "handed_off", result
    handoff = get_handoff(db, f"handoff-{result.thread_id}")
    assert handoff is not None and handoff.rule == "accounts.handoff"
    assert handoff.assigned_to == OWNER
    held = latest_decision(db, "K2")
    assert held is not None and held.action == "with_sales"
    assert _due(world) == []  # held while sales has the account

    act(
        world.agent.ctx,
        handoff.id,
        "recycle",
        actor=Actor("mara", "marketer"),
        reason="not in budget this quarter",
    )
    # nurtured again, K1 too, and nobody goes back to sales: the old reads no longer count
    assert _due(world) == ["K1", "K2", "K3"]
    assert {_action(world, f"K{n}") for n in (1, 2, 3)} == {"send_email"}
    ingest_events(
        db,
        [
            {
                "id": "K3-fresh-read",
                "lead_id": "K3",
                "type": "case_study_view",
                "occurred_at": datetime.now(UTC).isoformat(),
                "properties": {"url": "/customers/new"},
            }
        ],
        world.agent.ctx.playbook,
    )
    assert _due(world) == ["K1", "K2", "K3"]  # one fresh reader is not three
    assert _action(world, "K1") == "send_email"


def _action(world: World, lead_id: str) -> str:
    decision = latest_decision(world.agent.ctx.db, lead_id)
    assert decision is not None
    return decision.action
