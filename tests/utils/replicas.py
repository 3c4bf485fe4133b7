"""Real `nurture` processes for cross-process tests: `nurture serve` replicas in subprocesses,
the CLI in a subprocess, and a throw-away PostgreSQL database of their own."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from tests.utils.processes import stop
from tests.utils.smtp import free_port

NURTURE = str(Path(sys.executable).parent / "nurture")


def nurture_env(**settings: str) -> dict[str, str]:
    """This process's environment (already stripped of the developer's NURTURE_* by the
    conftest) plus `settings` as NURTURE_<NAME> variables."""
    env = dict(os.environ)
    env.update({f"NURTURE_{name.upper()}": value for name, value in settings.items()})
    return env


class Workers:
    """`nurture worker` processes on the settings `values`, each logging to its own file in
    `log_dir`; `stop_all` stops every one started (SIGTERM, then SIGKILL)."""

    def __init__(self, values: dict[str, str], log_dir: Path, *, concurrency: int) -> None:
        self._env = nurture_env(**values)
        self._log_dir = log_dir
        self._concurrency = str(concurrency)
        self._started: list[tuple[subprocess.Popen[bytes], IO[bytes]]] = []

    def start(self) -> subprocess.Popen[bytes]:
        log = (self._log_dir / f"worker-{len(self._started) + 1}.log").open("wb")
        process = subprocess.Popen(
            [NURTURE, "worker", "--concurrency", self._concurrency],
            env=self._env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self._started.append((process, log))
        return process

    def stop_all(self) -> None:
        for process, log in self._started:
            stop(process)
            log.close()


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [NURTURE, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@contextmanager
def nurture_serve(env: dict[str, str], log: Path, startup: float = 90) -> Iterator[str]:
    """`nurture serve` on a free loopback port in its own process; yields its base URL once
    /health answers; SIGTERM (then SIGKILL) after. Its output goes to `log`."""
    with nurture_serve_process(env, log, startup) as (url, _):
        yield url


@contextmanager
def nurture_serve_process(
    env: dict[str, str], log: Path, startup: float = 90
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """`nurture_serve`, also yielding the process, for tests that kill it themselves."""
    port = free_port()
    with log.open("w") as out:
        process = subprocess.Popen(
            [NURTURE, "serve", "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"nurture serve exited with {process.returncode}: {_tail(log)}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"nurture serve did not answer in {startup} s: {_tail(log)}")
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        yield url, process
    finally:
        stop(process)


@contextmanager
def fresh_postgres(server_url: str) -> Iterator[str]:
    """A new, empty database on the server `server_url` names, dropped after: tests that
    activate playbooks must not leave them in force for other tests sharing a database."""
    name = f"nurture_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _tail(log: Path, chars: int = 2_000) -> str:
    return log.read_text(errors="replace")[-chars:]
