"""Benchmark of the HTTP service: `nurture serve` in its own process on 127.0.0.1, driven from
this process by 32 concurrent clients (httpx, one connection each).

Seeds demo leads (agent.demo.generator) into a fresh SQLite file under benchmarks/.data/api/,
starts the service on it, and measures:

* GET /v1/leads/{id}/next for random leads: throughput and p50/p99 latency as the clients see
  it; as the baseline, the in-process decision (`load_timeline` + `decide`) for the same leads,
  measured in this process in the same run, one at a time.
* POST /v1/events/batch with 1,000 new events per batch: throughput (events/s) and p50/p99 per
  batch; as the baseline, `ingest_events` of one 1,000-event batch in this process on a copy of
  the same database.

The service re-decides leads with new events in the background; that work shares the
machine's 2 cores with the requests and is part of what is measured.

Run:  python benchmarks/api.py [--leads 2000] [--requests 4000] [--batches 64] [--clients 32]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running this file puts benchmarks/ first on sys.path; the project root in front makes `agent`
# resolve to the package.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import os
import platform
import random
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from agent.decisions import decide
from agent.demo.generator import generate
from agent.playbook import load_playbook
from agent.settings import DEFAULT_PLAYBOOK
from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.tools.timeline import load_timeline
from benchmarks.stats import percentile

DATA = Path(__file__).resolve().parent / ".data" / "api"
console = Console()
T = TypeVar("T")


@dataclass
class Load:
    """What the clients saw for one route, and the CPU each side spent on it."""

    latencies: list[float]
    seconds: float
    failures: int
    server_cpu: float = 0.0
    client_cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds


def main() -> None:
    args = parse_args()
    random.seed(args.seed)
    now = datetime.now(UTC)
    db_path = seed(args.leads, args.seed, now)
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    db = Database(f"sqlite:///{db_path}")
    keys = {
        role: create_key(db, name=f"bench-{role}", role=role, at=now) for role in ("rep", "ingest")
    }
    lead_ids = [f"lead-{n:04d}" for n in range(1, args.leads + 1)]
    sample = [random.choice(lead_ids) for _ in range(args.requests)]

    baseline_next = in_process_next(db, playbook, sample[: min(500, len(sample))])
    baseline_batch = in_process_batch(db_path, playbook, lead_ids, now)

    batches = [events_batch(lead_ids, now, f"b{n}") for n in range(args.batches)]
    with running_service(args.port) as service:
        next_load = measured(
            service, lambda: drive_next(service.url, keys["rep"], sample, args.clients)
        )
        batch_load = measured(
            service, lambda: drive_batches(service.url, keys["ingest"], batches, args.clients)
        )

    report(args, baseline_next, baseline_batch, next_load, batch_load)


def measured(service: running_service, load: Callable[[], Coroutine[Any, Any, Load]]) -> Load:
    """Runs a load and notes the CPU seconds the service and this client spent on it: on a
    shared 2-core machine the client's own work is part of what limits the rate."""
    server_before, client_before = service.cpu_seconds(), time.process_time()
    result = asyncio.run(load())
    result.server_cpu = service.cpu_seconds() - server_before
    result.client_cpu = time.process_time() - client_before
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=4000, help="next-action requests")
    parser.add_argument("--batches", type=int, default=64, help="1,000-event batches")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--seed", type=int, default=11)
    return parser.parse_args()


def seed(leads: int, seed_value: int, now: datetime) -> Path:
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    db = Database(f"sqlite:///{DATA / 'nurture.db'}")
    db.migrate()
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    lead_rows, event_rows = generate(seed=seed_value, now=now, count=leads)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("seeding", total=len(lead_rows) + len(event_rows))
        upsert_leads(db, lead_rows, playbook, now=now)
        progress.advance(task, len(lead_rows))
        for start in range(0, len(event_rows), 10_000):
            chunk = event_rows[start : start + 10_000]
            ingest_events(db, chunk, playbook, now=now)
            progress.advance(task, len(chunk))
    console.print(f"seeded {len(lead_rows)} leads, {len(event_rows)} events")
    db.dispose()
    return DATA / "nurture.db"


def in_process_next(db: Database, playbook: object, lead_ids: list[str]) -> list[float]:
    timings = []
    for lead_id in lead_ids:
        started = time.perf_counter()
        now = datetime.now(UTC)
        lead, events = load_timeline(db, lead_id, until=now, playbook=playbook)  # type: ignore[arg-type]
        decide(lead, events, playbook, now)  # type: ignore[arg-type]
        timings.append(time.perf_counter() - started)
    return timings


def in_process_batch(
    db_path: Path, playbook: object, lead_ids: list[str], now: datetime
) -> list[float]:
    """One 1,000-event batch at a time into a copy of the database (the service's stays as is)."""
    copy = db_path.with_name("baseline.db")
    shutil.copy(db_path, copy)
    db = Database(f"sqlite:///{copy}")
    timings = []
    for n in range(5):
        batch = events_batch(lead_ids, now, f"base{n}")
        started = time.perf_counter()
        report = ingest_events(db, batch, playbook, now=datetime.now(UTC))  # type: ignore[arg-type]
        timings.append(time.perf_counter() - started)
        assert report.count("stored") == len(batch), report.rejected[:3]
    db.dispose()
    return timings


def events_batch(lead_ids: list[str], now: datetime, tag: str) -> list[dict[str, object]]:
    rng = random.Random(tag)
    return [
        {
            "id": f"{tag}-{n}",
            "lead_id": rng.choice(lead_ids),
            "type": "page_view",
            "occurred_at": (now - timedelta(minutes=rng.randint(1, 600))).isoformat(),
            "properties": {"path": rng.choice(["/blog/routing", "/pricing", "/product"])},
        }
        for n in range(1_000)
    ]


