"""Benchmark of how two costs grow (issue #13's last two targets), each measured interleaved
against the same work at a small size, round by round (benchmarks/measure.py):

* `next` in process (load_timeline + decide, with its explanation, as `nurture next` and the
  API's default JSON build it) for a lead with 100,000 events against a lead with 1,000 events
  of the same mix, in one SQLite file. Target: the per-round ratio's median <= 100 (linear).
  The same without the explanation (`?explain=false`, the bulk paths) is reported alongside.
  A round times the 1,000-event lead `--small-calls` times and keeps the mean, so a 10 ms call
  is not one noisy sample against a 1 s one.
* serial `NurtureAgent.start()` (decide, retrieve, draft with the offline template drafter,
  guardrails, up to the approval interrupt) for the same due demo leads, in a database holding
  100,000 leads against one holding 1,000 (the same demo leads plus filler leads with a few
  events each). Each round drafts a new due lead in both. Target: the ratio's median <= 1.15.

Run:  python benchmarks/scaling.py [--rounds R] [--big-events N] [--big-leads N] [--reuse]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import random
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import partial
from typing import Any

from sqlalchemy import func, select

from agent.checkpoints import open_checkpointer
from agent.content.assets import load_library
from agent.content.embeddings import WordLlamaEmbedding
from agent.content.index import chroma_client, content_collection, sync_index
from agent.context import build_context
from agent.decisions import decide
from agent.demo.generator import generate
from agent.playbook import Playbook, load_playbook
from agent.runner import NurtureAgent
from agent.runtime import freeze_startup_heap
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import all_lead_ids, upsert_leads
from agent.store.schema import EventRow, LeadRow
from agent.tools.timeline import load_signals, load_timeline
from benchmarks.decide import NEXT_MIX, _event, _lead, event_batches
from benchmarks.measure import (
    Figure,
    Spread,
    console,
    interleave,
    interleave_rounds,
    ms,
    print_figures,
    print_machine,
    progress_bar,
    ratios,
    times,
)

DATA_DIR = Path(__file__).resolve().parent / ".data" / "scaling"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
SEED = 20261203
BATCH = 10_000
NEXT_RATIO_TARGET = 100.0
START_RATIO_TARGET = 1.15
DUE_ACTIONS = ("send_email", "re_engage")
DEMO_SEED = 7
STARTED = datetime.now(UTC)
"""start() decides as of the clock: the demo leads are built as of now, to be due now."""

# ------------------------------------------------------------------------------------------------
# next: a lead with 1,000 events against one with 100,000


def _heavy_lead(lead_id: str) -> dict[str, object]:
    return {
        "id": lead_id,
        "email": f"{lead_id}@northwind.example",
        "name": f"Dana {lead_id}",
        "company": "Northwind",
        "attributes": {"industry": "software", "employees": 300, "title": "Operations Manager"},
    }


def timelines_db(
    small: int, big: int, reuse: bool, playbook: Playbook
) -> tuple[Database, str, str]:
    """One SQLite file with two leads of the same event mix: `small` and `big` events."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"next-{small}-{big}.sqlite"
    small_id, big_id = f"lead-{small}-events", f"lead-{big}-events"
    if reuse and path.exists():
        db = Database(f"sqlite:///{path}")
        db.migrate()
        with db.session() as session:
            count = session.scalar(select(func.count()).select_from(EventRow))
        if count == small + big:
            console.print(f"reusing {path}")
            return db, small_id, big_id
        db.dispose()
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database(f"sqlite:///{path}")
    db.migrate()
    upsert_leads(db, [_heavy_lead(small_id), _heavy_lead(big_id)], playbook, now=NOW)
    rng = random.Random(SEED)
    with progress_bar(transient=False) as progress:
        task = progress.add_task("ingest timelines", total=small + big)
        for lead_id, count in ((small_id, small), (big_id, big)):
            for start in range(0, count, BATCH):
                batch = [
                    _event(rng, f"ev-{lead_id}-{i:06d}", lead_id, NEXT_MIX)
                    for i in range(start, min(start + BATCH, count))
                ]
                report = ingest_events(db, batch, playbook, now=NOW)
                if report.count("stored") != len(batch):
                    raise SystemExit(f"ingest did not store everything: {report.rejected[:3]}")
                progress.advance(task, len(batch))
    return db, small_id, big_id


