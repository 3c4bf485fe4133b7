"""Stopping a child process the way an operator would: SIGTERM, a while to drain, then SIGKILL."""

from __future__ import annotations

import subprocess


def stop(process: subprocess.Popen[bytes], grace: float = 15) -> int:
    """Asks `process` to stop (SIGTERM), kills it if it has not within `grace` seconds, and
    returns its exit code."""
    if process.poll() is None:
        process.terminate()
        try:
            return process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
    return process.wait(timeout=15)
