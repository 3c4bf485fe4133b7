"""Benchmark of the decision engine: ingest, bulk re-score and `next` for one lead, on SQLite
and (where a server answers) PostgreSQL.

Builds a synthetic data set through the real write path (`upsert_leads`, `ingest_events`), then
measures, against the default playbook:

* the bulk re-score (`rescore_all`) against its floor, interleaved round by round: the same work
  without our code, as hand-written SQL in one transaction (DELETE the snapshot, one
  INSERT ... SELECT with the same decay math, filter and join, count the rows). Target: the
  per-round ratio's median <= 2 (issue #13), on each database;
* `next` for a lead with 1,000 events: `load_signals` + `decide` (target: p99 <= 20 ms).

PostgreSQL: a fresh database on the server NURTURE_BENCH_DATABASE_URL or
NURTURE_TEST_DATABASE_URL names, dropped after; skipped, saying why, where none answers.

Run:  python benchmarks/decide.py [--leads N] [--events M] [--rounds R] [--db PATH] [--reuse]
      python benchmarks/decide.py --leads 100000 --events 2000000   # the issue's full size
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import itertools
import math
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, text

from agent.decisions import decide
from agent.playbook import Playbook, load_playbook
from agent.runtime import freeze_startup_heap
from agent.settings import DEFAULT_PLAYBOOK
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.schema import EventRow, LeadRow
from agent.store.scores import Stale, count_stale, refresh_derived, rescore_all
from agent.tools.timeline import load_signals
from benchmarks.measure import (
    Figure,
    Spread,
    console,
    interleave,
    percentile,
    postgres_server,
    print_figures,
    print_machine,
    progress_bar,
    ratios,
    sec,
    skip,
    times,
)
from tests.utils.replicas import fresh_postgres

DATA_DIR = Path(__file__).resolve().parent / ".data"
NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)  # fixed, so a reused file means the same thing
SEED = 20261120
BATCH = 10_000
YEAR_SECONDS = 365 * 86_400
NEXT_LEAD = "lead-next"
NEXT_EVENTS = 1_000
NEXT_WARMUPS, NEXT_RUNS = 10, 200
RATIO_TARGET = 2.0
P99_TARGET_MS = 20.0
NONE = Stale(0, 0)

# ------------------------------------------------------------------------------------------------
# Synthetic data

INDUSTRIES = (
    ("software", 20),
    ("logistics", 10),
    ("manufacturing", 12),
    ("financial services", 10),
    ("retail", 12),
    ("healthcare", 10),
    ("education", 8),
    ("government", 5),
    ("media", 6),
    ("energy", 7),
)
TITLES = (
    "VP Operations",
    "Director of IT",
    "Head of Procurement",
    "CFO",
    "Founder",
    "Operations Manager",
    "IT Manager",
    "Marketing Manager",
    "Software Engineer",
    "Data Analyst",
    "Logistics Coordinator",
    "Account Executive",
    "Consultant",
    "Student",
)
TOPICS = (
    "supply chain visibility",
    "demand forecasting",
    "security and compliance",
    "cost reduction",
    "integrations",
    "warehouse automation",
)
OTHER_PAGES = ("/", "/product", "/product/integrations", "/docs/getting-started", "/about")
DSR_KINDS = ("pricing", "proposal", "security", "case_study", "roi")
FORMS = (("demo", 15), ("contact", 35), ("newsletter", 50))


def _page_view(rng: random.Random) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.45:
        path = f"/blog/post-{rng.randrange(400)}"
    elif roll < 0.53:
        path = rng.choice(("/pricing", "/pricing/enterprise"))
    elif roll < 0.58:
        path = rng.choice(("/compare/", "/vs/")) + f"competitor-{rng.randrange(6)}"
    elif roll < 0.66:
        path = f"/customers/customer-{rng.randrange(60)}"
    elif roll < 0.69:
        path = "/roi-calculator"
    else:
        path = rng.choice(OTHER_PAGES)
    return {"path": path}


def _email_sent(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(("blog", "whitepaper", "case_study", "webinar", "faq"))
    return {"asset_kind": kind, "asset_id": f"{kind}-{rng.randrange(40)}"}


def _whitepaper(rng: random.Random) -> dict[str, Any]:
    return {"topic": rng.choice(TOPICS), "asset_id": f"wp-{rng.randrange(30)}"}


def _case_study(rng: random.Random) -> dict[str, Any]:
    return {
        "completion": round(rng.random(), 2),
        "asset_id": f"cs-{rng.randrange(60)}",
        "topic": rng.choice(TOPICS),
    }


def _dsr_view(rng: random.Random) -> dict[str, Any]:
    kind = rng.choice(DSR_KINDS)
    return {
        "asset_kind": kind,
        "asset_id": f"dsr-{kind}-{rng.randrange(5)}",
        "seconds": int(rng.expovariate(1 / 60)),
        "viewer": f"viewer-{rng.randrange(4)}",
        "topic": rng.choice(TOPICS),
    }


def _form_submit(rng: random.Random) -> dict[str, Any]:
    return {"form": _weighted(rng, FORMS)}


def _webinar(rng: random.Random) -> dict[str, Any]:
    return {"webinar_id": f"web-{rng.randrange(20)}", "topic": rng.choice(TOPICS)}


def _bounce(rng: random.Random) -> dict[str, Any]:
    return {"hard": rng.random() < 0.4}


def _nothing(_rng: random.Random) -> dict[str, Any]:
    return {}


Maker = Callable[[random.Random], dict[str, Any]]


@dataclass(frozen=True, slots=True)
class Mix:
    """Event types with their property makers, drawn by weight."""

    kinds: tuple[tuple[str, Maker], ...]
    cum_weights: tuple[float, ...]

    @classmethod
    def of(cls, entries: tuple[tuple[str, float, Maker], ...]) -> Mix:
        kinds = tuple((kind, make) for kind, _, make in entries)
        return cls(kinds, tuple(itertools.accumulate(w for _, w, _ in entries)))


# (type, weight, properties); the last four end a lead's nurture and are rare
_ENTRIES: tuple[tuple[str, float, Maker], ...] = (
    ("page_view", 45, _page_view),
    ("email_sent", 12, _email_sent),
    ("email_open", 10, _nothing),
    ("email_click", 5, _email_sent),
    ("blog_view", 3, _nothing),
    ("whitepaper_download", 4, _whitepaper),
    ("webinar_registered", 2, _webinar),
    ("webinar_attended", 1, _webinar),
    ("case_study_view", 4, _case_study),
    ("dsr_view", 4, _dsr_view),
    ("form_submit", 2, _form_submit),
    ("pricing_page_view", 1, _nothing),
    ("comparison_page_view", 1, _nothing),
    ("roi_calculator_used", 0.5, _nothing),
    ("email_reply", 0.5, _nothing),
    ("demo_request", 0.3, _nothing),
    ("unsubscribe", 0.3, _nothing),
    ("email_bounce", 0.3, _bounce),
    ("handoff", 0.2, _nothing),
)
EVENT_MIX = Mix.of(_ENTRIES)
# the measured lead stays in nurture, so `decide` walks the action rules past the suppressions
NEXT_MIX = Mix.of(_ENTRIES[:-4])


def _weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    return rng.choices([o for o, _ in options], weights=[w for _, w in options])[0]


def _lead(rng: random.Random, index: int) -> dict[str, Any]:
    company = f"Company {index // 7}"
    return {
        "id": f"lead-{index:07d}",
        "email": f"person{index}@company-{index // 7}.example",
        "name": f"Person {index}",
        "company": company,
        "attributes": {
            "industry": _weighted(rng, INDUSTRIES),
            "employees": max(1, int(rng.lognormvariate(5, 1.6))),
            "title": rng.choice(TITLES),
            "country": rng.choice(("US", "DE", "GB", "FR", "NL", "CA")),
        },
        "do_not_contact": rng.random() < 0.01,
    }


def _next_lead() -> dict[str, Any]:
    return {
        "id": NEXT_LEAD,
        "email": "dana@northwind.example",
        "name": "Dana Reyes",
        "company": "Northwind",
        "attributes": {"industry": "software", "employees": 300, "title": "Operations Manager"},
    }


def _event(rng: random.Random, event_id: str, lead_id: str, mix: Mix) -> dict[str, Any]:
    kind, make = rng.choices(mix.kinds, cum_weights=mix.cum_weights)[0]
    moment = NOW - timedelta(seconds=rng.uniform(0, YEAR_SECONDS))
    return {
        "id": event_id,
        "lead_id": lead_id,
        "type": kind,
        "occurred_at": moment.isoformat(),
        "properties": make(rng),
    }


def lead_batches(rng: random.Random, leads: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, leads, BATCH):
        yield [_lead(rng, i) for i in range(start, min(start + BATCH, leads))]


def event_batches(rng: random.Random, leads: int, events: int) -> Iterator[list[dict[str, Any]]]:
    """Events over the leads with log-normal weights: most leads get a few, some get hundreds."""
    ids = [f"lead-{i:07d}" for i in range(leads)]
    weights = list(itertools.accumulate(rng.lognormvariate(0, 1.5) for _ in ids))
    for start in range(0, events, BATCH):
        size = min(BATCH, events - start)
        owners = rng.choices(ids, cum_weights=weights, k=size)
        yield [
            _event(rng, f"ev-{start + i:09d}", owner, EVENT_MIX) for i, owner in enumerate(owners)
        ]


def next_lead_events(rng: random.Random) -> list[dict[str, Any]]:
    return [_event(rng, f"ev-next-{i:04d}", NEXT_LEAD, NEXT_MIX) for i in range(NEXT_EVENTS)]


# ------------------------------------------------------------------------------------------------
# Building (or reusing) the database


@dataclass(slots=True)
class BuildStats:
    leads: int = 0
    events: int = 0
    lead_seconds: float = 0.0
    event_seconds: float = 0.0


def stored_counts(db: Database) -> tuple[int, int, int]:
    """(leads, events, events of the `next` lead) in the file."""
    with db.session() as session:
        leads = session.scalar(select(func.count()).select_from(LeadRow)) or 0
        events = session.scalar(select(func.count()).select_from(EventRow)) or 0
        heavy = session.scalar(select(func.count()).where(EventRow.lead_id == NEXT_LEAD)) or 0
    return leads, events, heavy


def holds_data(db: Database, leads: int, events: int) -> bool:
    return stored_counts(db) == (leads + 1, events + NEXT_EVENTS, NEXT_EVENTS)


def remove_database(path: Path) -> None:
    """Deletes a previous benchmark file; refuses a file elsewhere, which may be real data."""
    if path.exists() and not path.resolve().is_relative_to(DATA_DIR):
        raise SystemExit(f"{path} exists outside {DATA_DIR}: not replacing it (use --reuse?)")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def _upsert(db: Database, batch: list[dict[str, Any]], playbook: Playbook) -> float:
    started = time.perf_counter()
    report = upsert_leads(db, batch, playbook, now=NOW)
    elapsed = time.perf_counter() - started
    if report.count("stored") != len(batch):
        raise SystemExit(f"lead upsert rejected: {report.rejected[:3]}")
    return elapsed


def _ingest(db: Database, batch: list[dict[str, Any]], playbook: Playbook) -> float:
    started = time.perf_counter()
    report = ingest_events(db, batch, playbook, now=NOW)
    elapsed = time.perf_counter() - started
    if report.count("stored") != len(batch):
        raise SystemExit(f"event ingest did not store everything: {report.rejected[:3]}")
    return elapsed


def build(db: Database, playbook: Playbook, leads: int, events: int) -> BuildStats:
    rng = random.Random(SEED)
    stats = BuildStats(leads=leads + 1, events=events + NEXT_EVENTS)
    with progress_bar(transient=False) as progress:
        task = progress.add_task("upsert leads", total=leads + 1)
        for batch in itertools.chain(lead_batches(rng, leads), [[_next_lead()]]):
            stats.lead_seconds += _upsert(db, batch, playbook)
            progress.advance(task, len(batch))
        task = progress.add_task("ingest events", total=events + NEXT_EVENTS)
        for batch in itertools.chain(event_batches(rng, leads, events), [next_lead_events(rng)]):
            stats.event_seconds += _ingest(db, batch, playbook)
            progress.advance(task, len(batch))
    return stats


def open_sqlite(args: argparse.Namespace, playbook: Playbook) -> tuple[Database, BuildStats]:
    path: Path = args.db or DATA_DIR / f"decide-{args.leads}-{args.events}.sqlite"
    path.parent.mkdir(parents=True, exist_ok=True)
    if args.reuse and path.exists():
        db = Database(f"sqlite:///{path.resolve()}")
        db.migrate()
        if holds_data(db, args.leads, args.events):
            console.print(f"reusing {path}")
            return db, BuildStats()
        console.print(f"{path} does not hold the requested data set: rebuilding")
        db.dispose()
    remove_database(path)
    db = Database(f"sqlite:///{path.resolve()}")
    db.migrate()
    console.print(f"building {path}: {args.leads:,} leads, {args.events:,} events (+1 lead)")
    return db, build(db, playbook, args.leads, args.events)


def build_postgres(url: str, args: argparse.Namespace, playbook: Playbook) -> Database:
    db = Database(url)
    db.migrate()
    console.print(f"building on PostgreSQL: {args.leads:,} leads, {args.events:,} events (+1 lead)")
    build(db, playbook, args.leads, args.events)
    return db


# ------------------------------------------------------------------------------------------------
# The floor: the bulk re-score's work as hand-written SQL

EPOCH = {
    "sqlite": "((julianday(e.occurred_at) - 2440587.5) * 86400.0)",
    "postgresql": "extract(epoch from e.occurred_at)",
}
FLOOR_INSERT = """
INSERT INTO lead_scores (lead_id, attribute, behaviour, total, hot, scored_at, playbook_version)
SELECT l.id, l.fit_points, coalesce(b.behaviour, 0.0), l.fit_points + coalesce(b.behaviour, 0.0),
       l.fit_points + coalesce(b.behaviour, 0.0) >= :hot, :scored_at, :version
