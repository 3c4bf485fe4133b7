"""An app under uvicorn on a free loopback port, for tests that need a real HTTP server."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn
from fastapi import FastAPI

from tests.utils.smtp import free_port


@contextmanager
def serve(app: FastAPI, port: int | None = None, **options: Any) -> Iterator[str]:
    """Runs the app (lifespan included) in a thread; yields its base URL; stops it after.
    `port`: one chosen beforehand (when the app must know its own URL), else a free one.
    `options` go to uvicorn.Config (e.g. the proxy settings `nurture serve` passes)."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **options
        )
    )
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