def next_once(db: Database, playbook: Playbook, lead_id: str, explain: bool) -> str:
    lead, timeline = load_signals(db, lead_id, until=NOW, playbook=playbook)
    return decide(lead, timeline, playbook, NOW, explain=explain).action


class CpuTimes:
    """CPU time of this process per call of each subject, beside interleave's wall time: on a
    host shared by busy processes the wall time also counts waiting for a core, this does not
    (cache contention still shows)."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def timed(self, name: str, work: Callable[[], object]) -> Callable[[], object]:
        def run() -> None:
            started = time.process_time()
            work()
            self.samples.setdefault(name, []).append(time.process_time() - started)

        return run

    def kept(self, name: str, warmups: int) -> list[float]:
        return self.samples[name][warmups:]


def mean_of(calls: int, work: Callable[[], object]) -> Callable[[], object]:
    def run() -> None:
        for _ in range(calls):
            work()

    return run


def next_figures(args: argparse.Namespace, playbook: Playbook) -> list[Figure]:
    db, small_id, big_id = timelines_db(args.small_events, args.big_events, args.reuse, playbook)
    figures: list[Figure] = []
    try:
        for explain in (True, False):
            label = "with contributions" if explain else "explain=false"
            cpu = CpuTimes()
            samples = interleave(
                {
                    "small": cpu.timed(
                        "small",
                        mean_of(
                            args.small_calls,
                            partial(next_once, db, playbook, small_id, explain),
                        ),
                    ),
                    "big": cpu.timed("big", partial(next_once, db, playbook, big_id, explain)),
                },
                rounds=args.rounds,
                warmups=1,
                label=f"next, {label}",
            )
            small = [s / args.small_calls for s in samples["small"]]
            ratio = Spread.of(ratios(samples["big"], small))
            small_cpu = [s / args.small_calls for s in cpu.kept("small", 1)]
            cpu_ratio = Spread.of(ratios(cpu.kept("big", 1), small_cpu))
            figures += [
                Figure(f"next {args.small_events:,} events, {label}", Spread.of(small).text(ms)),
                Figure(
                    f"next {args.big_events:,} events, {label}", Spread.of(samples["big"]).text(ms)
                ),
                Figure(
                    f"ratio {args.big_events:,} / {args.small_events:,} events, {label}",
                    ratio.text(times),
                    f"<= {NEXT_RATIO_TARGET:g}×" if explain else "",
                    ratio.median <= NEXT_RATIO_TARGET if explain else None,
                ),
                Figure(f"  the same ratio in CPU time, {label}", cpu_ratio.text(times)),
            ]
    finally:
        db.dispose()
    return figures


# ------------------------------------------------------------------------------------------------
# start(): the same due leads in a database of 1,000 leads and one of 100,000


def index_content(data_dir: Path) -> None:
    collection = content_collection(
        chroma_client(url=None, path=data_dir / "chroma"), WordLlamaEmbedding()
    )
    sync_index(collection, load_library(DEFAULT_CONTENT).assets)


def demo_due(
    needed: int, playbook: Playbook
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[str]]:
    """Demo leads and events holding at least `needed` due leads, and those leads' ids."""
    count = needed * 2
    while True:
        leads, events = generate(seed=DEMO_SEED, now=STARTED, count=count)
        db = Database("sqlite://")
        db.migrate()
        upsert_leads(db, leads, playbook, now=STARTED)
        ingest_events(db, events, playbook, now=STARTED)
        due = []
        for lead_id in all_lead_ids(db):
            lead, timeline = load_timeline(db, lead_id, until=STARTED, playbook=playbook)
            if decide(lead, timeline, playbook, STARTED, explain=False).action in DUE_ACTIONS:
                due.append(lead_id)
        db.dispose()
        if len(due) >= needed:
            return leads, events, due[:needed]
        count *= 2


def stored_leads_db(
    name: str,
    total: int,
    demo: tuple[list[dict[str, Any]], list[dict[str, Any]]],
    playbook: Playbook,
) -> Path:
    """The demo leads plus filler leads (with about one event each) up to `total` leads."""
    path = DATA_DIR / f"{name}.sqlite"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    db = Database(f"sqlite:///{path}")
    db.migrate()
    leads, events = demo
    upsert_leads(db, leads, playbook, now=STARTED)
    ingest_events(db, events, playbook, now=STARTED)
    filler = total - len(leads)
    rng = random.Random(SEED)
    with progress_bar(transient=False) as progress:
        task = progress.add_task(f"{name}: filler leads", total=filler * 2)
        for start in range(0, filler, BATCH):
            batch = [_lead(rng, i) for i in range(start, min(start + BATCH, filler))]
            upsert_leads(db, batch, playbook, now=NOW)
            progress.advance(task, len(batch))
        for batch in event_batches(rng, filler, filler):
            ingest_events(db, batch, playbook, now=NOW)
            progress.advance(task, len(batch))
    with db.session() as session:
        stored = session.scalar(select(func.count()).select_from(LeadRow))
    db.dispose()
    if stored != total:
        raise SystemExit(f"{name}: {stored} leads stored, {total} wanted")
    return path