FROM leads AS l LEFT OUTER JOIN (
    SELECT e.lead_id, sum(e.points * exp(({epoch} - :now_epoch) * :per_day / e.half_life_days))
           AS behaviour
    FROM events AS e
    WHERE e.occurred_at <= :now AND e.points > 0
    GROUP BY e.lead_id
) AS b ON b.lead_id = l.id
"""


def floor_rescore(db: Database, playbook: Playbook) -> Callable[[], int]:
    """rescore_all's work (same statements, decay, filter and join) as raw SQL, one transaction."""
    dialect = db.engine.dialect.name
    insert = text(FLOOR_INSERT.format(epoch=EPOCH[dialect]))
    # SQLite holds UTC timestamps as naive text in SQLAlchemy's format; PostgreSQL as timestamptz
    now: Any = NOW.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else NOW
    params = {
        "hot": playbook.scoring.hot_threshold,
        "scored_at": now,
        "version": playbook.version,
        "now_epoch": NOW.timestamp(),
        "per_day": math.log(2) / 86_400.0,
        "now": now,
    }

    def run() -> int:
        with db.engine.begin() as connection:
            connection.execute(text("DELETE FROM lead_scores"))
            connection.execute(insert, params)
            return int(connection.execute(text("SELECT count(*) FROM lead_scores")).scalar_one())

    return run


