"""Benchmark of drafting: graph overhead per draft, LLM calls per draft, and `nurture run`.

Seeds demo leads (agent.demo.generator) into a fresh SQLite file under benchmarks/.data/, indexes
the shipped content library once into the same data folder, and measures:

* graph overhead per draft: wall time of `NurtureAgent.start` for ~100 due leads (send_email or
  re_engage) with the LLM drafter against a fake OpenAI-compatible server that answers at once
  (p50, p99); the same with the offline template drafter; as the baseline, the in-process
  `decide()` (and `load_timeline` + `decide()`) for the same leads. Nothing is subtracted.
* LLM calls per draft: HTTP requests the fake server recorded / drafts, and their distribution.
* `nurture run` (`run_all`) over `--leads` due leads at the default concurrency
  (`Settings().draft_concurrency`), every LLM request answered after `--latency` s (server-side,
  by a threaded server), as a ratio to the goal's ideal = drafts x latency / concurrency
  (target: ratio <= 1.5). The ideal counts one model call per draft: a draft that needs more is
  our cost, not the model's, and shows in the ratio.

The main figures use a reply that passes the guardrails (`--reply grounded`, the default): built
from the prompt, it cites the first asset and ends with the unsubscribe line, as a well-behaved
model would; the calls per draft are reported, so a reply that does not pass shows. The revision
path is measured separately: start() against a generic, valid `EmailDraft` that cannot know the
assets nor the unsubscribe link, so the guardrails flag it and the graph revises (at most twice).

Run:  python benchmarks/drafting.py [--leads 500] [--latency 0.3] [--samples 100]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Running this file puts benchmarks/ first on sys.path, where a script named like a package
# would shadow it; the project root in front keeps `agent`, `api` and `cli` the packages (and
# makes `benchmarks` and `tests` importable).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import json
import math
import re
import shutil
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from agent.checkpoints import open_checkpointer
from agent.content.assets import load_library
from agent.content.embeddings import WordLlamaEmbedding
from agent.content.index import chroma_client, content_collection, sync_index
from agent.context import build_context
from agent.decisions import decide
from agent.demo.generator import generate
from agent.playbook import Playbook, load_playbook
from agent.runner import NurtureAgent, RunResult
from agent.runtime import freeze_startup_heap
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK, Settings
from agent.store import Database
from agent.store.ingest import ingest_events
from agent.store.leads import all_lead_ids, upsert_leads
from agent.tools.timeline import load_timeline
from benchmarks.measure import (
    Figure,
    console,
    ms,
    percentile,
    print_figures,
    print_machine,
    progress_bar,
)
from cli.agent_cmd import run_all
from tests.utils.fake_openai import FakeOpenAI, Reply

DATA_DIR = Path(__file__).resolve().parent / ".data" / "drafting"
SEED = 7
DUE_SHARE = 0.6  # about 64% of 1,000 demo leads are due (send_email / re_engage)
WARMUPS = 3
RATIO_TARGET = 1.5
DUE_ACTIONS = ("send_email", "re_engage")

GENERIC_DRAFT: dict[str, Any] = {
    "subject": "A short read for your team",
    "body": (
        "Hello,\n\nwe put together a short guide on planning delivery routes with fewer late "
        "stops. It may be useful for your team.\n\nBest regards,\nThe Routewise team"
    ),
    "cited_asset_ids": [],
    "lead_facts_used": [],
}
_LEAD_ID = re.compile(r"<lead>\nid: (\S+)")
_ASSET_ID = re.compile(r'<asset id="([^"]+)">')
_UNSUBSCRIBE = re.compile(r"verbatim, as its last line:\n(.+)\n")


# ------------------------------------------------------------------------------------------------
# The fake LLM


class GroundedFakeOpenAI(FakeOpenAI):
    """Answers every request with a draft built from its prompt: cites the first asset and ends
    with the unsubscribe line it was given, so the guardrails usually pass on the first call."""

    def _completion_body(self, reply: Reply, request_body: Any) -> dict[str, Any]:
        body = super()._completion_body(reply, request_body)
        body["choices"][0]["message"]["content"] = json.dumps(grounded_draft(request_body))
        return body


def grounded_draft(request_body: Any) -> dict[str, Any]:
    prompt = "\n".join(m.get("content") or "" for m in request_body.get("messages", []))
    assets = _ASSET_ID.findall(prompt)
    unsubscribe = _UNSUBSCRIBE.search(prompt)
    body = "Hello,\n\nthis short guide may be useful for your team.\n\nBest regards"
    return {
        **GENERIC_DRAFT,
        "body": body + (f"\n\n{unsubscribe.group(1)}" if unsubscribe else ""),
        "cited_asset_ids": assets[:1],
    }


@contextmanager
def fake_llm(latency: float, reply: str) -> Iterator[FakeOpenAI]:
    """A threaded fake endpoint whose every answer waits `latency` s on the server side."""
    server_class = GroundedFakeOpenAI if reply == "grounded" else FakeOpenAI
    answer = Reply.json(GENERIC_DRAFT)
    with server_class(default=Reply.slow(latency, answer) if latency else answer) as server:
        yield server


def calls_by_lead(server: FakeOpenAI) -> Counter[str]:
    """Chat requests per lead, read from the `<lead>` block of each prompt."""
    calls: Counter[str] = Counter()
    for request in server.chat_requests:
        found = _LEAD_ID.search(request.message("user"))
        calls[found.group(1) if found else "?"] += 1
    return calls


# ------------------------------------------------------------------------------------------------
# Data: demo leads in SQLite, the content library in Chroma


def fresh_data_dir() -> None:
    """Removes every database, checkpoint and outbox file; keeps the content index."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    for path in DATA_DIR.iterdir():
        if path.name == "outbox":
            shutil.rmtree(path)
        elif path.is_file():
            path.unlink()


