"""The agent's test world: an indexed content library, settings pointing at a real SMTP server
on 127.0.0.1, and a NurtureAgent with SQLite checkpoints (fixtures: indexed_data, settings,
world; pg_world on PostgreSQL)."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.checkpoints import open_checkpointer
from agent.content.assets import load_library
from agent.content.embeddings import WordLlamaEmbedding
from agent.content.index import chroma_client, content_collection, sync_index
from agent.context import build_context
from agent.runner import NurtureAgent
from agent.settings import DEFAULT_CONTENT, Settings
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from tests.utils.smtp import CollectingHandler

SeedEvent = tuple[str, float, Mapping[str, Any]]
"""An event to seed: its type, how many days ago it happened, its properties."""

DANA: dict[str, Any] = {
    "id": "L1",
    "email": "dana@northwind.example",
    "name": "Dana Reyes",
    "company": "Northwind Freight",
    "attributes": {"industry": "logistics", "employees": 420, "title": "Transport Manager"},
}


@pytest.fixture(scope="module")
def indexed_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose Chroma store holds the shipped content library."""
    data = tmp_path_factory.mktemp("agent-data")
    collection = content_collection(
        chroma_client(url=None, path=data / "chroma"), WordLlamaEmbedding()
    )
    sync_index(collection, load_library(DEFAULT_CONTENT).assets)
    return data


@pytest.fixture
def settings(
    indexed_data: Path, tmp_path: Path, smtp_server: tuple[CollectingHandler, int]
) -> Settings:
    return Settings(
        data_dir=indexed_data,
        database_url=f"sqlite:///{tmp_path / 'n.db'}",
        smtp_host="127.0.0.1",
        smtp_port=smtp_server[1],
        smtp_starttls=False,
    )


@dataclass
class World:
    agent: NurtureAgent
    smtp: CollectingHandler
    settings: Settings

    def seed(self, lead: dict[str, Any], events: Sequence[SeedEvent]) -> None:
        ctx = self.agent.ctx
        now = datetime.now(UTC)
        upsert_leads(ctx.db, [lead], ctx.playbook)
        report = ingest_events(
            ctx.db,
            [
                {
                    "id": f"{lead['id']}-{n}",
                    "lead_id": lead["id"],
                    "type": type_,
                    "occurred_at": (now - timedelta(days=days)).isoformat(),
                    "properties": props,
                }
                for n, (type_, days, props) in enumerate(events)
            ],
            ctx.playbook,
        )
        assert not report.rejected

    def delivered(self) -> list[Any]:
        return self.smtp.messages()


@pytest.fixture
def world(settings: Settings, smtp_server: tuple[CollectingHandler, int]) -> Iterator[World]:
    with open_checkpointer(settings) as checkpointer:
        yield World(NurtureAgent(build_context(settings), checkpointer), smtp_server[0], settings)


@pytest.fixture
def pg_world(settings: Settings, smtp_server: tuple[CollectingHandler, int]) -> Iterator[World]:
    """The world on a PostgreSQL database of its own, handing scheduled sends to the job queue
    as the API does there. Skipped without NURTURE_TEST_DATABASE_URL."""
    server = os.environ.get("NURTURE_TEST_DATABASE_URL")
    if not server:
        pytest.skip("needs NURTURE_TEST_DATABASE_URL")
    # imported here: procrastinate and the replicas' helpers only where PostgreSQL is used
    from agent.jobs.queue import QueueExecutor
    from tests.utils.replicas import fresh_postgres

    with fresh_postgres(server) as url:
        on_pg = settings.model_copy(update={"database_url": url})
        with open_checkpointer(on_pg) as checkpointer:
            ctx = build_context(on_pg)
            queue = QueueExecutor(on_pg)
            queue.start()
            ctx.scheduled_sends = queue
            try:
                yield World(NurtureAgent(ctx, checkpointer), smtp_server[0], on_pg)
            finally:
                queue.stop()
                ctx.db.dispose()


WHITEPAPER = [
    ("blog_view", 20, {"url": "/blog/x", "topic": "route optimisation"}),
    (
        "whitepaper_download",
        4,
        {"topic": "route optimisation", "asset_id": "wp-time-windows-routing-cost"},
    ),
]


def drafted(
    world: World,
    lead: dict[str, Any] = DANA,
    events: Sequence[SeedEvent] = WHITEPAPER,
) -> str:
    world.seed(lead, events)
    result = world.agent.start(lead["id"])
    assert result.outcome == "awaiting_approval", result
    assert result.approval_id
    return result.approval_id