def snapshot_sum(db: Database) -> tuple[int, float, int]:
    """(rows, sum of totals, hot rows) of the score snapshot: both paths must write the same."""
    with db.engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT count(*), sum(total), sum(CASE WHEN hot THEN 1 ELSE 0 END) FROM lead_scores"
            )
        ).one()
    return int(row[0]), float(row[1] or 0.0), int(row[2] or 0)


def same_snapshot(db: Database, playbook: Playbook) -> str:
    """Runs each path once and compares what they wrote, so the floor is known to do the work."""
    rescore_all(db, playbook, NOW)
    ours = snapshot_sum(db)
    floor_rescore(db, playbook)()
    theirs = snapshot_sum(db)
    if ours[0] != theirs[0] or ours[2] != theirs[2] or not math.isclose(ours[1], theirs[1]):
        raise SystemExit(f"the floor does not write what rescore_all writes: {ours} vs {theirs}")
    return f"{ours[0]:,} leads, {ours[2]:,} hot"


# ------------------------------------------------------------------------------------------------
# Measuring


def derive(db: Database, playbook: Playbook) -> tuple[float, int, int]:
    """Times refresh_derived; returns (seconds, leads re-derived, events re-derived)."""
    stale = count_stale(db, playbook)
    with progress_bar() as progress:
        task = progress.add_task("derive", total=stale.leads + stale.events, visible=stale != NONE)
        started = time.perf_counter()
        done = refresh_derived(db, playbook, lambda n: progress.advance(task, n))
        elapsed = time.perf_counter() - started
    return elapsed, done.leads, done.events


