"""Who gets a hand-off: the lead's CRM owner when that is a rep (matched by email address, in
any letter case), else the next rep in turn. The turn is a database counter, so every process
and replica shares one fair rotation."""

from __future__ import annotations

from agent.store.api_keys import rep_keys
from agent.store.counters import next_value
from agent.store.database import Database
from agent.store.handoffs import Assignee

ROUND_ROBIN = "handoff_round_robin"


def assign(db: Database, owner: str | None) -> Assignee | None:
    """The rep for a lead with this `owner`; None when no rep key has an email address."""
    reps = rep_keys(db)
    if not reps:
        return None
    if owner:
        wanted = owner.strip().casefold()
        for rep in reps:
            if rep.email and rep.email.casefold() == wanted:
                return Assignee(rep.id, rep.email)
    turn = next_value(db, ROUND_ROBIN)
    rep = reps[(turn - 1) % len(reps)]
    assert rep.email is not None  # rep_keys only lists reps with one
    return Assignee(rep.id, rep.email)