def index_content() -> int:
    """Indexes the shipped library into the data folder (only changed assets are embedded)."""
    assets = load_library(DEFAULT_CONTENT).assets
    collection = content_collection(
        chroma_client(url=None, path=DATA_DIR / "chroma"), WordLlamaEmbedding()
    )
    sync_index(collection, assets)
    return len(assets)


def db_url(name: str) -> str:
    return f"sqlite:///{DATA_DIR / name}"


def seed(leads: int, playbook: Playbook) -> Path:
    """Demo leads and their events in `seed.db`; each phase works on a copy of it."""
    now = datetime.now(UTC)
    lead_rows, event_rows = generate(seed=SEED, now=now, count=leads)
    (DATA_DIR / "seed.db").unlink(missing_ok=True)
    db = Database(db_url("seed.db"))
    db.migrate()
    upsert_leads(db, lead_rows, playbook, now=now)
    ingest_events(db, event_rows, playbook, now=now)
    db.dispose()
    console.print(f"seeded {len(lead_rows):,} demo leads, {len(event_rows):,} events")
    return DATA_DIR / "seed.db"


def copy_of(seed_file: Path, name: str) -> str:
    shutil.copyfile(seed_file, DATA_DIR / name)
    return db_url(name)


@dataclass(frozen=True, slots=True)
class Due:
    lead_ids: list[str]
    seconds: float
    """The whole scan (load_timeline + decide for every lead), as run_all does first."""
    decide: dict[str, float]
    """decide() alone, per due lead."""
    load_and_decide: dict[str, float]


def due_leads(seed_file: Path, playbook: Playbook) -> Due:
    """The leads run_all would draft for, timing load_timeline and decide per lead."""
    db = Database(f"sqlite:///{seed_file}")
    now = datetime.now(UTC)
    due: list[str] = []
    decide_s: dict[str, float] = {}
    both_s: dict[str, float] = {}
    started = time.perf_counter()
    for lead_id in all_lead_ids(db):
        t0 = time.perf_counter()
        lead, events = load_timeline(db, lead_id, until=now, playbook=playbook)
        t1 = time.perf_counter()
        decision = decide(lead, events, playbook, now)
        t2 = time.perf_counter()
        if decision.action in DUE_ACTIONS:
            due.append(lead_id)
            decide_s[lead_id], both_s[lead_id] = t2 - t1, t2 - t0
    seconds = time.perf_counter() - started
    db.dispose()
    return Due(due, seconds, decide_s, both_s)


def seed_due_leads(needed: int, playbook: Playbook) -> tuple[Path, Due]:
    """Seeds enough demo leads for `needed` due ones (small casts are less often due)."""
    count = math.ceil(needed / DUE_SHARE)
    while True:
        seed_file = seed(count, playbook)
        due = due_leads(seed_file, playbook)
        if len(due.lead_ids) >= needed:
            return seed_file, due
        count = math.ceil(count * 1.5)


# ------------------------------------------------------------------------------------------------
# Measuring


def settings_for(database: str, llm: FakeOpenAI | None) -> Settings:
    """Settings for one phase: its own database, the shared data folder (content index and
    checkpoints); the LLM drafter on `llm`, or the template drafter when None."""
    return Settings(
        data_dir=DATA_DIR,
        database_url=database,
        llm_base_url=llm.base_url if llm else None,
        llm_model="fake-model",
        smtp_host=None,
    )