def rescore_figures(db: Database, playbook: Playbook, rounds: int, where: str) -> list[Figure]:
    written = same_snapshot(db, playbook)
    samples = interleave(
        {
            "rescore_all": lambda: rescore_all(db, playbook, NOW),
            "floor": floor_rescore(db, playbook),
        },
        rounds=rounds,
        warmups=1,
        label=f"bulk re-score vs floor, {where}",
    )
    ratio = Spread.of(ratios(samples["rescore_all"], samples["floor"]))
    return [
        Figure(
            f"{where}: bulk re-score (rescore_all), {written}",
            Spread.of(samples["rescore_all"]).text(sec),
        ),
        Figure(f"{where}: floor, same-math SQL", Spread.of(samples["floor"]).text(sec)),
        Figure(
            f"{where}: ratio re-score / floor (per round)",
            ratio.text(times),
            f"<= {RATIO_TARGET:g}×",
            ratio.median <= RATIO_TARGET,
        ),
    ]


@dataclass(frozen=True, slots=True)
class NextTimings:
    total: list[float]
    load: list[float]
    decide: list[float]
    events: int
    action: str
    stage: str


def time_next(db: Database, playbook: Playbook) -> NextTimings:
    total: list[float] = []
    load: list[float] = []
    spent: list[float] = []
    with progress_bar() as progress:
        task = progress.add_task("next (1,000 events)", total=NEXT_WARMUPS + NEXT_RUNS)
        for index in range(NEXT_WARMUPS + NEXT_RUNS):
            started = time.perf_counter()
            lead, timeline = load_signals(db, NEXT_LEAD, until=NOW, playbook=playbook)
            loaded = time.perf_counter()
            decision = decide(lead, timeline, playbook, NOW)
            finished = time.perf_counter()
            if index >= NEXT_WARMUPS:
                total.append(finished - started)
                load.append(loaded - started)
                spent.append(finished - loaded)
            progress.advance(task)
    return NextTimings(total, load, spent, len(timeline.events), decision.action, decision.stage)


