"""Who gets a hand-off and how they hear of it: the lead's CRM owner when that is a rep (by
email, any letter case), else the reps in turn, counted in the database so concurrent callers
on PostgreSQL share one fair rotation. With no webhook configured the rep is emailed through
the configured sender (a real aiosmtpd server here) and the hand-off is `delivered`; with no rep
it waits, `new`, in the list."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from agent.handoff_routing import ROUND_ROBIN, assign
from agent.store.api_keys import create_key, revoke_key
from agent.store.database import Database
from agent.store.handoffs import list_handoffs
from agent.store.schema import CounterRow
from tests.utils.agent_world import World
from tests.utils.handoffs import hand_off, lead, make_rep


def test_the_owner_rep_is_emailed_when_no_webhook_is_set(world: World) -> None:
    db = world.agent.ctx.db
    make_rep(db, "riley", "riley@routewise.example")
    sam = make_rep(db, "sam", "sam@routewise.example")
    row = hand_off(world, lead(1, owner="SAM@Routewise.example"))
    assert (row.assigned_to, row.assigned_key_id) == (sam.email, sam.key_id)
    assert row.state == "delivered"
    [message] = world.delivered()
    assert message["To"] == sam.email
    text = message.get_body(("plain",)).get_content()
    assert "Lead 1" in text and "handoff.demo_request" in text
    assert f"nurture handoffs accept {row.id}" in text
    [listed] = list_handoffs(db)
    assert [(c.from_state, c.to_state) for c in listed.changes] == [
        (None, "new"),
        ("new", "delivered"),
    ]
    assert "emailed sam@routewise.example" in (listed.changes[1].reason or "")


def test_without_an_owner_the_reps_take_turns(world: World) -> None:
    db = world.agent.ctx.db
    riley = make_rep(db, "riley", "riley@routewise.example")
    sam = make_rep(db, "sam", "sam@routewise.example")
    gone = make_rep(db, "gone", "gone@routewise.example")
    revoke_key(db, gone.key_id, at=datetime.now(UTC))
    owners = [hand_off(world, lead(n, owner="nobody@else.example")).assigned_to for n in range(4)]
    assert owners == [riley.email, sam.email, riley.email, sam.email]
    assert sorted(m["To"] for m in world.delivered()) == sorted(str(o) for o in owners)


def test_with_no_rep_the_handoff_waits_new_and_unassigned(world: World) -> None:
    db = world.agent.ctx.db
    create_key(db, name="no-address", role="rep", at=datetime.now(UTC))  # no email: not a taker
    row = hand_off(world, lead(1))
    assert (row.state, row.assigned_to, row.assigned_key_id) == ("new", None, None)
    assert world.delivered() == []
    assert [h.row.id for h in list_handoffs(db, state="new")] == [row.id]


@pytest.fixture
def pg(postgres_url: str) -> Iterator[Database]:
    db = Database(postgres_url)
    db.migrate()
    yield db
    db.dispose()


@pytest.mark.postgres
def test_round_robin_is_fair_across_concurrent_callers_on_postgresql(pg: Database) -> None:
    reps = [make_rep(pg, f"rep-{n}", f"rep{n}@routewise.example") for n in range(3)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        picked = list(pool.map(lambda _n: assign(pg, None), range(300)))
    counts = Counter(p.email for p in picked if p is not None)
    assert counts == {rep.email: 100 for rep in reps}
    with pg.session() as session:
        assert session.get(CounterRow, ROUND_ROBIN).value == 300  # type: ignore[union-attr]