@contextmanager
def agent_for(settings: Settings) -> Iterator[NurtureAgent]:
    """What `nurture run` builds (agent_session), for explicit settings."""
    ctx = build_context(settings)
    try:
        with open_checkpointer(settings) as checkpointer:
            yield NurtureAgent(ctx, checkpointer)
    finally:
        close = getattr(ctx.drafter, "close", None)
        if close:
            close()
        ctx.db.dispose()


@dataclass(frozen=True, slots=True)
class Starts:
    seconds: list[float]
    outcomes: Counter[str]


def time_starts(agent: NurtureAgent, warm: list[str], measured: list[str], label: str) -> Starts:
    """Wall time of agent.start per lead, after untimed warm-up starts on other leads."""
    seconds: list[float] = []
    outcomes: Counter[str] = Counter()
    with progress_bar() as progress:
        task = progress.add_task(label, total=len(warm) + len(measured))
        for lead_id in warm:
            agent.start(lead_id)
            progress.advance(task)
        for lead_id in measured:
            started = time.perf_counter()
            result = agent.start(lead_id)
            seconds.append(time.perf_counter() - started)
            outcomes[result.outcome] += 1
            progress.advance(task)
    return Starts(seconds, outcomes)


@dataclass(frozen=True, slots=True)
class Calls:
    per_lead: Counter[str]
    total: int
    drafts: int

    @property
    def mean(self) -> float:
        return self.total / self.drafts if self.drafts else math.nan

    def distribution(self) -> str:
        spread = Counter(self.per_lead.values())
        shown = " / ".join(f"{spread.get(n, 0)}" for n in (1, 2, 3))
        more = sum(v for n, v in spread.items() if n > 3)
        return shown + (f" (+{more} with more)" if more else "")


def calls_for(per_lead: Counter[str], lead_ids: list[str], drafts: int) -> Calls:
    counted = Counter({lead: per_lead[lead] for lead in lead_ids if per_lead[lead]})
    return Calls(counted, sum(counted.values()), drafts)


def overhead_llm(
    seed_file: Path, warm: list[str], measured: list[str], reply: str
) -> tuple[Starts, Calls]:
    """start() against the zero-latency fake LLM, and the calls it made per measured lead."""
    with fake_llm(0.0, reply) as server:
        with agent_for(settings_for(copy_of(seed_file, "llm.db"), server)) as agent:
            starts = time_starts(agent, warm, measured, "start(), zero-latency LLM")
        per_lead = calls_by_lead(server)
    return starts, calls_for(per_lead, measured, starts.outcomes["awaiting_approval"])


def overhead_template(seed_file: Path, warm: list[str], measured: list[str]) -> Starts:
    with agent_for(settings_for(copy_of(seed_file, "template.db"), None)) as agent:
        return time_starts(agent, warm, measured, "start(), template drafter")


@dataclass(frozen=True, slots=True)
class RunFigures:
    leads: int
    seconds: float
    concurrency: int
    latency: float
    calls: Calls
    outcomes: Counter[str]
    errors: list[Exception]

    @property
    def ideal(self) -> float:
        """The goal's ideal: drafts x latency / concurrency (one model call per draft)."""
        return self.calls.drafts * self.latency / self.concurrency

    @property
    def ratio(self) -> float:
        return self.seconds / self.ideal if self.ideal else math.inf


def nurture_run(seed_file: Path, leads: int, latency: float, reply: str) -> RunFigures:
    """run_all (the code behind `nurture run`) at the default concurrency, slow fake LLM."""
    with fake_llm(latency, reply) as server:
        with agent_for(settings_for(copy_of(seed_file, "run.db"), server)) as agent:
            concurrency = agent.ctx.settings.draft_concurrency
            console.print(
                f"nurture run: {leads} leads, concurrency {concurrency}, {latency} s/call"
            )
            started = time.perf_counter()
            results = run_all(agent, limit=leads)
            seconds = time.perf_counter() - started
        per_lead = calls_by_lead(server)
    outcomes = Counter(r.outcome if isinstance(r, RunResult) else "error" for r in results)
    errors = [r for r in results if isinstance(r, Exception)]
    calls = calls_for(per_lead, list(per_lead), outcomes["awaiting_approval"])
    return RunFigures(len(results), seconds, concurrency, latency, calls, outcomes, errors)


# ------------------------------------------------------------------------------------------------
# Reporting


def outcome_text(outcomes: Counter[str]) -> str:
    return ", ".join(f"{name} {n}" for name, n in outcomes.most_common())


