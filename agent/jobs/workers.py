"""Who is running a job, and whether that process still exists."""

from __future__ import annotations

import os
import socket


def worker_id() -> str:
    """This process, as runs record it: host:pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


def worker_gone(worker: str | None) -> bool:
    """True when `worker` was a process on this host that no longer exists (or the run names
    none, as runs from before durable runs do). A process on another host cannot be looked at
    from here: it counts as alive."""
    if not worker:
        return True
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by someone else
        return False
    return False
