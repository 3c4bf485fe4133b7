"""Hand-offs for tests: rep keys with addresses, and leads the agent hands to sales."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.store.api_keys import create_key, split_key
from agent.store.database import Database
from agent.store.handoffs import get_handoff
from agent.store.schema import HandoffRow
from tests.utils.agent_world import DANA, SeedEvent, World

DEMO_REQUEST: list[SeedEvent] = [("demo_request", 2, {})]
"""A timeline the default playbook hands to sales (handoff.demo_request)."""


@dataclass(frozen=True)
class Rep:
    name: str
    email: str
    key: str

    @property
    def key_id(self) -> str:
        parts = split_key(self.key)
        assert parts is not None
        return parts[0]


def make_rep(db: Database, name: str, email: str) -> Rep:
    return Rep(
        name, email, create_key(db, name=name, role="rep", at=datetime.now(UTC), email=email)
    )


def lead(n: int, **fields: Any) -> dict[str, Any]:
    """A lead like Dana with its own id and address."""
    return {
        **DANA,
        "id": f"L{n}",
        "email": f"lead{n}@northwind.example",
        "name": f"Lead {n}",
        **fields,
    }


def hand_off(
    world: World, lead_fields: dict[str, Any], events: list[SeedEvent] = DEMO_REQUEST
) -> HandoffRow:
    """Seeds the lead and runs the agent, which hands it to sales; the recorded hand-off."""
    world.seed(lead_fields, events)
    result = world.agent.start(lead_fields["id"])
    assert result.outcome == "handed_off", result
    row = get_handoff(world.agent.ctx.db, f"handoff-{result.thread_id}")
    assert row is not None
    return row
