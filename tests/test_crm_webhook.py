"""The sales hand-off webhook end to end: a real HTTP server on 127.0.0.1 receives the POSTs.

The server answers with the statuses a test queues (then 200) and records every request, so
signing, retries and idempotency keys are checked on what actually went over the wire.
"""

from __future__ import annotations

import json
import socket
import threading
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agent.tools.crm import encode_payload, notify_sales, sign, verify

SECRET = "s3cret-shared-with-sales"
PAYLOAD = {
    "handoff_id": "handoff-0001",
    "lead_id": "lead-7",
    "score": 87,
    "reason": "Asked for pricing; fleet of 40 vans",
    "company": "Acme Logistik GmbH",
}
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes


class WebhookServer:
    """Answers each POST with the next queued status (200 once the queue is empty)."""

    def __init__(self) -> None:
        self.statuses: deque[int] = deque()
        self.requests: list[Received] = []
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/hooks/handoff"
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        # A short poll interval: shutdown() waits for the loop to notice, once per test.
        self._httpd.serve_forever(poll_interval=0.02)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's hook name)
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                server.requests.append(Received(dict(self.headers.items()), body))
                status = server.statuses.popleft() if server.statuses else 200
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:  # noqa: A002
                pass  # keep the test output clean

        return Handler

    def __enter__(self) -> WebhookServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[WebhookServer]:
    # A proxy from the environment would take the request somewhere else.
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)
    with WebhookServer() as server:
        yield server


def test_a_delivered_handoff_is_signed_and_keyed(webhook: WebhookServer) -> None:
    result = notify_sales(webhook.url, SECRET, PAYLOAD)

    assert result.delivered and result.status == 200 and result.error is None
    assert result.attempts == 1
    [request] = webhook.requests
    assert request.body == encode_payload(PAYLOAD)
    assert json.loads(request.body) == PAYLOAD
    assert request.body.startswith(b'{"company":')  # sorted keys, compact
    assert b", " not in request.body and b'": ' not in request.body
    assert request.headers["Content-Type"] == "application/json"
    assert request.headers["X-Nurture-Event"] == "handoff"
    assert request.headers["Idempotency-Key"] == "handoff-0001"
    signature = request.headers["X-Nurture-Signature"]
    assert signature.startswith("sha256=")
    assert verify(request.body, SECRET, signature)
    assert not verify(request.body, "another-secret", signature)
    assert not verify(request.body + b" ", SECRET, signature)


def test_a_server_error_is_retried_with_the_same_request(webhook: WebhookServer) -> None:
    webhook.statuses.append(500)
    result = notify_sales(webhook.url, SECRET, PAYLOAD, backoff_seconds=0.01)

    assert result.delivered and result.status == 200 and result.attempts == 2
    first, second = webhook.requests
    assert first.body == second.body
    assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"] == "handoff-0001"
    assert first.headers["X-Nurture-Signature"] == second.headers["X-Nurture-Signature"]


def test_retries_are_bounded(webhook: WebhookServer) -> None:
    webhook.statuses.extend([503, 503, 503, 503])
    result = notify_sales(webhook.url, SECRET, PAYLOAD, backoff_seconds=0.01)

    assert not result.delivered
    assert result.status == 503 and result.attempts == 3
    assert result.error is not None and "503" in result.error
    assert len(webhook.requests) == 3


def test_a_client_error_is_not_retried(webhook: WebhookServer) -> None:
    webhook.statuses.append(400)
    result = notify_sales(webhook.url, SECRET, PAYLOAD, backoff_seconds=0.01)

    assert not result.delivered and result.status == 400 and result.attempts == 1
    assert len(webhook.requests) == 1


def test_an_unreachable_receiver_is_reported_not_raised() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # released at the end of the block: nothing listens
    url = f"http://127.0.0.1:{port}/hooks/handoff"

    result = notify_sales(url, SECRET, PAYLOAD, backoff_seconds=0.01)

    assert not result.delivered and result.status is None
    assert result.error is not None and "ConnectError" in result.error
    assert result.attempts == 3


def test_timestamps_serialise_and_the_key_is_required() -> None:
    moment = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    body = encode_payload({"handoff_id": "h", "at": moment})
    assert json.loads(body)["at"] == "2026-03-01T09:30:00+00:00"
    with pytest.raises(ValueError, match="handoff_id"):
        notify_sales("http://127.0.0.1:9/", SECRET, {"lead_id": "x"})


def test_signatures_compare_safely() -> None:
    body = b'{"handoff_id":"h"}'
    assert sign(body, SECRET) == sign(body, SECRET) != sign(body, "other")
    assert not verify(body, SECRET, "sha256=zz")
    assert not verify(body, SECRET, "sha256=ünïcode")  # no TypeError from compare_digest
    assert not verify(body, SECRET, "")
