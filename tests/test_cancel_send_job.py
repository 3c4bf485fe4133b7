"""Cancelling an email that waits for the send window also cancels its job on PostgreSQL: the
job deferred for the opening no longer waits in procrastinate's queue as `todo` (before, it
stayed queued and woke at the opening only to find the send cancelled). A real queue."""

from __future__ import annotations

import pytest
from procrastinate import App, PsycopgConnector
from procrastinate.jobs import Status

from agent.jobs.queue import SCHEDULED_SEND, libpq_url
from agent.scheduled_sends import cancel_send
from agent.settings import Settings
from tests.conftest import POSTGRES_URL
from tests.test_scheduled_sends import scheduled
from tests.utils.agent_world import World

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not POSTGRES_URL, reason="needs NURTURE_TEST_DATABASE_URL"),
]


def send_jobs(settings: Settings, approval_id: str, status: Status) -> list[int]:
    app = App(connector=PsycopgConnector(conninfo=libpq_url(settings)))
    with app.open():
        jobs = app.job_manager.list_jobs(
            task=SCHEDULED_SEND, status=status.value, queueing_lock=f"send:{approval_id}"
        )
    return [job.id for job in jobs if job.id is not None]


def test_a_cancelled_send_leaves_no_job_waiting(pg_world: World) -> None:
    approval_id, _opening = scheduled(pg_world)
    assert len(send_jobs(pg_world.settings, approval_id, Status.TODO)) == 1  # deferred at approval

    cancel_send(pg_world.agent.ctx, approval_id, by="sam")

    assert send_jobs(pg_world.settings, approval_id, Status.TODO) == []
    assert len(send_jobs(pg_world.settings, approval_id, Status.CANCELLED)) == 1