@contextmanager
def agent_on(path: Path, data_dir: Path) -> Iterator[NurtureAgent]:
    """The agent as `nurture draft` builds it, with the offline template drafter."""
    settings = Settings(
        data_dir=data_dir, database_url=f"sqlite:///{path}", llm_base_url=None, smtp_host=None
    )
    ctx = build_context(settings)
    try:
        with open_checkpointer(settings) as checkpointer:
            yield NurtureAgent(ctx, checkpointer)
    finally:
        ctx.db.dispose()


def start_figures(args: argparse.Namespace, playbook: Playbook) -> list[Figure]:
    needed = args.rounds_start + 2
    leads, events, due = demo_due(needed, playbook)
    console.print(f"{len(leads)} demo leads, {len(due)} due ones drafted in each database")
    sizes = {"small": args.small_leads, "big": args.big_leads}
    paths = {
        name: stored_leads_db(name, total, (leads, events), playbook)
        for name, total in sizes.items()
    }
    data_dirs = {name: DATA_DIR / f"data-{name}" for name in sizes}
    for data_dir in data_dirs.values():
        shutil.rmtree(data_dir, ignore_errors=True)
        index_content(data_dir)
    outcomes: Counter[str] = Counter()
    with (
        agent_on(paths["small"], data_dirs["small"]) as small,
        agent_on(paths["big"], data_dirs["big"]) as big,
    ):

        def round_of(index: int) -> dict[str, Callable[[], object]]:
            lead_id = due[index]

            def on(agent: NurtureAgent) -> Callable[[], object]:
                def run() -> None:
                    outcomes[agent.start(lead_id).outcome] += 1

                return run

            return {"small": cpu.timed("small", on(small)), "big": cpu.timed("big", on(big))}

        cpu = CpuTimes()
        samples = interleave_rounds(
            round_of, rounds=args.rounds_start, warmups=2, label="start(), template drafter"
        )
    ratio = Spread.of(ratios(samples["big"], samples["small"]))
    cpu_ratio = Spread.of(ratios(cpu.kept("big", 2), cpu.kept("small", 2)))
    console.print(f"outcomes (both databases, warm-ups included): {dict(outcomes)}")
    return [
        Figure(
            f"start() at {args.small_leads:,} stored leads", Spread.of(samples["small"]).text(ms)
        ),
        Figure(f"start() at {args.big_leads:,} stored leads", Spread.of(samples["big"]).text(ms)),
        Figure(
            f"ratio {args.big_leads:,} / {args.small_leads:,} leads (per round)",
            ratio.text(times),
            f"<= {START_RATIO_TARGET:g}×",
            ratio.median <= START_RATIO_TARGET,
        ),
        Figure("  the same ratio in CPU time", cpu_ratio.text(times)),
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds of next")
    parser.add_argument("--small-events", type=int, default=1_000)
    parser.add_argument("--big-events", type=int, default=100_000)
    parser.add_argument("--small-calls", type=int, default=10, help="1,000-event calls a round")
    parser.add_argument("--rounds-start", type=int, default=30, help="interleaved start() rounds")
    parser.add_argument("--small-leads", type=int, default=1_000)
    parser.add_argument("--big-leads", type=int, default=100_000)
    parser.add_argument("--reuse", action="store_true", help="keep the timelines file if it fits")
    parser.add_argument("--only", choices=("next", "start"), help="one of the two figures")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    freeze_startup_heap()  # as the CLI and the service do at start-up (agent/runtime.py)
    figures: list[Figure] = []
    if args.only in (None, "next"):
        figures += next_figures(args, playbook)
    if args.only in (None, "start"):
        figures += start_figures(args, playbook)
    print_machine(f"; {args.rounds} next rounds, {args.rounds_start} start() rounds")
    print_figures("scaling benchmark (median, p25–p75)", figures)


if __name__ == "__main__":
    main()
