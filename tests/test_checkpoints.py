"""LangGraph Server's checkpointer (langgraph.json: server_checkpointer, async) and the one the CLI,
the API and the workers open (open_checkpointer) are the same store, on SQLite and PostgreSQL:
what one writes, the other reads. (tests/test_langgraph_crossing.py drives the real server, on
SQLite only.)"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import empty_checkpoint

from agent.checkpoints import open_checkpointer, server_checkpointer
from agent.settings import get_settings
from agent.store import Database


def test_the_server_and_the_cli_open_the_same_checkpoints(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NURTURE_DATABASE_URL", db.url)
    monkeypatch.setenv("NURTURE_DATA_DIR", str(tmp_path))
    on_server: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}}
    on_cli: RunnableConfig = {"configurable": {"thread_id": str(uuid.uuid4())}}
    with_ns = {"checkpoint_ns": ""}

    async def server_writes() -> None:
        async with server_checkpointer() as saver:
            config: RunnableConfig = {"configurable": {**on_server["configurable"], **with_ns}}
            await saver.aput(config, empty_checkpoint(), {"source": "input", "step": -1}, {})

    async def server_reads() -> bool:
        async with server_checkpointer() as saver:
            return await saver.aget_tuple(on_cli) is not None

    asyncio.run(server_writes())
    with open_checkpointer(get_settings()) as saver:
        assert saver.get_tuple(on_server) is not None
        config: RunnableConfig = {"configurable": {**on_cli["configurable"], **with_ns}}
        saver.put(config, empty_checkpoint(), {"source": "input", "step": -1}, {})
    assert asyncio.run(server_reads())
