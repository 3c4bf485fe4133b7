"""API keys verified a moment ago, so a request does not read its key's row every time (a tenth
of the service's busy samples under 32 clients). A revocation takes effect once the entry
expires: within NURTURE_API_KEY_CACHE_SECONDS. Only keys that verified are kept; a wrong key is
read, and counted as a failure, every time."""

from __future__ import annotations

import threading

from cachetools import TTLCache

from agent.store import Database
from agent.store.api_keys import Principal, authenticate


class KeyCache:
    def __init__(self, seconds: float, size: int = 1024) -> None:
        self._lock = threading.Lock()  # TTLCache is not thread-safe; routes run on a pool
        self._verified: TTLCache[str, Principal] | None = (
            TTLCache(maxsize=size, ttl=seconds) if seconds > 0 else None
        )

    def authenticate(self, db: Database, key: str) -> Principal | None:
        """`authenticate`, answered from the cache while the key's entry lives."""
        if self._verified is None:
            return authenticate(db, key)
        with self._lock:
            principal = self._verified.get(key)
        if principal is not None:
            return principal
        principal = authenticate(db, key)
        if principal is not None:
            with self._lock:
                self._verified[key] = principal
        return principal
