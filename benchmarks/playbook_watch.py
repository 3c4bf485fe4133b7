"""Benchmark of the playbook watch on SQLite: what one poll costs against a bare request.

A fresh SQLite file under benchmarks/.data/playbook_watch/ holds 50 activated playbook versions
(a long history). `nurture serve` runs on it in its own process; this process then alternates,
round after round, one watch check (`PlaybookWatch.check()` finding nothing new: the query every
poll makes) and one bare request (GET /health over a kept-alive connection), so both see the
same machine load. It reports p50/p99 wall time of each, the CPU of a check, and what a check
every NURTURE_PLAYBOOK_POLL_SECONDS (default 2) costs as a share of one core.

Run:  python benchmarks/playbook_watch.py [--rounds 2000]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import os
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta

import httpx
import yaml
from rich.console import Console
from rich.table import Table

from agent.context import AgentContext
from agent.playbook import load_playbook
from agent.playbook_watch import PlaybookWatch
from agent.settings import DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.playbooks import activate_playbook
from benchmarks.measure import percentile

DATA = Path(__file__).resolve().parent / ".data" / "playbook_watch"
VERSIONS = 50
console = Console()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2_000)
    parser.add_argument("--port", type=int, default=8766)
    args = parser.parse_args()

    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    url = f"sqlite:///{DATA / 'nurture.db'}"
    settings = Settings(database_url=url, data_dir=DATA)
    db = Database(url)
    db.migrate()
    template = yaml.safe_load(DEFAULT_PLAYBOOK.read_text(encoding="utf-8"))
    start = datetime.now(UTC) - timedelta(days=VERSIONS)
    for n in range(VERSIONS):
        template["version"] = f"bench-{n}"
        activate_playbook(
            db, yaml.safe_dump(template), by="bench", at=start + timedelta(days=n), settings=None
        )

    ctx = AgentContext(
        settings=settings,
        db=db,
        playbook=load_playbook(DEFAULT_PLAYBOOK),
        collection=None,
        assets={},
        customers=set(),
        drafter=None,  # type: ignore[arg-type]
        sender=None,  # type: ignore[arg-type]
    )
    watch = PlaybookWatch(ctx, poll_seconds=0)  # checked by hand below, no thread
    assert watch.check(), "the first check should put the newest version in force"

    env = dict(os.environ, NURTURE_DATABASE_URL=url, NURTURE_DATA_DIR=str(DATA))
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "nurture"), "serve", "--port", str(args.port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{args.port}"
    try:
        with httpx.Client(base_url=base, timeout=10) as client:
            _wait_until_up(client)
            for _ in range(100):  # warm both paths
                watch.check()
                client.get("/health")
            checks, check_cpu, requests = [], [], []
            for _ in range(args.rounds):
                wall, cpu = time.perf_counter(), time.thread_time()
                swapped = watch.check()
                check_cpu.append(time.thread_time() - cpu)
                checks.append(time.perf_counter() - wall)
                assert not swapped
                wall = time.perf_counter()
                assert client.get("/health").status_code == 200
                requests.append(time.perf_counter() - wall)
    finally:
        server.terminate()
        server.wait(timeout=15)
        db.dispose()
    _report(checks, check_cpu, requests, settings.playbook_poll_seconds)


def _wait_until_up(client: httpx.Client) -> None:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            if client.get("/health").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise SystemExit("nurture serve did not start")


def _report(
    checks: list[float], check_cpu: list[float], requests: list[float], poll: float
) -> None:
    table = Table(title=f"playbook watch on SQLite: {len(checks)} interleaved rounds")
    for column in ("", "p50 µs", "p99 µs"):
        table.add_column(column, justify="right")
    for label, samples in (
        ("watch check (wall)", checks),
        ("watch check (CPU)", check_cpu),
        ("bare request GET /health (wall)", requests),
    ):
        table.add_row(
            label, f"{percentile(samples, 0.5) * 1e6:.0f}", f"{percentile(samples, 0.99) * 1e6:.0f}"
        )
    console.print(table)
    p50_check, p50_request = percentile(checks, 0.5), percentile(requests, 0.5)
    console.print(
        f"one check = {p50_check / p50_request:.2f} bare requests; polled every {poll:g} s it "
        f"takes {percentile(check_cpu, 0.5) / poll * 100:.4f} % of one core per process",
        highlight=False,
    )


if __name__ == "__main__":
    main()
