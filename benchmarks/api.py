"""Benchmark of the HTTP service: `nurture serve` in its own process on 127.0.0.1, driven from
this process by 32 concurrent clients (httpx, one connection each), against the same work in
this process on the same number of threads, interleaved round by round after a warm-up.

Seeds demo leads (agent.demo.generator) into a fresh SQLite file under benchmarks/.data/api/ and,
where a server answers (NURTURE_BENCH_DATABASE_URL or NURTURE_TEST_DATABASE_URL), into a fresh
PostgreSQL database (dropped after; skipped, saying why, otherwise). Interleaved rounds, the
order alternating, first of the `next` pair, then of the batch pair (whose background
re-decisions must not land on the `next` rounds):

* GET /v1/leads/{id}/next (default JSON, with contributions) for `--per-round` random leads over
  HTTP; and the floor: the same decisions in process (`load_timeline` + `decide` + the same
  `NextAction` JSON) on `--clients` threads. Service CPU per request (the server process's CPU
  time from /proc, its background work included) against in-process CPU per decision; p99 and
  throughput on each side. Targets (issue #13): service CPU per request <= 2.5x the in-process
  CPU per decision, and <= 2.5 ms.
* POST /v1/events/batch, 1,000 new events per batch, `--batches-per-round` batches; and the same
  batches through `ingest_events` in process on as many threads (no target).

Run:  python benchmarks/api.py [--leads 1000] [--rounds 5] [--per-round 400] [--clients 32]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running this file puts benchmarks/ first on sys.path, where `api` would be this very file; the
# project root in front makes `agent` and `api` resolve to the packages.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import time
from collections.abc import Awaitable, Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import httpx

from agent.decisions import decide
from agent.demo.generator import generate
from agent.playbook import Playbook, load_playbook
from agent.settings import DEFAULT_PLAYBOOK
from agent.store import Database
from agent.store.api_keys import create_key
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.tools.timeline import load_timeline
from api.schemas import NextAction
from benchmarks.measure import (
    Figure,
    Spread,
    console,
    interleave_rounds,
    percentile,
    postgres_server,
    print_figures,
    print_machine,
    process_cpu_seconds,
    progress_bar,
    skip,
    times,
)
from tests.utils.replicas import fresh_postgres

DATA = Path(__file__).resolve().parent / ".data" / "api"
CPU_RATIO_TARGET = 2.5
CPU_TARGET_MS = 2.5
T = TypeVar("T")


@dataclass
class Load:
    """One burst of work: latencies, wall time, and the CPU the working side spent on it."""

    latencies: list[float]
    seconds: float
    failures: int = 0
    cpu: float = 0.0

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    @property
    def cpu_per_item(self) -> float:
        return self.cpu / len(self.latencies)


@dataclass
class Series:
    """The bursts of one side over the rounds."""

    loads: list[Load] = field(default_factory=list)

    def latencies(self) -> list[float]:
        return [x for load in self.loads for x in load.latencies]

    def cpu(self) -> Spread:
        return Spread.of([load.cpu_per_item for load in self.loads])

    def rate(self) -> Spread:
        return Spread.of([load.rate for load in self.loads])

    def failures(self) -> int:
        return sum(load.failures for load in self.loads)


def main() -> None:
    args = parse_args()
    random.seed(args.seed)
    figures = measure_on("SQLite", None, args)
    server, reason = postgres_server()
    if server is None:
        skip("the API on PostgreSQL", reason)
        figures.append(Figure("PostgreSQL", f"skipped: {reason}"))
    else:
        with fresh_postgres(server) as url:
            figures += measure_on("PostgreSQL", url, args)
    print_machine(
        f"; {args.leads} leads; {args.clients} clients / threads; {args.rounds} interleaved "
        f"rounds of {args.per_round} requests and {args.batches_per_round} batches"
    )
    print_figures("API benchmark (median over rounds, p25–p75)", figures)


def measure_on(label: str, database_url: str | None, args: argparse.Namespace) -> list[Figure]:
    now = datetime.now(UTC)
    url = seed(args.leads, args.seed, now, database_url)
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    db = Database(url)
    keys = {
        role: create_key(db, name=f"bench-{role}", role=role, at=now) for role in ("rep", "ingest")
    }
    lead_ids = [f"lead-{n:04d}" for n in range(1, args.leads + 1)]
    http_next, local_next, http_batch, local_batch = Series(), Series(), Series(), Series()
    with running_service(args.port, database_url) as service:
        warm = [random.choice(lead_ids) for _ in range(args.per_round)]
        measured(service, lambda: drive_next(service.url, keys["rep"], warm, args.clients))
        in_process_next(db, playbook, warm, args.clients)

        rep, ingest, clients = keys["rep"], keys["ingest"], args.clients

        def next_round(_: int) -> dict[str, Callable[[], object]]:
            sample = [random.choice(lead_ids) for _ in range(args.per_round)]
            return {
                "GET next": lambda: http_next.loads.append(
                    measured(service, lambda: drive_next(service.url, rep, sample, clients))
                ),
                "in-process next": lambda: local_next.loads.append(
                    in_process_next(db, playbook, sample, clients)
                ),
            }

        def batch_round(index: int) -> dict[str, Callable[[], object]]:
            http_batches, local_batches = (
                [
                    events_batch(lead_ids, now, f"r{index}-{side}-{n}")
                    for n in range(args.batches_per_round)
                ]
                for side in ("http", "local")
            )
            return {
                "POST batches": lambda: http_batch.loads.append(
                    measured(
                        service,
                        lambda: drive_batches(service.url, ingest, http_batches, clients),
                    )
                ),
                "in-process batches": lambda: local_batch.loads.append(
                    in_process_batches(db, playbook, local_batches, clients)
                ),
            }

        # batches last: the service re-decides their leads in the background afterwards, CPU
        # that must not land on the GET next rounds
        interleave_rounds(next_round, rounds=args.rounds, warmups=0, label=f"{label}: next")
        interleave_rounds(batch_round, rounds=args.rounds, warmups=0, label=f"{label}: batches")
    db.dispose()
    return report(label, http_next, local_next, http_batch, local_batch)


def measured(service: running_service, load: Callable[[], Coroutine[Any, Any, Load]]) -> Load:
    """Runs a load over HTTP and notes the CPU seconds the service spent meanwhile."""
    before = service.cpu_seconds()
    result = asyncio.run(load())
    result.cpu = service.cpu_seconds() - before
    return result


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--per-round", type=int, default=400, help="next requests per round")
    parser.add_argument("--batches-per-round", type=int, default=4, help="1,000-event batches")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--seed", type=int, default=11)
    return parser.parse_args()


def seed(leads: int, seed_value: int, now: datetime, database_url: str | None) -> str:
    """Demo leads in a fresh database; returns its URL (SQLite under DATA without one given)."""
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    url = database_url or f"sqlite:///{DATA / 'nurture.db'}"
    db = Database(url)
    db.migrate()
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    lead_rows, event_rows = generate(seed=seed_value, now=now, count=leads)
    with progress_bar() as progress:
        task = progress.add_task("seeding", total=len(lead_rows) + len(event_rows))
        upsert_leads(db, lead_rows, playbook, now=now)
        progress.advance(task, len(lead_rows))
        for start in range(0, len(event_rows), 10_000):
            chunk = event_rows[start : start + 10_000]
            ingest_events(db, chunk, playbook, now=now)
            progress.advance(task, len(chunk))
    console.print(f"seeded {len(lead_rows)} leads, {len(event_rows)} events")
    db.dispose()
    return url


def on_threads(work: Callable[[T], object], items: list[T], threads: int) -> Load:
    """`work` over `items` on `threads` threads; the CPU is this whole process's meanwhile."""

    def timed(item: T) -> float:
        started = time.perf_counter()
        work(item)
        return time.perf_counter() - started

    cpu_before, started = time.process_time(), time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        latencies = list(pool.map(timed, items))
    return Load(latencies, time.perf_counter() - started, cpu=time.process_time() - cpu_before)


