"""The send window on LangGraph Server: an accept through the server (as Agent Inbox sends it)
outside the window ends the run `scheduled`, with the send in the store and nothing sent; the
project's executor sends it when the window opens. Driven with the real `langgraph dev`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from agent.playbook import parse_playbook
from agent.scheduled_sends import send_scheduled
from agent.store.api_keys import Role
from agent.store.playbooks import activate_playbook
from agent.store.sends import get_send
from tests import test_langgraph_crossing as crossing
from tests import test_langgraph_dev as dev
from tests.test_send_windows_e2e import window_opening_in
from tests.utils.agent_world import World

pytestmark = dev.pytestmark  # skipped, with its reason, where langgraph dev is not installed
langgraph_dev = dev.langgraph_dev
keys = dev.keys


def test_an_accept_on_the_server_outside_the_window_is_scheduled_then_sent(
    langgraph_dev: str, world: World, keys: dict[Role, str]
) -> None:
    ctx = world.agent.ctx
    text, _ = window_opening_in(seconds=3600)  # the lead has no zone: New York's clocks
    activate_playbook(ctx.db, text, by="test", at=datetime.now(UTC))  # before the server's run
    client = dev._client(langgraph_dev, keys["marketer"])
    thread, approval_id = crossing._on_server(client, world, 31)

    values = crossing._accept(client, thread)
    assert values["outcome"] == "scheduled", values
    assert values["detail"].startswith("scheduled for ") and "America/New_York" in values["detail"]
    assert world.delivered() == []
    row = get_send(ctx.db, approval_id)
    assert row is not None and row.status == "scheduled" and row.scheduled_for is not None
    assert row.scheduled_for > datetime.now(UTC)

    # what nurture serve's executor (or a worker's due-sends sweep) does at the opening
    moment = row.scheduled_for + timedelta(seconds=1)
    ctx.playbook = parse_playbook(text, source="test")
    ctx.clock = lambda: moment
    assert send_scheduled(ctx, approval_id).outcome == "sent"
    [message] = world.delivered()
    assert message["To"].addresses[0].addr_spec == dev._lead(31)["email"]
