"""The send window on real processes: `nurture serve` (API and job worker) on PostgreSQL, an
aiosmtpd server. A draft approved before the window opens is scheduled for the opening in the
lead's zone, and the worker delivers it when the database's clock reaches it; a SendGrid hard
bounce for it, signed with a test key pair, then suppresses the lead (unsigned: 401). Nothing
fakes the clock: the playbook put in force names a window opening a few seconds from now."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.nodes.send import message_id_for
from agent.runner import NurtureAgent
from agent.settings import DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.playbooks import activate_playbook
from tests.utils.agent_world import DANA, WHITEPAPER, World, drafted
from tests.utils.processes import stop
from tests.utils.sendgrid import SendGridKeys, hard_bounce
from tests.utils.smtp import CollectingHandler, free_port

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[1]
BERLIN = ZoneInfo("Europe/Berlin")
LEAD = {**DANA, "attributes": {**DANA["attributes"], "timezone": "Europe/Berlin"}}


@pytest.fixture
def database(postgres_url: str) -> Iterator[str]:
    """A database of this test's own: the playbook it activates must not stay in force for
    other tests sharing the session's."""
    from sqlalchemy.engine import make_url

    from tests.utils.replicas import fresh_postgres

    server = make_url(postgres_url).set(database="postgres").render_as_string(hide_password=False)
    with fresh_postgres(server) as url:
        yield url


