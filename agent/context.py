"""Run dependencies of the graph (LangGraph runtime context): store, playbook, content, drafter,
sender. Built once per process by `build_context`; nothing is created at import time."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, datetime
from typing import Any, Protocol

from agent.content.assets import Asset
from agent.drafting.models import DraftRequest, DraftResult
from agent.playbook import Playbook
from agent.settings import Settings
from agent.store import Database


class Drafter(Protocol):
    def draft(self, request: DraftRequest) -> DraftResult: ...


class Sender(Protocol):
    def send(self, message: Any) -> None: ...


class HandoffQueue(Protocol):
    def deliver_handoff(self, handoff_id: str) -> None:
        """Delivers a recorded hand-off's webhook later, with retries and backoff."""


class SendScheduler(Protocol):
    def schedule_send(self, approval_id: str, at: datetime) -> None:
        """Sends a scheduled send (already in the store) when `at` comes."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class _Missing:
    def __repr__(self) -> str:
        return "<built from settings>"


_MISSING: Any = _Missing()
"""The default of every dependency: LangGraph Server builds the context with
`AgentContext(**context)` from whatever the client sent (often `{}`), so none may be required.
`complete()` builds what is missing from settings; the nodes only ever see a complete context
(agent.nodes.common.context_of). An explicit None is kept: in-process callers use it for a
dependency their run never reaches."""

_KINDS: dict[str, type] = {"settings": Settings, "db": Database, "playbook": Playbook}
"""Fields a client could fill with the wrong kind of value (a JSON string for the database):
refused by name instead of failing in some node later."""

_complete_lock = threading.Lock()


@dataclass
class AgentContext:
    settings: Settings = _MISSING
    db: Database = _MISSING
    playbook: Playbook = _MISSING
    collection: Any = _MISSING
    """The Chroma collection of the content library."""
    assets: dict[str, Asset] = _MISSING
    customers: set[str] = _MISSING
    drafter: Drafter = _MISSING
    sender: Sender = _MISSING
    clock: Callable[[], datetime] = utc_now
    handoffs: HandoffQueue | None = None
    """The job executor that delivers hand-off webhooks (retried with backoff). None, as when
    LangGraph Server runs the graph alone: the node delivers at once."""
    scheduled_sends: SendScheduler | None = None
    """The job executor that sends a scheduled send when the window opens. None, as when
    LangGraph Server or the CLI runs the graph: the send waits in the store, where the next
    worker's (or `nurture serve`'s) sweep of due sends finds it."""
    after_send: Callable[[str], None] = field(default=lambda _approval_id: None)
    """Called between the SMTP server accepting and the send being recorded (tests crash here)."""
    _completed: AgentContext | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Only checks: LangGraph Server constructs the context on its event loop, where opening
        # the database or the content index would block every other request (langgraph dev
        # refuses it outright), so the building waits for complete(), called inside a node.
        for name, kind in _KINDS.items():
            value = getattr(self, name)
            if value is not None and value is not _MISSING and not isinstance(value, kind):
                raise TypeError(
                    f"context field '{name}' must be a {kind.__name__}, "
                    f"not {type(value).__name__}: leave it out to build it from settings"
                )

    def complete(self) -> AgentContext:
        """This context, or (once per instance) a copy where what was left out is built: from
        the given settings, else taken from the process-wide context of the environment's
        settings, so a server passing `{}` per run does not open the database each time."""
        given = {f.name: getattr(self, f.name) for f in fields(self) if f.init}
        if all(value is not _MISSING for value in given.values()):
            return self
        with _complete_lock:
            if self._completed is None:
                if self.settings is _MISSING:
                    present = {k: v for k, v in given.items() if v is not _MISSING}
                    self._completed = replace(default_context(), **present)
                else:
                    self._completed = _complete(self.settings, given)
            return self._completed


def build_context(settings: Settings, **overrides: Any) -> AgentContext:
    return _complete(settings, overrides)


def _complete(settings: Settings, given: dict[str, Any]) -> AgentContext:
    """A context holding `given` and, for what is not given, dependencies built from settings."""
    from agent.content.assets import load_customers, load_library
    from agent.content.index import open_collection
    from agent.store.playbooks import playbook_in_force

    values = {k: v for k, v in given.items() if v is not _MISSING}
    values["settings"] = settings
    db = values.get("db") or Database(settings.resolved_database_url)
    db.migrate()
    values["db"] = db
    builders: dict[str, Callable[[], Any]] = {
        "playbook": lambda: playbook_in_force(db, settings),
        "collection": lambda: open_collection(settings),
        "assets": lambda: {a.id: a for a in load_library(settings.content_dir).assets},
        "customers": lambda: load_customers(settings.content_dir),
        "drafter": lambda: make_drafter(settings),
        "sender": lambda: make_sender(settings),
    }
    for name, build in builders.items():
        if name not in values:
            values[name] = build()
    return AgentContext(**values)


_default: AgentContext | None = None
_default_lock = threading.Lock()


def default_context() -> AgentContext:
    """The context built from the environment's settings, once per process, on first use (never
    at import time): for LangGraph Studio / Server, which pass no context or a partial one."""
    global _default
    with _default_lock:
        if _default is None:
            from agent.settings import get_settings

            _default = build_context(get_settings())
        return _default


def make_drafter(settings: Settings) -> Drafter:
    """The LLM drafter when an endpoint is configured, else the offline template drafter."""
    if settings.llm_base_url:
        from agent.drafting.llm import LLMDrafter

        return LLMDrafter.from_settings(settings)
    from agent.drafting.template import template_drafter

    return template_drafter(settings)


def make_sender(settings: Settings) -> Sender:
    from agent.tools.email import OutboxSender, SmtpSender

    if not settings.smtp_host:
        return OutboxSender(settings.outbox_path)
    return SmtpSender(
        host=settings.smtp_host,
        port=settings.smtp_port,
        username=settings.smtp_username,
        password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
        starttls=settings.smtp_starttls,
        ssl=settings.smtp_ssl,
    )