class running_service:  # noqa: N801 - used as a context manager, reads as one
    """`nurture serve` in a child process on the benchmark's data folder."""

    def __init__(self, port: int) -> None:
        self.port = port

    def cpu_seconds(self) -> float:
        """User + system CPU time of the service process, from /proc."""
        fields = Path(f"/proc/{self.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def __enter__(self) -> running_service:
        env = {**os.environ, "NURTURE_DATA_DIR": str(DATA)}
        env.pop("NURTURE_DATABASE_URL", None)
        command = [
            sys.executable,
            "-c",
            "from cli import main; main()",
            "serve",
            "--port",
            str(self.port),
        ]
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        url = self.url = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                assert self.process.stderr is not None  # opened with stderr=PIPE
                raise SystemExit(
                    f"the service exited: {self.process.stderr.read().decode()[-2000:]}"
                )
            try:
                if httpx.get(f"{url}/ready", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise SystemExit("the service did not become ready in 60 s")

    def __exit__(self, *_: object) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


async def drive_next(url: str, key: str, lead_ids: list[str], clients: int) -> Load:
    queue: asyncio.Queue[str] = asyncio.Queue()
    for lead_id in lead_ids:
        queue.put_nowait(lead_id)

    async def request(client: httpx.AsyncClient, lead_id: str) -> httpx.Response:
        return await client.get(f"/v1/leads/{lead_id}/next")

    return await drive(url, key, queue, clients, request, "next actions")


async def drive_batches(
    url: str, key: str, batches: list[list[dict[str, object]]], clients: int
) -> Load:
    queue: asyncio.Queue[list[dict[str, object]]] = asyncio.Queue()
    for batch in batches:
        queue.put_nowait(batch)

    async def request(client: httpx.AsyncClient, batch: list[dict[str, object]]) -> httpx.Response:
        response = await client.post("/v1/events/batch", json=batch)
        if response.status_code == 200 and response.json()["stored"] != len(batch):
            raise SystemExit(f"a batch lost events: {response.json()['rejected']} rejected")
        return response

    return await drive(url, key, queue, clients, request, "1,000-event batches")


async def drive(
    url: str,
    key: str,
    queue: asyncio.Queue[T],
    clients: int,
    request: Callable[[httpx.AsyncClient, T], Awaitable[httpx.Response]],
    label: str,
) -> Load:
    latencies: list[float] = []
    failures = 0
    total = queue.qsize()
    headers = {"Authorization": f"Bearer {key}"}

    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)

        async def client_loop() -> None:
            nonlocal failures
            limits = httpx.Limits(max_connections=1)
            async with httpx.AsyncClient(
                base_url=url, headers=headers, limits=limits, timeout=120
            ) as client:
                while not queue.empty():
                    item = queue.get_nowait()
                    started = time.perf_counter()
                    response = await request(client, item)
                    latencies.append(time.perf_counter() - started)
                    failures += response.status_code != 200
                    progress.advance(task)

        started = time.perf_counter()
        await asyncio.gather(*(client_loop() for _ in range(clients)))
        seconds = time.perf_counter() - started
    return Load(latencies, seconds, failures)


def report(
    args: argparse.Namespace,
    base_next: list[float],
    base_batch: list[float],
    next_load: Load,
    batch_load: Load,
) -> None:
    console.print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {args.leads} leads; {args.clients} clients; SQLite"
    )
    table = Table("measure", "requests", "per second", "p50", "p99", "failures", "CPU ms/request")
    ms = lambda s: f"{s * 1000:.1f} ms"  # noqa: E731
    per_call = lambda samples: f"{1000 * sum(samples) / len(samples):.1f}"  # noqa: E731
    rows = [
        (
            "baseline: load_timeline + decide, in process, one at a time",
            base_next,
            f"{len(base_next) / sum(base_next):.0f}",
            "",
            per_call(base_next),
        ),
        (
            "GET /v1/leads/{id}/next over HTTP",
            next_load.latencies,
            f"{next_load.rate:.0f}",
            str(next_load.failures),
            cpu(next_load),
        ),
        (
            "baseline: ingest_events, 1,000 events, in process",
            base_batch,
            f"{1000 * len(base_batch) / sum(base_batch):,.0f} events",
            "",
            per_call(base_batch),
        ),
        (
            "POST /v1/events/batch, 1,000 events, over HTTP",
            batch_load.latencies,
            f"{1000 * batch_load.rate:,.0f} events",
            str(batch_load.failures),
            cpu(batch_load),
        ),
    ]
    for label, samples, rate, failures, cpu_text in rows:
        p50, p99 = percentile(samples, 0.5), percentile(samples, 0.99)
        table.add_row(label, str(len(samples)), rate, ms(p50), ms(p99), failures, cpu_text)
    console.print(table)
    single = len(base_next) / sum(base_next)
    console.print(
        f"next actions: {next_load.rate:.0f}/s over HTTP vs {single:.0f}/s deciding in process "
        f"(ratio {next_load.rate / single:.2f}); batches: "
        f"{1000 * batch_load.rate:,.0f} vs {1000 * len(base_batch) / sum(base_batch):,.0f} "
        "events/s in process",
        highlight=False,
    )


def cpu(load: Load) -> str:
    count = len(load.latencies)
    service, client = 1000 * load.server_cpu / count, 1000 * load.client_cpu / count
    return f"service {service:.1f} + client {client:.1f}"


if __name__ == "__main__":
    main()
