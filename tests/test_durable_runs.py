"""Draft runs live in the database, not in a process: an accepted run is written before the 202
and readable from any replica; one run queued or running and one pending draft per lead is
enforced by the database; a service started again picks up the runs a dead one left."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.exc import IntegrityError

from agent.runner import NurtureAgent, RunResult
from agent.store import Database
from agent.store.approvals import DraftAlreadyPending, PendingDraft, open_approval
from agent.store.leads import upsert_leads
from agent.store.runs import get_run, record_run
from api.main import create_app
from tests.utils.agent_world import DANA, WHITEPAPER, World
from tests.utils.service import Service


@pytest.fixture
def held_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[threading.Event]:
    """Draft runs wait for the event before they start, so a test sees them queued or running."""
    gate = threading.Event()
    real_start = NurtureAgent.start

    def held(self: NurtureAgent, lead_id: str, *, thread_id: str | None = None) -> RunResult:
        assert gate.wait(30), "the test never released the run"
        return real_start(self, lead_id, thread_id=thread_id)

    monkeypatch.setattr(NurtureAgent, "start", held)
    yield gate
    gate.set()


def test_an_accepted_run_is_readable_from_another_replica_at_once(
    service: Service, held_runs: threading.Event
) -> None:
    service.world.seed({**DANA, "id": "L2", "email": "sam@northwind.example"}, WHITEPAPER)
    accepted = service.call("POST", "/v1/leads/L2/drafts", "rep")
    assert accepted.status_code == 202
    url = accepted.json()["status_url"]
    with TestClient(create_app(service.world.settings)) as replica:
        seen = replica.get(url, headers=service.as_("rep"))
        assert seen.status_code == 200, seen.text
        assert seen.json()["status"] in ("queued", "running")
        held_runs.set()
        body = service.wait_for_run(url)
        assert body["status"] == "awaiting_approval" and body["approval_id"]
        assert replica.get(url, headers=service.as_("rep")).json() == body


def test_a_second_draft_while_one_is_queued_or_running_is_409(
    service: Service, held_runs: threading.Event
) -> None:
    service.world.seed({**DANA, "id": "L2", "email": "sam@northwind.example"}, WHITEPAPER)
    first = service.call("POST", "/v1/leads/L2/drafts", "rep")
    assert first.status_code == 202
    second = service.call("POST", "/v1/leads/L2/drafts", "rep")
    assert second.status_code == 409, second.text
    assert first.json()["thread_id"] in second.json()["detail"]
    held_runs.set()
    assert service.wait_for_run(first.json()["status_url"])["status"] == "awaiting_approval"
    again = service.call("POST", "/v1/leads/L2/drafts", "rep")
    assert again.status_code == 409 and "waiting for approval" in again.json()["detail"]


def _draft(thread_id: str, n: int) -> PendingDraft:
    return PendingDraft(
        approval_id=f"{thread_id}.{n}",
        thread_id=thread_id,
        lead_id="L1",
        subject="s",
        body="b",
        cited_asset_ids=[],
        lead_facts_used=[],
        drafter="template",
        prompt_version="p",
        playbook_version="v",
        violations=[],
        decision={},
        created_at=datetime.now(UTC),
    )


def test_the_database_holds_one_active_run_and_one_pending_draft_per_lead(
    db: Database, playbook
) -> None:  # noqa: ANN001
    upsert_leads(db, [DANA], playbook)
    now = datetime.now(UTC)
    record_run(db, thread_id="L1:a", lead_id="L1", outcome="queued", at=now, playbook_version="v")
    with pytest.raises(IntegrityError):
        record_run(
            db, thread_id="L1:b", lead_id="L1", outcome="queued", at=now, playbook_version="v"
        )
    record_run(
        db,
        thread_id="L1:a",
        lead_id="L1",
        outcome="awaiting_approval",
        at=now,
        playbook_version="v",
    )
    record_run(db, thread_id="L1:b", lead_id="L1", outcome="queued", at=now, playbook_version="v")
    open_approval(db, _draft("L1:a", 1))
    with pytest.raises(DraftAlreadyPending, match="already pending for this lead: L1:a.1"):
        open_approval(db, _draft("L1:b", 1))


def test_a_restarted_service_picks_up_runs_a_dead_one_left(world: World) -> None:
    world.seed(DANA, WHITEPAPER)
    db = world.agent.ctx.db
    now = datetime.now(UTC)
    # what a killed service leaves: an accepted run nobody started
    record_run(
        db, thread_id="L1:queued", lead_id="L1", outcome="queued", at=now, playbook_version="v"
    )
    with TestClient(create_app(world.settings)):
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = get_run(db, "L1:queued")
            if row is not None and row.outcome not in ("queued", "running", "started"):
                break
            time.sleep(0.05)
    row = get_run(db, "L1:queued")
    assert row is not None and row.outcome == "awaiting_approval", row and row.outcome