# ------------------------------------------------------------------------------------------------
# Reporting


def ingest_figures(stats: BuildStats) -> list[Figure]:
    if not stats.event_seconds:
        return [Figure("ingest", "skipped (--reuse)")]
    return [
        Figure("SQLite: upsert leads", f"{stats.leads / stats.lead_seconds:,.0f} leads/s"),
        Figure("SQLite: ingest events", f"{stats.events / stats.event_seconds:,.0f} events/s"),
    ]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def next_figures(timings: NextTimings, label: str = "") -> list[Figure]:
    p99 = percentile(timings.total, 0.99)
    return [
        Figure(f"next p50 (load + decide){label}", ms(percentile(timings.total, 0.5))),
        Figure(
            f"next p99 (load + decide){label}",
            ms(p99),
            f"<= {P99_TARGET_MS:g} ms",
            p99 * 1000 <= P99_TARGET_MS,
        ),
        Figure("  load_signals p50", ms(percentile(timings.load, 0.5))),
        Figure("  decide p50", ms(percentile(timings.decide, 0.5))),
    ]


def sqlite_version(db: Database) -> str:
    with db.engine.connect() as connection:
        return str(connection.execute(text("select sqlite_version()")).scalar())


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=5_000, help="issue size: 100000")
    parser.add_argument("--events", type=int, default=100_000, help="issue size: 2000000")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved re-score rounds")
    parser.add_argument("--db", type=Path, default=None, help="SQLite file (default: .data/)")
    parser.add_argument("--reuse", action="store_true", help="keep the file if it holds the data")
    parser.add_argument("--no-postgres", action="store_true", help="SQLite only")
    return parser.parse_args()


