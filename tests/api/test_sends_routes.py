"""Sends over the API: a failed one sent again, an uncertain one resolved by a human. Both are
the marketer's (a rep may read sends, not send), audited with the caller's key name, and keep
the approval's Message-ID."""

from __future__ import annotations

from typing import Any

from agent.nodes.send import message_id_for
from agent.tools.email import SmtpSender
from tests.test_email_sending import ScriptedSmtpServer
from tests.utils.service import Service
from tests.utils.smtp import free_port


def approve_with(service: Service, sender: SmtpSender) -> dict[str, Any]:
    """Approves the service's waiting draft while the service sends through `sender`."""
    ctx = service.client.app.state.service.agent.ctx  # type: ignore[attr-defined]
    real, ctx.sender = ctx.sender, sender
    try:
        url = f"/v1/approvals/{service.approval_id}/decision"
        response = service.call("POST", url, "marketer", json={"answer": "accept"})
    finally:
        ctx.sender = real
    assert response.status_code == 200, response.text
    return response.json()


def test_a_failed_send_is_retried_by_a_marketer(service: Service) -> None:
    decided = approve_with(service, SmtpSender("127.0.0.1", free_port(), starttls=False))
    assert decided["approval"]["send"]["status"] == "failed"
    url = f"/v1/sends/{service.approval_id}/retry"
    assert service.call("POST", url, "rep").status_code == 403
    response = service.call("POST", url, "marketer")
    assert response.status_code == 200, response.text
    send = response.json()
    assert send["status"] == "sent" and send["message_id"] == message_id_for(service.approval_id)
    [action] = send["history"]
    assert (action["action"], action["by"], action["from_status"], action["outcome"]) == (
        "resend",
        "marketer-1",
        "failed",
        "sent",
    )
    [message] = service.world.delivered()
    assert message["Message-ID"] == send["message_id"]
    again = service.call("POST", url, "marketer")
    assert again.status_code == 409 and "already sent" in again.json()["detail"]
    listed = service.call("GET", "/v1/sends", "rep", params={"status": "sent"}).json()
    assert listed[0]["history"][0]["by"] == "marketer-1"


def test_an_uncertain_send_is_resolved_by_a_marketer(service: Service) -> None:
    with ScriptedSmtpServer(after_data=None) as server:
        approve_with(service, SmtpSender("127.0.0.1", server.port, starttls=False, timeout=5))
    waiting = service.call("GET", "/v1/sends", "rep", params={"status": "needs_check"}).json()
    assert [s["approval_id"] for s in waiting] == [service.approval_id]
    retry = service.call("POST", f"/v1/sends/{service.approval_id}/retry", "marketer")
    assert retry.status_code == 409 and "resolution" in retry.json()["detail"]
    url = f"/v1/sends/{service.approval_id}/resolution"
    bad = service.call("POST", url, "marketer", json={"resolution": "maybe"})
    assert bad.status_code == 422 and "resolution" in bad.text
    assert service.call("POST", url, "rep", json={"resolution": "delivered"}).status_code == 403
    response = service.call("POST", url, "marketer", json={"resolution": "delivered"})
    assert response.status_code == 200, response.text
    send = response.json()
    assert send["status"] == "sent" and send["history"][0]["action"] == "delivered"
    assert service.world.delivered() == []
    assert (
        service.call("POST", url, "marketer", json={"resolution": "send_again"}).status_code == 409
    )


def test_an_uncertain_send_is_sent_again_by_a_marketer(service: Service) -> None:
    with ScriptedSmtpServer(after_data=None) as server:
        approve_with(service, SmtpSender("127.0.0.1", server.port, starttls=False, timeout=5))
    url = f"/v1/sends/{service.approval_id}/resolution"
    response = service.call("POST", url, "marketer", json={"resolution": "send_again"})
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "sent"
    [message] = service.world.delivered()
    assert message["Message-ID"] == message_id_for(service.approval_id)


def test_retrying_what_does_not_exist_is_404(service: Service) -> None:
    response = service.call("POST", "/v1/sends/nothing-here/retry", "marketer")
    assert response.status_code == 404 and "no send for approval" in response.json()["detail"]
