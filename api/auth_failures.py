"""Brute-force limits on API keys, with the `limits` library: failed attempts are counted in a
one-minute moving window per client address and per key id (`nk_<id>_…`), however the key
arrived. Past either limit a wrong key is answered 429 with Retry-After instead of 401.

Only failures count, and a valid key always passes, even from a locked-out address or for a
locked key id. The secrets are 192 random bits, so the limit is there to stop floods and make
them visible rather than because a guess could succeed; refusing a valid key during a lockout
would let anyone who knows a key id (it is not secret) lock its owner out.

The counts live in memory (one process), or in Redis when NURTURE_REDIS_URL is set, so that
replicas share them. If Redis cannot be reached, wrong keys get 401 as before (logged): the
limiter never turns an outage into a lockout."""

from __future__ import annotations

import logging
import math
import re
import time

from fastapi import HTTPException
from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from agent.settings import Settings
from agent.store.api_keys import split_key

log = logging.getLogger(__name__)

NAMESPACE = "nurture-auth"
# Key ids are 12 hex digits; anything longer is not worth a bucket (or a Redis key).
KEY_ID = re.compile(r"[0-9A-Za-z-]{1,64}")


class TooManyFailures(HTTPException):
    """The 429 for a wrong key past the limit; `retry_after` in whole seconds."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            429,
            "too many failed sign-in attempts from this address or for this key; "
            f"try again in {retry_after} s (a valid key is never refused)",
            headers={"Retry-After": str(retry_after)},
        )
        self.retry_after = retry_after


class AuthFailures:
    def __init__(self, settings: Settings) -> None:
        # wrap_exceptions: any storage error arrives as limits' StorageError
        storage = storage_from_string(settings.redis_url or "memory://", wrap_exceptions=True)
        self._limiter = MovingWindowRateLimiter(storage)
        self._per_address = RateLimitItemPerMinute(
            settings.auth_failures_per_minute, namespace=NAMESPACE
        )
        self._per_key = RateLimitItemPerMinute(
            settings.auth_failures_per_key_per_minute, namespace=NAMESPACE
        )

    def failed(self, address: str, key: str) -> None:
        """Counts one failed attempt; raises TooManyFailures when it is over a limit."""
        buckets: list[tuple[RateLimitItem, str, str]] = [(self._per_address, "address", address)]
        parts = split_key(key)
        if parts and KEY_ID.fullmatch(parts[0]):
            buckets.append((self._per_key, "key", parts[0]))
        waits = []
        try:
            for item, kind, value in buckets:
                if not self._limiter.hit(item, kind, value):
                    reset = self._limiter.get_window_stats(item, kind, value).reset_time
                    waits.append(max(1, math.ceil(reset - time.time())))
        except StorageError as exc:
            log.error("failed sign-ins are not being limited: %s", exc.storage_error)
            return
        if waits:
            raise TooManyFailures(max(waits))