def sqlite_figures(args: argparse.Namespace, playbook: Playbook) -> list[Figure]:
    db, stats = open_sqlite(args, playbook)
    figures = ingest_figures(stats)
    derive_seconds, stale_leads, stale_events = derive(db, playbook)
    console.print(
        f"derive: {derive_seconds:.3f} s ({stale_leads:,} leads, {stale_events:,} events stale)"
    )
    figures += rescore_figures(db, playbook, args.rounds, f"SQLite {sqlite_version(db)}")
    freeze_startup_heap()  # as the CLI and the service do at start-up (agent/runtime.py)
    timings = time_next(db, playbook)
    console.print(
        f"next: {timings.events} events loaded; decision {timings.action} (stage {timings.stage})"
    )
    # The 1,000-event lead is hot, so the rule walk stops at handoff.hot; a copy of the playbook
    # with an unreachable threshold makes the same lead walk every action rule (the slowest path).
    every_rule = playbook.model_copy(
        update={"scoring": playbook.scoring.model_copy(update={"hot_threshold": 1e9})}
    )
    walked = time_next(db, every_rule)
    console.print(f"next, every rule walked: decision {walked.action} (stage {walked.stage})")
    figures += [*next_figures(timings), *next_figures(walked, ", every rule walked")]
    db.dispose()
    return figures


def postgres_figures(args: argparse.Namespace, playbook: Playbook) -> list[Figure]:
    server, reason = (None, "--no-postgres") if args.no_postgres else postgres_server()
    if server is None:
        skip("bulk re-score on PostgreSQL", reason)
        return [Figure("PostgreSQL: bulk re-score", f"skipped: {reason}")]
    with fresh_postgres(server) as url:
        db = build_postgres(url, args, playbook)
        try:
            with db.engine.connect() as connection:
                version = str(connection.execute(text("SHOW server_version")).scalar()).split()[0]
            return rescore_figures(db, playbook, args.rounds, f"PostgreSQL {version}")
        finally:
            db.dispose()


def main() -> None:
    args = parse_args()
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    figures = sqlite_figures(args, playbook)
    figures += postgres_figures(args, playbook)
    print_machine(f"; {args.leads:,} leads, {args.events:,} events; {args.rounds} rounds")
    print_figures("decide benchmark (median, p25–p75)", figures)


if __name__ == "__main__":
    main()