def in_process_next(db: Database, playbook: Playbook, lead_ids: list[str], threads: int) -> Load:
    """The route's work without the web: the decision and the same JSON."""

    def one(lead_id: str) -> None:
        now = datetime.now(UTC)
        lead, events = load_timeline(db, lead_id, until=now, playbook=playbook)
        decision = decide(lead, events, playbook, now)
        NextAction(**decision.model_dump(), playbook_version=playbook.version).model_dump_json()

    return on_threads(one, lead_ids, threads)


def in_process_batches(
    db: Database, playbook: Playbook, batches: list[list[dict[str, object]]], threads: int
) -> Load:
    def one(batch: list[dict[str, object]]) -> None:
        report = ingest_events(db, batch, playbook, now=datetime.now(UTC))
        if report.count("stored") != len(batch):
            raise SystemExit(f"in-process ingest lost events: {report.rejected[:3]}")

    return on_threads(one, batches, threads)


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

    def __init__(self, port: int, database_url: str | None) -> None:
        self.port = port
        self.database_url = database_url

    def cpu_seconds(self) -> float:
        return process_cpu_seconds(self.process.pid)

    def __enter__(self) -> running_service:
        env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
        env["NURTURE_DATA_DIR"] = str(DATA)
        if self.database_url:
            env["NURTURE_DATABASE_URL"] = self.database_url
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

    return await drive(url, key, queue, clients, request)


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

    return await drive(url, key, queue, clients, request)


