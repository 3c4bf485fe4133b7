"""Hand-off to sales: an HMAC-signed JSON POST to the sales webhook, retried briefly, never raising.

What the receiver gets:
- the body: the payload as compact JSON with sorted keys (the same payload always gives the same
  bytes, so retries carry an identical body and signature);
- `X-Nurture-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw body under the shared secret;
  check it with `verify` (or its equivalent) on the bytes as received, before parsing;
- `X-Nurture-Event: handoff`;
- `Idempotency-Key`: the hand-off id. A request may arrive although its answer got lost (a timeout,
  a reset connection), and then it is sent again; the receiver recognises it by this key. That is
  what makes retrying after a timeout safe.

Failures come back as a `WebhookResult` rather than an exception: a sales system being down must
not stop the agent, and the caller records the result and can try again later.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import httpx
from tenacity import (
    RetryCallState,
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    retry_if_result,
    stop_after_attempt,
    wait_exponential,
)

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Nurture-Signature"
EVENT_HEADER = "X-Nurture-Event"
IDEMPOTENCY_HEADER = "Idempotency-Key"
HANDOFF_EVENT = "handoff"

# Worth another try: the request may not have arrived, or the server is briefly unwell. Not
# retried: a bad URL or an unsupported scheme (configuration), and 4xx other than 429 (the same
# request would be refused again).
RETRYABLE_ERRORS: tuple[type[Exception], ...] = (
    httpx.NetworkError,
    httpx.TimeoutException,
    httpx.RemoteProtocolError,
)


@dataclass(frozen=True)
class WebhookResult:
    """How the hand-off went: `status` is the last HTTP status (None when no answer came),
    `error` says what went wrong (None when delivered), `attempts` counts the requests made,
    `retryable` says whether the same request may succeed later (a connection error, a timeout,
    429, 5xx) or would be refused again."""

    delivered: bool
    status: int | None
    error: str | None
    attempts: int = 1
    retryable: bool = False


def sign(body: bytes, secret: str) -> str:
    """The signature header value for `body`: "sha256=" and the hex HMAC-SHA256 under `secret`."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


def verify(body: bytes, secret: str, signature: str) -> bool:
    """Whether `signature` is the one `sign` gives for `body`, compared in constant time."""
    expected = sign(body, secret).encode("ascii")
    # Bytes, not str: compare_digest refuses non-ASCII str, and a forged header may contain some.
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


def encode_payload(payload: dict[str, Any]) -> bytes:
    """Compact JSON with sorted keys: deterministic bytes, so the signature is reproducible."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=_json_default)
    return text.encode("utf-8")


def notify_sales(
    url: str,
    secret: str,
    payload: dict[str, Any],
    *,
    timeout: float = 5.0,
    max_attempts: int = 3,
    backoff_seconds: float = 0.5,
) -> WebhookResult:
    """POST the hand-off `payload` (which must hold a "handoff_id") to `url`, signed with `secret`.

    Up to `max_attempts` requests on connection trouble, timeouts, 429 and 5xx, waiting
    `backoff_seconds`, then twice that, and so on between them. Network problems and error
    statuses are returned in the result, never raised; a payload that is not JSON-serialisable
    or lacks "handoff_id" is a programming error and raises."""
    body = encode_payload(payload)
    headers = _headers(body, secret, _idempotency_key(payload))
    retrying = Retrying(
        stop=stop_after_attempt(max_attempts),
        wait=wait_exponential(multiplier=backoff_seconds, max=backoff_seconds * 8),
        retry=retry_if_exception_type(RETRYABLE_ERRORS) | retry_if_result(_is_transient),
        retry_error_callback=_last_outcome,
        before_sleep=before_sleep_log(log, logging.WARNING),
    )
    try:
        with httpx.Client(timeout=timeout) as client:
            response = retrying(client.post, url, content=body, headers=headers)
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        retryable = isinstance(exc, RETRYABLE_ERRORS)
        return WebhookResult(False, None, error, _attempts(retrying), retryable)
    return _result(response, _attempts(retrying))


def _headers(body: bytes, secret: str, idempotency_key: str) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "nurture-agent",
        SIGNATURE_HEADER: sign(body, secret),
        EVENT_HEADER: HANDOFF_EVENT,
        IDEMPOTENCY_HEADER: idempotency_key,
    }


def _idempotency_key(payload: dict[str, Any]) -> str:
    key = payload.get("handoff_id")
    if key is None or str(key) == "":
        raise ValueError("a hand-off payload needs a 'handoff_id' (it is the Idempotency-Key)")
    return str(key)


def _is_transient(response: httpx.Response) -> bool:
    return response.status_code == 429 or response.status_code >= 500


def _last_outcome(state: RetryCallState) -> httpx.Response:
    """On giving up, hand back the last attempt as it was: its response, or raise its error."""
    assert state.outcome is not None  # tenacity only calls this after an attempt
    response: httpx.Response = state.outcome.result()
    return response


def _attempts(retrying: Retrying) -> int:
    return int(retrying.statistics.get("attempt_number", 1))


def _result(response: httpx.Response, attempts: int) -> WebhookResult:
    if response.is_success:
        return WebhookResult(True, response.status_code, None, attempts)
    error = f"HTTP {response.status_code} {response.reason_phrase}".rstrip()
    return WebhookResult(False, response.status_code, error, attempts, _is_transient(response))


def _json_default(value: object) -> str:
    # Hand-off payloads naturally carry timestamps; anything else unserialisable is a bug.
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
