"""Scale benchmark on PostgreSQL (issue #11): the job queue's own overhead, CPU per draft job, and
draft runs per second with 1 and then 2 `nurture worker` processes.

Needs a PostgreSQL server (NURTURE_BENCH_DATABASE_URL or NURTURE_TEST_DATABASE_URL); makes a
fresh database on it (dropped after), or skips saying why. Measures:

* queue overhead per job: a no-op procrastinate job, from `defer` (an app set up as the API's,
  durable commits) until the worker's finish has recorded it succeeded (the worker set up as
  `nurture worker`'s, in this process, concurrency 1, woken by LISTEN/NOTIFY; the end is when its
  finish returns, not when a poller of ours next looks), against a bare `SELECT 1` round trip,
  interleaved round by round; every job is checked succeeded after. Target: <= 5 ms per job.
* CPU per draft job: the worker processes' CPU time (from /proc) over the timed phase, divided
  by the draft runs it finished; the model is the zero-latency scripted server
  (tests/utils/fake_openai.py) replying with a draft that passes the guardrails.
* draft runs per second with 1 worker process and with 2, each at `--concurrency` (enough
  to keep its core busy), the same number of runs in each phase, the phases alternated
  `--rounds` times; each worker is started fresh and warmed up before its phase is timed.
  Target: 2 workers / 1 worker >= 1.4x (the database and the model server share the 2 cores).
  Beside it, the CPU per run of each kind of process (the workers; this database's PostgreSQL
  backends, from /proc when the server is local; this process, which is the model server) and
  how busy the whole machine was, so a ratio capped by the machine shows as such.

Run:  python benchmarks/scale.py [--runs 40] [--rounds 2] [--concurrency 4] [--jobs 200]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import asyncio
import math
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg
from sqlalchemy import text
from sqlalchemy.engine import make_url

from agent.content.assets import load_library
from agent.content.embeddings import WordLlamaEmbedding
from agent.content.index import chroma_client, content_collection, sync_index
from agent.decisions import decide
from agent.demo.generator import generate
from agent.jobs.queue import QueueExecutor, new_app, new_worker_app
from agent.playbook import load_playbook
from agent.runner import NurtureAgent
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import all_lead_ids, upsert_leads
from agent.store.runs import queue_run
from agent.tools.timeline import load_timeline
from benchmarks.drafting import GENERIC_DRAFT, GroundedFakeOpenAI
from benchmarks.measure import (
    Figure,
    Spread,
    console,
    interleave_rounds,
    ms,
    postgres_server,
    print_figures,
    print_machine,
    process_cpu_seconds,
    progress_bar,
    ratios,
    skip,
    times,
)
from tests.utils.fake_openai import Reply
from tests.utils.replicas import NURTURE, fresh_postgres

DATA = Path(__file__).resolve().parent / ".data" / "scale"
JOB_TARGET_MS = 5.0
SCALE_TARGET = 1.4
DUE_ACTIONS = ("send_email", "re_engage")
DUE_SHARE = 0.25  # of small demo casts, about a third are due: seed with room to spare
WARM_RUNS = 2  # per worker, untimed: a fresh process loads its models on the first job
BENCH_QUEUE = "bench"
TERMINAL_POLL = 0.05


def libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


# ------------------------------------------------------------------------------------------------
# Queue overhead: a no-op job against SELECT 1


async def queue_overhead(url: str, rounds: int) -> tuple[list[float], list[float]]:
    settings = Settings(database_url=url, data_dir=DATA)
    enqueuing = new_app(settings)  # as the API enqueues: durable commits
    working = new_worker_app(settings)  # as `nurture worker` runs jobs: its connections
    finished = asyncio.Event()

    @working.task(name="bench.noop", queue=BENCH_QUEUE)
    async def noop() -> None:
        pass

    finish_job = working.job_manager.finish_job

    async def finish_and_tell(*args: Any, **kwargs: Any) -> None:
        # the job is done once the queue has recorded it: when the worker's finish returns,
        # not when a poller of ours next looks (that would add our polling delay)
        await finish_job(*args, **kwargs)
        finished.set()

    working.job_manager.finish_job = finish_and_tell  # type: ignore[method-assign]
    defer = enqueuing.configure_task("bench.noop", queue=BENCH_QUEUE)

    async with (
        enqueuing.open_async(),
        working.open_async(),
        await psycopg.AsyncConnection.connect(libpq(url), autocommit=True) as connection,
    ):
        worker = asyncio.create_task(
            working.run_worker_async(
                queues=[BENCH_QUEUE], concurrency=1, install_signal_handlers=False
            )
        )
        await asyncio.sleep(1)  # the worker is listening before the first job

        async def job() -> None:
            finished.clear()
            await defer.defer_async()
            await finished.wait()

        async def select_one() -> None:
            await (await connection.execute("SELECT 1")).fetchone()

        job_s: list[float] = []
        floor_s: list[float] = []
        with progress_bar() as progress:
            task = progress.add_task("no-op job vs SELECT 1", total=rounds + 10)
            for index in range(rounds + 10):
                order = [(job, job_s), (select_one, floor_s)]
                for step, into in order if index % 2 else reversed(order):
                    started = time.perf_counter()
                    await step()
                    if index >= 10:
                        into.append(time.perf_counter() - started)
                progress.advance(task)
        worker.cancel()
        try:
            await worker
        except asyncio.CancelledError:
            pass
        cursor = await connection.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = %s AND status = %s",
            (BENCH_QUEUE, "succeeded"),
        )
        succeeded = await cursor.fetchone()
    if succeeded is None or succeeded[0] != rounds + 10:
        raise SystemExit(f"{succeeded} of {rounds + 10} no-op jobs recorded as succeeded")
    return job_s, floor_s


# ------------------------------------------------------------------------------------------------
# Draft runs through `nurture worker` processes


def index_content() -> None:
    collection = content_collection(
        chroma_client(url=None, path=DATA / "chroma"), WordLlamaEmbedding()
    )
    sync_index(collection, load_library(DEFAULT_CONTENT).assets)


def seed_due(db: Database, needed: int) -> list[str]:
    """Demo leads until `needed` of them are due for an email; returns the due ones' ids."""
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    now = datetime.now(UTC)
    lead_rows, event_rows = generate(seed=17, now=now, count=math.ceil(needed / DUE_SHARE))
    for row in lead_rows:
        # an account of its own: demo colleagues share one, and the account rules (one email per
        # account per week, an account with sales holds its other contacts) would end most runs
        # without a draft, so the phases would time fewer draft jobs than they count
        row.setdefault("attributes", {})["account_id"] = f"bench-{row['id']}"
    upsert_leads(db, lead_rows, playbook, now=now)
    ingest_events(db, event_rows, playbook, now=now)
    due = []
    for lead_id in all_lead_ids(db):
        lead, events = load_timeline(db, lead_id, until=now, playbook=playbook)
        if decide(lead, events, playbook, now).action in DUE_ACTIONS:
            due.append(lead_id)
    if len(due) < needed:
        raise SystemExit(f"only {len(due)} of {len(lead_rows)} demo leads are due; need {needed}")
    return due