async def drive(
    url: str,
    key: str,
    queue: asyncio.Queue[T],
    clients: int,
    request: Callable[[httpx.AsyncClient, T], Awaitable[httpx.Response]],
) -> Load:
    latencies: list[float] = []
    failures = 0
    headers = {"Authorization": f"Bearer {key}"}

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

    started = time.perf_counter()
    await asyncio.gather(*(client_loop() for _ in range(clients)))
    return Load(latencies, time.perf_counter() - started, failures)


def report(
    label: str, http_next: Series, local_next: Series, http_batch: Series, local_batch: Series
) -> list[Figure]:
    service_cpu, local_cpu = http_next.cpu(), local_next.cpu()
    per_round = Spread.of(
        [
            h.cpu_per_item / local.cpu_per_item
            for h, local in zip(http_next.loads, local_next.loads, strict=True)
        ]
    )

    def cpu_ms(seconds: float) -> str:
        return f"{seconds * 1000:.2f} ms"

    def p99(series: Series) -> str:
        return cpu_ms(percentile(series.latencies(), 0.99))

    def rate(series: Series, unit: str = "/s", scale: float = 1) -> str:
        return series.rate().text(lambda r: f"{r * scale:,.0f}{unit}")

    return [
        Figure(
            f"{label}: GET next, service CPU per request",
            service_cpu.text(cpu_ms),
            f"<= {CPU_TARGET_MS:g} ms",
            service_cpu.median * 1000 <= CPU_TARGET_MS,
        ),
        Figure(f"{label}: floor, in-process CPU per decision + JSON", local_cpu.text(cpu_ms)),
        Figure(
            f"{label}: service CPU / in-process CPU (per round)",
            per_round.text(times),
            f"<= {CPU_RATIO_TARGET:g}×",
            per_round.median <= CPU_RATIO_TARGET,
        ),
        Figure(f"{label}: GET next throughput, HTTP", rate(http_next)),
        Figure(f"{label}: floor throughput, in process on as many threads", rate(local_next)),
        Figure(f"{label}: GET next p99, HTTP (failures {http_next.failures()})", p99(http_next)),
        Figure(f"{label}: floor p99, in process", p99(local_next)),
        Figure(
            f"{label}: POST 1,000-event batches, HTTP (failures {http_batch.failures()})",
            rate(http_batch, " events/s", 1000),
        ),
        Figure(f"{label}: floor, ingest_events in process", rate(local_batch, " events/s", 1000)),
        Figure(f"{label}: batch p99, HTTP / in process", f"{p99(http_batch)} / {p99(local_batch)}"),
    ]


if __name__ == "__main__":
    main()
