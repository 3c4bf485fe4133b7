"""The world one eval case runs in: a fresh SQLite database holding only the case's lead and
timeline, a clock stopped at the suite's `now`, the shared content index, a drafter that keeps
every request and result it saw, and a sender that refuses to send.

The real graph runs unchanged; only its dependencies are chosen, so an eval measures what
production would draft, not a re-implementation of it."""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from agent.content.assets import load_customers, load_library
from agent.content.embeddings import embedding_from_setting
from agent.content.index import chroma_client, content_collection, sync_index
from agent.context import AgentContext, Drafter
from agent.drafting.models import DraftRequest, DraftResult
from agent.errors import NurtureError
from agent.playbook import Playbook
from agent.runner import NurtureAgent, RunResult
from agent.settings import Settings
from agent.store import Database
from agent.store.approvals import get_approval
from agent.store.ingest import IngestReport, ingest_events
from agent.store.leads import upsert_leads
from agent.store.secrets import keep_service_secret
from agent.unsubscribe import SECRET_NAME as UNSUBSCRIBE_SECRET
from evals.multiturn import Turn
from evals.suites import Case

EVAL_SIGNING_KEY = "evals-only-fixed-unsubscribe-key"


@dataclass
class DraftCall:
    request: DraftRequest
    result: DraftResult | None
    """None when the drafter raised (DraftFailed): the graph records why."""


@dataclass
class RecordingDrafter:
    """Delegates to the real drafter and keeps each call: usage and what the drafter was given
    are not in the graph's state or the approvals table, and the checks need both."""

    inner: Drafter
    calls: list[DraftCall] = field(default_factory=list)

    def draft(self, request: DraftRequest) -> DraftResult:
        call = DraftCall(request, None)
        self.calls.append(call)
        call.result = self.inner.draft(request)
        return call.result

    def take(self) -> list[DraftCall]:
        calls, self.calls = self.calls, []
        return calls


class RefusingSender:
    """An eval never sends: the graph stops at human review, so reaching this is a bug."""

    def send(self, message: Any) -> None:
        raise NurtureError("an eval run tried to send an email; evals must never send")


def eval_settings(settings: Settings) -> Settings:
    """The configured settings with every way out of the machine closed: no SMTP server and no
    sales webhook (a hand-off case would otherwise POST to the real CRM)."""
    return settings.model_copy(update={"smtp_host": None, "sales_webhook_url": None})


def open_index(settings: Settings, folder: Path) -> Any:
    """The content library indexed into a Chroma store of the eval's own (never the production
    index, which an eval must not change); re-running only embeds what changed."""
    library = load_library(settings.content_dir)
    if not library.assets:
        raise NurtureError(f"no content assets in {settings.content_dir}")
    collection = content_collection(
        chroma_client(url=None, path=folder), embedding_from_setting(settings.embedding)
    )
    sync_index(collection, library.assets)
    return collection


@dataclass
class CaseRun:
    """What running one case left behind, for the runner to judge."""

    result: RunResult | None
    state: dict[str, Any]
    calls: list[DraftCall]
    db: Database
    latency_ms: float
    error: str | None = None
    first_turn: Turn | None = None
    """The draft the case's feedback answered (multi-turn cases); `result` is the redraft."""


class EvalWorld:
    """Shared once per suite run: settings, playbook, index, drafter and a compiled graph."""

    def __init__(
        self,
        settings: Settings,
        playbook: Playbook,
        collection: Any,
        drafter: Drafter,
        workdir: Path,
    ) -> None:
        self.settings = eval_settings(settings)
        self.playbook = playbook
        self.drafter = RecordingDrafter(drafter)
        self.workdir = workdir
        library = load_library(self.settings.content_dir)
        self._base = AgentContext(
            settings=self.settings,
            db=None,  # type: ignore[arg-type]  # every case gets its own database
            playbook=playbook,
            collection=collection,
            assets={a.id: a for a in library.assets},
            customers=load_customers(self.settings.content_dir),
            drafter=self.drafter,
            sender=RefusingSender(),
        )
        # Threads never outlive a case; an in-memory checkpointer keeps them off the disk.
        self.agent = NurtureAgent(self._base, InMemorySaver())
        # Migrated once and copied per case: running the migrations costs more than a case.
        self._empty_db = workdir / "_empty.db"
        empty = Database(f"sqlite:///{self._empty_db}")
        empty.migrate()
        # a fixed signing key (and the suite's clock): the unsubscribe links, and so the
        # drafts, come out the same on every run, which the judge cache and `compare` rely on
        keep_service_secret(empty, UNSUBSCRIBE_SECRET, EVAL_SIGNING_KEY)
        empty.dispose()

    def run_case(self, case: Case, now: datetime) -> CaseRun:
        path = self.workdir / f"{case.id}.db"
        shutil.copyfile(self._empty_db, path)
        db = Database(f"sqlite:///{path}")
        self.agent.ctx = replace(self._base, db=db, clock=lambda: now)
        self.drafter.take()
        # Latency is the agent's own (decide, retrieve, draft, guardrails), not the seeding.
        started = time.perf_counter()
        try:
            seed(db, case, now, self.playbook)
            started = time.perf_counter()
            result = self.agent.start(case.lead.id)
            first_turn = None
            if case.feedback and result.approval_id:
                first_turn = _turn(db, result.approval_id)
                result = self.agent.answer(
                    result.approval_id, "respond", by="eval", feedback=case.feedback
                )
        except Exception as exc:  # noqa: BLE001 - one broken case must not lose the whole run
            elapsed = (time.perf_counter() - started) * 1000
            return CaseRun(
                None, {}, self.drafter.take(), db, elapsed, f"{type(exc).__name__}: {exc}"
            )
        elapsed = (time.perf_counter() - started) * 1000
        config: Any = {"configurable": {"thread_id": result.thread_id}}
        state = dict(self.agent.graph.get_state(config).values)
        return CaseRun(result, state, self.drafter.take(), db, elapsed, first_turn=first_turn)


def _turn(db: Database, approval_id: str) -> Turn:
    row = get_approval(db, approval_id)
    return Turn(row.subject, row.body, tuple(row.notes or ()))


def seed(db: Database, case: Case, now: datetime, playbook: Playbook) -> None:
    """The case's lead and timeline, with times resolved against the suite's now (ingest also
    judges 'in the future' against it, not against today's date)."""
    _accepted(case, "lead", upsert_leads(db, [case.lead.model_dump()], playbook, now=now))
    events = [
        {
            "id": e.id,
            "lead_id": e.lead_id,
            "type": e.type,
            "occurred_at": e.occurred_at.isoformat(),
            "properties": e.properties,
        }
        for e in case.to_events(now)
    ]
    if not events:
        return
    _accepted(case, "events", ingest_events(db, events, playbook, now=now))


def _accepted(case: Case, what: str, report: IngestReport) -> None:
    if report.rejected:
        reasons = "; ".join(f"{r.id or r.index}: {r.reason}" for r in report.rejected)
        raise NurtureError(f"case '{case.id}': {what} rejected: {reasons}")


@contextmanager
def scratch_dir(parent: Path | None = None) -> Iterator[Path]:
    """A folder for the per-case databases, removed afterwards (they are many and disposable)."""
    if parent is not None:
        parent.mkdir(parents=True, exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="nurture-eval-", dir=parent))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