def overhead_figures(
    llm: Starts, calls: Calls, template: Starts, due: Due, measured: list[str]
) -> list[Figure]:
    decide_s = [due.decide[lead] for lead in measured]
    both_s = [due.load_and_decide[lead] for lead in measured]
    return [
        Figure(
            f"start() p50, LLM drafter, zero-latency LLM ({calls.mean:.2f} calls/draft)",
            ms(percentile(llm.seconds, 0.5)),
        ),
        Figure("start() p99, LLM drafter, zero-latency LLM", ms(percentile(llm.seconds, 0.99))),
        Figure("start() p50, template drafter", ms(percentile(template.seconds, 0.5))),
        Figure("start() p99, template drafter", ms(percentile(template.seconds, 0.99))),
        Figure("baseline: decide() p50, same leads", ms(percentile(decide_s, 0.5))),
        Figure("baseline: load_timeline + decide() p50", ms(percentile(both_s, 0.5))),
        Figure(
            "LLM calls per draft (mean)",
            f"{calls.mean:.2f} ({calls.total} / {calls.drafts})",
            "1 (the reply passes)",
            calls.mean == 1.0,
        ),
        Figure("drafts with 1 / 2 / 3 LLM calls", calls.distribution()),
    ]


def revision_figures(starts: Starts, calls: Calls) -> list[Figure]:
    """The revision path: a reply the guardrails flag, so the graph asks again."""
    return [
        Figure("revision path: start() p50, generic reply", ms(percentile(starts.seconds, 0.5))),
        Figure("revision path: start() p99, generic reply", ms(percentile(starts.seconds, 0.99))),
        Figure(
            "revision path: LLM calls per draft",
            f"{calls.mean:.2f} ({calls.total} / {calls.drafts}; 1/2/3: {calls.distribution()})",
        ),
    ]


def run_figures(run: RunFigures, due: Due) -> list[Figure]:
    return [
        Figure("nurture run: leads drafted for", f"{run.calls.drafts} of {run.leads}"),
        Figure(
            "nurture run: LLM calls per draft", f"{run.calls.mean:.2f} ({run.calls.distribution()})"
        ),
        Figure("nurture run: wall time", f"{run.seconds:.1f} s"),
        Figure(
            "ideal: drafts x latency / concurrency",
            f"{run.calls.drafts} x {run.latency:g} s / {run.concurrency} = {run.ideal:.1f} s",
        ),
        Figure(
            "ratio run / ideal",
            f"{run.ratio:.2f}",
            f"<= {RATIO_TARGET:g}",
            run.ratio <= RATIO_TARGET,
        ),
        Figure("  of which the due scan (as timed above)", f"{due.seconds:.1f} s"),
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--leads", type=int, default=500, help="due leads for nurture run")
    parser.add_argument("--latency", type=float, default=0.3, help="seconds per LLM request")
    parser.add_argument("--samples", type=int, default=100, help="leads timed for the overhead")
    parser.add_argument(
        "--reply",
        choices=("generic", "grounded"),
        default="grounded",
        help="the main figures' model reply (the revision path always uses generic)",
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    fresh_data_dir()
    console.print(f"content library: {index_content()} assets indexed in {DATA_DIR / 'chroma'}")
    seed_file, due = seed_due_leads(max(args.leads, args.samples + WARMUPS), playbook)
    console.print(
        f"{len(due.lead_ids)} due leads (send_email / re_engage), scan {due.seconds:.2f} s"
    )
    freeze_startup_heap()  # as the CLI does at start-up
    warm, measured = due.lead_ids[:WARMUPS], due.lead_ids[WARMUPS : WARMUPS + args.samples]

    llm, calls = overhead_llm(seed_file, warm, measured, args.reply)
    console.print(f"LLM drafter outcomes: {outcome_text(llm.outcomes)}")
    revision, revision_calls = overhead_llm(seed_file, warm, measured, "generic")
    console.print(f"revision path (generic reply) outcomes: {outcome_text(revision.outcomes)}")
    template = overhead_template(seed_file, warm, measured)
    console.print(f"template drafter outcomes: {outcome_text(template.outcomes)}")
    run = nurture_run(seed_file, args.leads, args.latency, args.reply)
    console.print(f"nurture run outcomes: {outcome_text(run.outcomes)}")
    for error in run.errors[:3]:
        console.print(f"[red]error:[/] {error!r}")

    print_machine(f", sqlite {sqlite3.sqlite_version}")
    print_figures(
        "drafting benchmark",
        overhead_figures(llm, calls, template, due, measured)
        + revision_figures(revision, revision_calls)
        + run_figures(run, due),
    )


if __name__ == "__main__":
    main()
