"""End to end on real processes: a draft approved through `nurture serve` (a subprocess) is
delivered by aiosmtpd; a SendGrid-format hard bounce signed with a test key pair is posted to
the service; the lead is suppressed and `GET .../next` says why. The same bounce unsigned, or
signed with another key, is 401 and changes nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from agent.store.api_keys import create_key
from tests.utils.agent_world import DANA, World, drafted
from tests.utils.replicas import nurture_env, nurture_serve
from tests.utils.sendgrid import SendGridKeys, hard_bounce


def wait_for(condition: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_signed_hard_bounce_suppresses_a_lead_through_the_real_service(
    world: World, tmp_path: Path
) -> None:
    keys = SendGridKeys()
    approval_id = drafted(world)
    settings = world.settings
    api_key = create_key(world.agent.ctx.db, name="m", role="marketer", at=datetime.now(UTC))
    env = nurture_env(
        data_dir=str(settings.data_dir),
        database_url=str(settings.database_url),
        smtp_host="127.0.0.1",
        smtp_port=str(settings.smtp_port),
        smtp_starttls="false",
        sendgrid_webhook_public_key=keys.public,
    )
    auth = {"Authorization": f"Bearer {api_key}"}
    with nurture_serve(env, tmp_path / "serve.log") as url:
        answer = httpx.post(
            f"{url}/v1/approvals/{approval_id}/decision",
            json={"answer": "accept"},
            headers=auth,
            timeout=60,
        )
        assert answer.status_code in (200, 202), answer.text
        wait_for(lambda: world.smtp.envelopes)
        (message,) = world.delivered()
        message_id = message["Message-ID"]

        def next_action() -> dict[str, Any]:
            found = httpx.get(f"{url}/v1/leads/{DANA['id']}/next", headers=auth, timeout=30)
            assert found.status_code == 200, found.text
            body: dict[str, Any] = found.json()
            return body

        before = next_action()
        assert before["action"] != "suppress"
        body = hard_bounce(DANA["email"], message_id)
        webhook = f"{url}/v1/webhooks/sendgrid"

        unsigned = httpx.post(webhook, content=body, headers={"Content-Type": "application/json"})
        assert unsigned.status_code == 401, unsigned.text
        impostor = SendGridKeys().headers(body)
        assert httpx.post(webhook, content=body, headers=impostor).status_code == 401
        altered = body.replace(b"5.1.1", b"4.2.2")
        assert httpx.post(webhook, content=altered, headers=keys.headers(body)).status_code == 401
        assert next_action()["action"] == before["action"]  # nothing changed

        signed = httpx.post(webhook, content=body, headers=keys.headers(body), timeout=30)
        assert signed.status_code == 200, signed.text
        (result,) = signed.json()["results"]
        assert result["status"] == "stored"
        assert result["lead_id"] == DANA["id"] and result["matched_by"] == "message_id"
        again = httpx.post(webhook, content=body, headers=keys.headers(body), timeout=30)
        assert again.json()["results"][0]["status"] == "duplicate"  # SendGrid retries

        after = next_action()
        assert after["action"] == "suppress"
        assert after["reasons"][0]["rule"] == "suppress.hard_bounce"
        assert "hard-bounced" in after["reasons"][0]["text"]
        assert "email_bounce" in after["reasons"][0]["text"]
