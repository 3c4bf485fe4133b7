"""At most `count` nurture emails per account per `days`, enforced when the send is claimed in
the database: contacts of one account approved at the same moment from several threads, on
SQLite and PostgreSQL, and scheduled sends among them: never two within the window; every
blocked one names the send that holds the account's slot."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from agent.playbook import Playbook
from agent.store import Database
from agent.store.account_caps import AccountCap, AccountCapReached
from agent.store.scheduled_sends import schedule_send
from agent.store.schema import SendRow
from agent.store.sends import claim_send
from tests.utils.store_seeds import accepted_draft

NOW = datetime(2026, 11, 30, 9, tzinfo=UTC)
ACCOUNT = "northwind.example"
CAP = AccountCap(account=ACCOUNT, count=1, days=7.0)


def _approved(db: Database, lead_id: str, email: str, playbook: Playbook) -> str:
    lead = {"id": lead_id, "email": email}
    return accepted_draft(db, playbook, lead, thread_id=f"{lead_id}:t", run_outcome="sent", at=NOW)


def _record(approval_id: str, lead_id: str, at: datetime) -> dict[str, object]:
    return {
        "approval_id": approval_id,
        "lead_id": lead_id,
        "message_id": f"<{approval_id}@test>",
        "to_address": f"{lead_id}@northwind.example",
        "subject": "s",
        "body": "b",
        "at": at,
    }


def _race(db: Database, jobs: list[tuple[str, str, datetime, datetime | None]]) -> dict[str, str]:
    """Each job claims (or schedules) at once from its own thread: approval id -> outcome."""
    barrier = threading.Barrier(len(jobs))
    outcomes: dict[str, str] = {}

    def run(approval_id: str, lead_id: str, at: datetime, opening: datetime | None) -> None:
        barrier.wait()
        try:
            if opening is None:
                claim_send(db, **_record(approval_id, lead_id, at), account_cap=CAP)  # type: ignore[arg-type]
            else:
                schedule_send(
                    db,
                    **_record(approval_id, lead_id, at),  # type: ignore[arg-type]
                    scheduled_for=opening,
                    zone="UTC",
                    account_cap=CAP,
                )
            outcomes[approval_id] = "claimed"
        except AccountCapReached as exc:
            outcomes[approval_id] = str(exc)

    threads = [threading.Thread(target=run, args=job) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return outcomes


def test_two_contacts_approved_at_once_get_one_email(db: Database, playbook: Playbook) -> None:
    ann = _approved(db, "ann", "ann@northwind.example", playbook)
    bo = _approved(db, "bo", "bo@northwind.example", playbook)
    outcomes = _race(db, [(ann, "ann", NOW, None), (bo, "bo", NOW, None)])
    claimed = [a for a, o in outcomes.items() if o == "claimed"]
    assert len(claimed) == 1, outcomes
    [blocked] = [o for a, o in outcomes.items() if a not in claimed]
    assert claimed[0] in blocked and ACCOUNT in blocked  # names the send holding the slot
    with db.session() as session:
        assert session.scalars(select(SendRow.approval_id)).all() == claimed


def test_a_contact_at_another_account_is_not_held(db: Database, playbook: Playbook) -> None:
    ann = _approved(db, "ann", "ann@northwind.example", playbook)
    di = _approved(db, "di", "di@globex.example", playbook)
    claim_send(db, **_record(ann, "ann", NOW), account_cap=CAP)  # type: ignore[arg-type]
    other = AccountCap(account="globex.example", count=1, days=7.0)
    assert claim_send(db, **_record(di, "di", NOW), account_cap=other)  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", range(4))
def test_concurrent_sends_and_schedules_never_crowd_an_account(
    db: Database, playbook: Playbook, seed: int
) -> None:
    """Random contacts, some sending now and some scheduling for a later opening, at once:
    no two claimed sends of the account fall within the window of each other."""
    rng = random.Random(seed)
    jobs: list[tuple[str, str, datetime, datetime | None]] = []
    for n in range(6):
        lead_id = f"c{n}"
        approval_id = _approved(db, lead_id, f"{lead_id}@northwind.example", playbook)
        opening = NOW + timedelta(days=rng.choice([1, 3, 6, 8, 15])) if rng.random() < 0.5 else None
        jobs.append((approval_id, lead_id, NOW, opening))
    outcomes = _race(db, jobs)
    assert len(outcomes) == len(jobs)
    with db.session() as session:
        rows = session.scalars(select(SendRow)).all()
        times = sorted((r.scheduled_for or r.attempted_at) for r in rows)
    assert len(times) == sum(1 for o in outcomes.values() if o == "claimed") >= 1
    gaps = [later - earlier for earlier, later in zip(times, times[1:], strict=False)]
    assert all(gap >= timedelta(days=7) for gap in gaps), times
