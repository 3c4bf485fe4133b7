"""Run dependencies of the graph (LangGraph runtime context): store, playbook, content, drafter,
sender. Built once per process by `build_context`; nothing is created at import time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AgentContext:
    settings: Settings
    db: Database
    playbook: Playbook
    collection: Any
    """The Chroma collection of the content library."""
    assets: dict[str, Asset]
    customers: set[str]
    drafter: Drafter
    sender: Sender
    clock: Callable[[], datetime] = utc_now
    after_send: Callable[[str], None] = field(default=lambda _approval_id: None)
    """Called between the SMTP server accepting and the send being recorded (tests crash here)."""


def build_context(settings: Settings, **overrides: Any) -> AgentContext:
    from agent.cli.content_cmd import open_collection
    from agent.content.assets import load_customers, load_library
    from agent.store.playbooks import playbook_in_force

    db = overrides.pop("db", None) or Database(settings.resolved_database_url)
    db.migrate()
    library = load_library(settings.content_dir)
    values: dict[str, Any] = {
        "settings": settings,
        "db": db,
        "playbook": overrides.pop("playbook", None) or playbook_in_force(db, settings),
        "collection": open_collection(settings),
        "assets": {a.id: a for a in library.assets},
        "customers": load_customers(settings.content_dir),
        "drafter": make_drafter(settings),
        "sender": make_sender(settings),
    }
    values.update(overrides)
    return AgentContext(**values)


def make_drafter(settings: Settings) -> Drafter:
    """The LLM drafter when an endpoint is configured, else the offline template drafter."""
    if settings.llm_base_url:
        from agent.drafting.llm import LLMDrafter

        return LLMDrafter.from_settings(settings)
    from agent.drafting.template import TemplateDrafter

    return TemplateDrafter(sender=f"The {settings.from_name} team")


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