@contextmanager
def worker_process(env: dict[str, str], index: int, concurrency: int) -> Iterator[int]:
    """`nurture worker` with its own copy of the content index; yields its pid; SIGTERM after."""
    data_dir = DATA / f"worker-{index}"
    shutil.rmtree(data_dir, ignore_errors=True)
    shutil.copytree(DATA / "chroma", data_dir / "chroma")
    log = (DATA / f"worker-{index}.log").open("w")
    process = subprocess.Popen(
        [NURTURE, "worker", "--concurrency", str(concurrency), "--queues", "drafts"],
        env={**env, "NURTURE_DATA_DIR": str(data_dir)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if process.returncode not in (0, -signal.SIGTERM):
            console.print(f"[red]worker {index} exited {process.returncode}[/red]: see {log.name}")


class Drafts:
    """Queues draft runs as the API does (a run row, then a job) and waits for them to end."""

    def __init__(self, db: Database, settings: Settings, leads: list[str]) -> None:
        self.db = db
        self.executor = QueueExecutor(settings)
        self.executor.start()
        self.leads = iter(leads)
        self.version = load_playbook(DEFAULT_PLAYBOOK).version

    def queue(self, count: int) -> list[str]:
        threads = []
        for _ in range(count):
            lead_id = next(self.leads)
            thread_id = NurtureAgent.new_thread_id()
            queue_run(
                self.db,
                thread_id=thread_id,
                lead_id=lead_id,
                at=datetime.now(UTC),
                playbook_version=self.version,
            )
            self.executor.submit_draft(thread_id, lead_id)
            threads.append(thread_id)
        return threads

    def wait(self, threads: list[str], timeout: float = 600) -> dict[str, int]:
        """Outcomes of the runs once none is queued or running."""
        deadline = time.monotonic() + timeout
        query = text(
            "SELECT outcome, count(*) FROM runs WHERE thread_id = ANY(:ids) GROUP BY outcome"
        )
        while True:
            with self.db.engine.connect() as connection:
                outcomes = {
                    row[0]: int(row[1]) for row in connection.execute(query, {"ids": threads})
                }
            if not outcomes.keys() & {"queued", "running"}:
                return outcomes
            if time.monotonic() > deadline:
                raise SystemExit(f"draft runs did not end in {timeout} s: {outcomes}")
            time.sleep(TERMINAL_POLL)

    def close(self) -> None:
        self.executor.stop()


def last_worker_id(db: Database) -> int:
    with db.engine.connect() as connection:
        return int(
            connection.execute(
                text("SELECT coalesce(max(id), 0) FROM procrastinate_workers")
            ).scalar_one()
        )


def wait_for_workers(db: Database, after: int, count: int, timeout: float = 120) -> None:
    """Until `count` workers newer than worker id `after` have registered with the queue."""
    deadline = time.monotonic() + timeout
    query = text("SELECT count(*) FROM procrastinate_workers WHERE id > :after")
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            if connection.execute(query, {"after": after}).scalar_one() >= count:
                return
        time.sleep(0.2)
    raise SystemExit(f"{count} workers did not register in {timeout} s: see {DATA}/worker-*.log")


@dataclass(frozen=True, slots=True)
class Phase:
    rate: float
    """draft runs per second"""
    worker_cpu: float
    """the workers' CPU seconds per run"""
    share: float
    """share of a core each worker used"""
    postgres_cpu: float
    """CPU seconds per run of this database's PostgreSQL backends (nan when not local)"""
    bench_cpu: float
    """CPU seconds per run of this process: the model server, queueing runs, waiting"""
    machine_busy: float
    """share of all the machine's cores busy (with anything, other sessions too)"""
    outcomes: dict[str, int]


def backend_cpu(db: Database) -> dict[int, float]:
    """CPU seconds so far of each backend serving this database, read from /proc (empty
    when PostgreSQL runs elsewhere)."""
    with db.engine.connect() as connection:
        pids = connection.execute(
            text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
        ).scalars()
        seconds = {}
        for pid in pids:
            try:
                seconds[int(pid)] = process_cpu_seconds(int(pid))
            except (FileNotFoundError, PermissionError):
                continue
    return seconds


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores since boot, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def phase(
    drafts: Drafts, db: Database, env: dict[str, str], workers: int, runs: int, concurrency: int
) -> Phase:
    """Figures of `runs` draft runs on `workers` fresh workers."""
    with ExitStack() as stack:
        after = last_worker_id(db)
        pids = [stack.enter_context(worker_process(env, n, concurrency)) for n in range(workers)]
        wait_for_workers(db, after, workers)
        drafts.wait(drafts.queue(WARM_RUNS * workers))
        cpu_before = sum(process_cpu_seconds(pid) for pid in pids)
        postgres_before, bench_before = backend_cpu(db), time.process_time()
        busy_before, total_before = machine_jiffies()
        started = time.perf_counter()
        outcomes = drafts.wait(drafts.queue(runs))
        seconds = time.perf_counter() - started
        busy_after, total_after = machine_jiffies()
        bench = time.process_time() - bench_before
        cpu = sum(process_cpu_seconds(pid) for pid in pids) - cpu_before
        postgres_after = backend_cpu(db)
    # backends that ended during the phase are missing: this undercounts PostgreSQL a little
    postgres = (
        sum(now - postgres_before.get(pid, 0.0) for pid, now in postgres_after.items())
        if postgres_after
        else math.nan
    )
    return Phase(
        rate=runs / seconds,
        worker_cpu=cpu / runs,
        share=cpu / seconds / workers,
        postgres_cpu=postgres / runs,
        bench_cpu=bench / runs,
        machine_busy=(busy_after - busy_before) / max(1, total_after - total_before),
        outcomes=outcomes,
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=40, help="draft runs per timed phase")
    parser.add_argument("--rounds", type=int, default=2, help="1-worker/2-worker phase pairs")
    parser.add_argument("--concurrency", type=int, default=4, help="jobs at once per worker")
    parser.add_argument("--jobs", type=int, default=200, help="no-op jobs (and SELECT 1s)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    server, reason = postgres_server()
    if server is None:
        skip("benchmarks/scale.py (PostgreSQL only)", reason)
        return
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    with fresh_postgres(server) as url:
        db = Database(url)
        db.migrate()
        job_s, floor_s = asyncio.run(queue_overhead(url, args.jobs))
        figures = queue_figures(job_s, floor_s)

        index_content()
        phases = args.rounds * (1 + 2)  # worker starts: 1, then 2, per round
        due = seed_due(db, args.rounds * 2 * args.runs + phases * WARM_RUNS)
        console.print(f"{len(due)} due demo leads; content indexed in {DATA / 'chroma'}")
        with GroundedFakeOpenAI(default=Reply.json(GENERIC_DRAFT)) as model:
            env = {k: v for k, v in os.environ.items() if not k.startswith("NURTURE_")}
            env.update(
                NURTURE_DATABASE_URL=url,
                NURTURE_LLM_BASE_URL=model.base_url,
                NURTURE_LLM_MODEL="fake-model",
                NURTURE_SWEEP_SECONDS="0",
            )
            settings = Settings(database_url=url, data_dir=DATA)
            drafts = Drafts(db, settings, due)
            try:
                figures += scaling_figures(drafts, db, env, args)
            finally:
                drafts.close()
        db.dispose()
    print_machine(f"; PostgreSQL; {args.runs} draft runs per phase, {args.rounds} rounds")
    print_figures("scale benchmark (median, p25–p75)", figures)


def queue_figures(job_s: list[float], floor_s: list[float]) -> list[Figure]:
    job = Spread.of(job_s)
    return [
        Figure(
            "no-op job, defer to succeeded (queue overhead per job)",
            job.text(ms),
            f"<= {JOB_TARGET_MS:g} ms",
            job.median * 1000 <= JOB_TARGET_MS,
        ),
        Figure("floor: SELECT 1 round trip", Spread.of(floor_s).text(ms)),
        Figure("no-op job / SELECT 1 (per round)", Spread.of(ratios(job_s, floor_s)).text(times)),
    ]


def scaling_figures(
    drafts: Drafts, db: Database, env: dict[str, str], args: argparse.Namespace
) -> list[Figure]:
    phases: dict[int, list[Phase]] = {1: [], 2: []}

    def make_round(_: int) -> dict[str, Callable[[], object]]:
        def run(workers: int) -> None:
            phases[workers].append(phase(drafts, db, env, workers, args.runs, args.concurrency))

        return {"1 worker": lambda: run(1), "2 workers": lambda: run(2)}

    interleave_rounds(make_round, rounds=args.rounds, warmups=0, label="1 vs 2 workers")

    def of(workers: int, figure: Callable[[Phase], float]) -> Spread:
        return Spread.of([figure(p) for p in phases[workers]])

    outcomes: dict[str, int] = {}
    for phase_ in phases[1] + phases[2]:
        for outcome, count in phase_.outcomes.items():
            outcomes[outcome] = outcomes.get(outcome, 0) + count
    scale = Spread.of(ratios([p.rate for p in phases[2]], [p.rate for p in phases[1]]))
    rate_text = "{:.2f} runs/s".format

    def per_run(workers: int) -> str:
        return (
            f"workers {of(workers, lambda p: p.worker_cpu).median * 1000:.0f} / PostgreSQL "
            f"{of(workers, lambda p: p.postgres_cpu).median * 1000:.0f} / model server and "
            f"benchmark {of(workers, lambda p: p.bench_cpu).median * 1000:.0f} ms"
        )

    return [
        Figure("CPU per draft job, 1 worker (zero-latency model)", of(1, _worker_cpu).text(ms)),
        Figure("CPU per draft job, 2 workers", of(2, _worker_cpu).text(ms)),
        Figure("CPU per run by process, 1 worker", per_run(1)),
        Figure("CPU per run by process, 2 workers", per_run(2)),
        Figure(
            f"draft runs/s, 1 worker at concurrency {args.concurrency}",
            of(1, lambda p: p.rate).text(rate_text),
        ),
        Figure(
            f"draft runs/s, 2 workers at concurrency {args.concurrency} each",
            of(2, lambda p: p.rate).text(rate_text),
        ),
        Figure(
            "share of a core each worker used, 1 worker / 2 workers",
            f"{of(1, lambda p: p.share).median:.0%} / {of(2, lambda p: p.share).median:.0%}",
        ),
        Figure(
            "machine busy (all cores, every process), 1 worker / 2 workers",
            f"{of(1, lambda p: p.machine_busy).median:.0%} / "
            f"{of(2, lambda p: p.machine_busy).median:.0%}",
        ),
        Figure(
            "2 workers / 1 worker (per round)",
            scale.text(times),
            f">= {SCALE_TARGET:g}×",
            scale.median >= SCALE_TARGET,
        ),
        Figure("run outcomes (timed phases)", ", ".join(f"{k} {v}" for k, v in outcomes.items())),
    ]


def _worker_cpu(phase_: Phase) -> float:
    return phase_.worker_cpu


if __name__ == "__main__":
    main()