def serve(env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(process.stderr.read().decode() if process.stderr else "")
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    stop(process)
    raise AssertionError("nurture serve did not start")


def window_opening_in(seconds: int) -> tuple[str, datetime]:
    """The default playbook with a window (every day, Berlin time) opening `seconds` from now:
    its text under a new version, and the opening."""
    opening = (datetime.now(UTC) + timedelta(seconds=seconds)).replace(microsecond=0)
    local = opening.astimezone(BERLIN)
    text = DEFAULT_PLAYBOOK.read_text().replace(
        'version: "default-2026.11"', f'version: "window-{opening:%H%M%S}"', 1
    )
    text += (
        "\nsend_window:\n"
        "  days: [mon, tue, wed, thu, fri, sat, sun]\n"
        f'  start: "{local:%H:%M:%S}"\n'
        f'  end: "{(local + timedelta(hours=1)):%H:%M:%S}"\n'
        "  default_timezone: America/New_York\n"
    )
    return text, opening


def test_approved_before_the_window_it_is_delivered_at_the_opening_and_its_bounce_suppresses(
    database: str,
    indexed_data: Path,
    smtp_server: tuple[CollectingHandler, int],
) -> None:
    smtp, smtp_port = smtp_server
    sendgrid = SendGridKeys()
    settings = Settings(
        data_dir=indexed_data,
        database_url=database,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
    )
    with open_checkpointer(settings) as checkpointer:  # the draft, waiting for approval
        agent = NurtureAgent(build_context(settings), checkpointer)
        approval_id = drafted(World(agent, smtp, settings), LEAD, WHITEPAPER)
        agent.ctx.db.dispose()
    db = Database(database)
    key = create_key(db, name="marketer", role="marketer", at=datetime.now(UTC))
    env = {
        **os.environ,
        "NURTURE_DATA_DIR": str(indexed_data),
        "NURTURE_DATABASE_URL": database,
        "NURTURE_SMTP_HOST": "127.0.0.1",
        "NURTURE_SMTP_PORT": str(smtp_port),
        "NURTURE_SMTP_STARTTLS": "false",
        "NURTURE_ANSWER_WAIT_SECONDS": "30",
        "NURTURE_SENDGRID_WEBHOOK_PUBLIC_KEY": sendgrid.public,
    }
    process, base = serve(env)
    try:
        auth = {"Authorization": f"Bearer {key}"}
        text, opening = window_opening_in(seconds=25)
        version = activate_playbook(db, text, by="test", at=datetime.now(UTC)).version
        deadline = time.monotonic() + 20
        while httpx.get(f"{base}/v1/playbook", headers=auth).json()["version"] != version:
            assert time.monotonic() < deadline, "the service did not switch playbooks"
            time.sleep(0.2)

        answer = httpx.post(
            f"{base}/v1/approvals/{approval_id}/decision",
            json={"answer": "accept"},
            headers=auth,
            timeout=60,
        )
        assert answer.status_code == 200, answer.text
        assert datetime.now(UTC) < opening, "the machine was too slow to approve before it"
        body = answer.json()
        assert body["run"]["status"] == "scheduled"
        send = body["approval"]["send"]
        assert send["status"] == "scheduled"
        local = opening.astimezone(BERLIN)
        assert send["scheduled"] == f"scheduled for {local:%a %H:%M} Europe/Berlin"
        assert datetime.fromisoformat(send["scheduled_for"]) == opening
        while datetime.now(UTC) < opening - timedelta(seconds=1):
            assert smtp.envelopes == [], "sent before the window opened"
            time.sleep(0.2)

        deadline = time.monotonic() + 90
        while not smtp.envelopes:
            assert time.monotonic() < deadline, "the scheduled send was never delivered"
            time.sleep(0.2)
        late = (datetime.now(UTC) - opening).total_seconds()
        assert late < 60, f"delivered {late:.1f} s after the opening"
        [message] = smtp.messages()
        assert message["Message-ID"] == message_id_for(approval_id)
        assert message["To"].addresses[0].addr_spec == LEAD["email"]
        listed = httpx.get(f"{base}/v1/sends", params={"lead_id": "L1"}, headers=auth).json()
        assert [(s["approval_id"], s["status"]) for s in listed] == [(approval_id, "sent")]
        time.sleep(2)
        assert len(smtp.envelopes) == 1  # once

        # the mail system reports a hard bounce of that very message
        bounce = hard_bounce(LEAD["email"], message["Message-ID"])
        webhook = f"{base}/v1/webhooks/sendgrid"
        unsigned = httpx.post(webhook, content=bounce, headers={"Content-Type": "application/json"})
        assert unsigned.status_code == 401, unsigned.text
        nxt = httpx.get(f"{base}/v1/leads/L1/next", headers=auth, timeout=30).json()
        assert nxt["action"] != "suppress"  # the unsigned bounce changed nothing
        signed = httpx.post(webhook, content=bounce, headers=sendgrid.headers(bounce), timeout=30)
        assert signed.status_code == 200, signed.text
        nxt = httpx.get(f"{base}/v1/leads/L1/next", headers=auth, timeout=30).json()
        assert nxt["action"] == "suppress"
        assert nxt["reasons"][0]["rule"] == "suppress.hard_bounce"
        assert "hard-bounced" in nxt["reasons"][0]["text"]
    finally:
        stop(process)
        db.dispose()


def test_scheduled_where_no_queue_was_at_hand_a_worker_still_sends_it(
    database: str,
    indexed_data: Path,
    smtp_server: tuple[CollectingHandler, int],
) -> None:
    """`nurture approve` (or LangGraph Server) runs the graph with no job queue: the send waits
    in the store, and a worker's periodic sweep of due sends gives it a job at the opening."""
    smtp, smtp_port = smtp_server
    settings = Settings(
        data_dir=indexed_data,
        database_url=database,
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_starttls=False,
    )
    env = {
        **os.environ,
        "NURTURE_DATA_DIR": str(indexed_data),
        "NURTURE_DATABASE_URL": database,
        "NURTURE_SMTP_HOST": "127.0.0.1",
        "NURTURE_SMTP_PORT": str(smtp_port),
        "NURTURE_SMTP_STARTTLS": "false",
    }
    db = Database(database)
    db.migrate()
    worker = subprocess.Popen(
        [sys.executable, "-c", "from cli import main; main()", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert worker.stdout is not None
        assert b"worker running jobs" in worker.stdout.readline()
        with open_checkpointer(settings) as checkpointer:
            text, opening = window_opening_in(seconds=15)
            activate_playbook(db, text, by="test", at=datetime.now(UTC))
            agent = NurtureAgent(build_context(settings), checkpointer)
            assert agent.ctx.playbook.send_window is not None
            approval_id = drafted(World(agent, smtp, settings), LEAD, WHITEPAPER)
            result = agent.answer(approval_id, "accept", by="sam")  # as `nurture approve` does
            assert result.outcome == "scheduled", result
            agent.ctx.db.dispose()
        assert datetime.now(UTC) < opening, "the machine was too slow to approve before it"
        while datetime.now(UTC) < opening - timedelta(seconds=1):
            assert smtp.envelopes == [], "sent before the window opened"
            time.sleep(0.2)
        deadline = time.monotonic() + 90  # the sweep runs every 30 s
        while not smtp.envelopes:
            assert time.monotonic() < deadline, "the worker never sent the due send"
            time.sleep(0.2)
        [message] = smtp.messages()
        assert message["Message-ID"] == message_id_for(approval_id)
    finally:
        stop(worker)
        db.dispose()
