"""What people see of a send waiting for the window and how they cancel it: the API (the
approval's send and GET /v1/sends say "scheduled for ..."; POST /v1/sends/{id}/cancel), the
inbox (the list with a cancel button) and the CLI (`nurture sends`, `nurture sends cancel`)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from agent.store.approvals import get_approval
from agent.store.sends import get_send
from api.state import ServiceState
from tests.test_scheduled_sends import closed_now, scheduled
from tests.utils.agent_world import World, drafted
from tests.utils.cli import run_nurture
from tests.utils.service import Service


def scheduled_by_api(service: Service) -> datetime:
    """Approves the service's draft through the API while the window is closed."""
    state: ServiceState = service.client.app.state.service  # type: ignore[attr-defined]
    window, opening = closed_now()
    ctx = state.agent.ctx
    ctx.playbook = ctx.playbook.model_copy(update={"send_window": window})
    answer = service.call(
        "POST",
        f"/v1/approvals/{service.approval_id}/decision",
        "marketer",
        json={"answer": "accept"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["run"]["status"] == "scheduled"
    assert body["approval"]["send"]["scheduled"] == f"scheduled for {opening:%a %H:%M} UTC"
    return opening


def test_the_api_shows_a_scheduled_send_and_cancels_it(service: Service) -> None:
    opening = scheduled_by_api(service)
    listed = service.call("GET", "/v1/sends", "rep", params={"status": "scheduled"}).json()
    [send] = listed
    assert send["approval_id"] == service.approval_id
    assert send["scheduled"] == f"scheduled for {opening:%a %H:%M} UTC"
    assert datetime.fromisoformat(send["scheduled_for"]) == opening and send["send_zone"] == "UTC"

    refused = service.call("POST", "/v1/leads/L1/drafts", "rep")  # it is the lead's one draft
    assert refused.status_code == 409 and "scheduled" in refused.json()["detail"]

    path = f"/v1/sends/{service.approval_id}/cancel"
    assert service.call("POST", path, "rep").status_code == 403  # marketers decide sends
    cancelled = service.call("POST", path, "marketer")
    assert cancelled.status_code == 200, cancelled.text
    body = cancelled.json()
    assert body["status"] == "cancelled" and body["scheduled"] is None
    assert [(a["action"], a["outcome"]) for a in body["history"]] == [("cancel", "cancelled")]
    again = service.call("POST", path, "marketer")
    assert again.status_code == 409 and "cancelled, not scheduled" in again.json()["detail"]
    assert service.call("POST", "/v1/sends/nope/cancel", "marketer").status_code == 404
    assert service.world.delivered() == []
    assert service.call("POST", "/v1/leads/L1/drafts", "rep").status_code == 202  # free again


def test_the_inbox_lists_it_with_a_cancel_button_that_works(service: Service) -> None:
    opening = scheduled_by_api(service)
    client = service.client
    assert client.post("/login", data={"key": service.keys["marketer"]}).status_code == 200
    page = client.get("/inbox").text
    assert "waiting for the send window" in page
    assert f"scheduled for {opening:%a %H:%M} UTC" in page
    lead = client.get("/leads/L1").text  # the rep's lead page says it too
    assert f"scheduled for {opening:%a %H:%M} UTC (the send window)" in lead
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    done = client.post(
        f"/inbox/sends/{service.approval_id}/cancel",
        data={"approval_id": service.approval_id, "csrf_token": token.group(1)},
    )
    assert done.status_code == 200 and "Cancelled the email to" in done.text
    assert "waiting for the send window" not in done.text
    row = get_send(service.world.agent.ctx.db, service.approval_id)
    assert row is not None and row.status == "cancelled"


def test_the_cli_lists_and_cancels_it(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    approval_id, opening = scheduled(world)
    monkeypatch.setenv("NURTURE_DATABASE_URL", world.settings.resolved_database_url)
    monkeypatch.setenv("NURTURE_DATA_DIR", str(world.settings.data_dir))
    code, out, _ = run_nurture(monkeypatch, capsys, "sends", "--status", "scheduled")
    assert code == 0 and approval_id in out
    assert f"scheduled for {opening:%a %H:%M} UTC" in out
    code, out, _ = run_nurture(monkeypatch, capsys, "sends", "cancel", approval_id, "--by", "sam")
    assert code == 0 and "cancelled" in out and "cancelled by sam" in out
    code, out, err = run_nurture(monkeypatch, capsys, "sends", "cancel", approval_id)
    assert code == 2 and "only an email waiting for its send window" in out + err
    assert world.delivered() == []


def test_nurture_approve_outside_the_window_says_when_and_exits_0(
    world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from agent.store.playbooks import activate_playbook
    from tests.test_send_windows_e2e import window_opening_in

    approval_id = drafted(world)
    text, opening = window_opening_in(seconds=3600)
    activate_playbook(world.agent.ctx.db, text, by="test", at=datetime.now(UTC))
    monkeypatch.setenv("NURTURE_DATABASE_URL", world.settings.resolved_database_url)
    monkeypatch.setenv("NURTURE_DATA_DIR", str(world.settings.data_dir))
    monkeypatch.setenv("NURTURE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("NURTURE_SMTP_PORT", str(world.settings.smtp_port))
    monkeypatch.setenv("NURTURE_SMTP_STARTTLS", "false")
    code, out, err = run_nurture(monkeypatch, capsys, "approve", approval_id, "--by", "sam")
    # the window's hours are read on New York's clocks: the lead has no zone or country
    start = opening.astimezone(ZoneInfo("Europe/Berlin"))
    assert code == 0, out + err
    assert "scheduled — scheduled for " in out
    assert f" {start:%H:%M} America/New_York" in out
    assert f"nurture sends cancel {approval_id}" in err
    assert world.delivered() == []


def test_approving_in_the_inbox_outside_the_window_says_when_it_goes_out(
    service: Service,
) -> None:
    state: ServiceState = service.client.app.state.service  # type: ignore[attr-defined]
    window, opening = closed_now()
    ctx = state.agent.ctx
    ctx.playbook = ctx.playbook.model_copy(update={"send_window": window})
    client = service.client
    assert client.post("/login", data={"key": service.keys["marketer"]}).status_code == 200
    page = client.get(f"/inbox/{service.approval_id}").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert token is not None
    row = get_approval(ctx.db, service.approval_id)
    done = client.post(
        f"/inbox/{service.approval_id}/approve",
        data={
            "approval_id": service.approval_id,
            "subject": row.subject,
            "body": row.body,
            "csrf_token": token.group(1),
        },
    )
    assert done.status_code == 200
    assert f"is scheduled for {opening:%a %H:%M} UTC (the send window)" in done.text
    assert service.world.delivered() == []
