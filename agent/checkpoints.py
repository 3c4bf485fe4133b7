"""Checkpointers: SQLite next to the data by default, PostgreSQL when the store is PostgreSQL, so
a draft waiting for a human survives a restart of the process. LangGraph Server opens the same
store through `server_checkpointer` (named in langgraph.json), so a thread started by
`nurture draft` can be answered through the server and the reverse."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy.engine import make_url

from agent.settings import Settings, get_settings


@contextmanager
def open_checkpointer(settings: Settings) -> Iterator[BaseCheckpointSaver[str]]:
    libpq = _postgres_dsn(settings)
    if libpq is not None:
        from langgraph.checkpoint.postgres import PostgresSaver

        with PostgresSaver.from_conn_string(libpq) as saver:
            saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite import SqliteSaver

    settings.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(settings.checkpoint_path, check_same_thread=False)
    try:
        yield SqliteSaver(connection)
    finally:
        connection.close()


@asynccontextmanager
async def server_checkpointer() -> AsyncIterator[BaseCheckpointSaver[str]]:
    """The same checkpoints as open_checkpointer, for LangGraph Server (langgraph.json's
    `checkpointer.path`), which wants an async saver: its own in-memory one would keep the
    server's threads apart from the CLI's, the API's and the workers'."""
    settings = get_settings()
    libpq = _postgres_dsn(settings)
    if libpq is not None:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

        async with AsyncPostgresSaver.from_conn_string(libpq) as saver:
            await saver.setup()
            yield saver
        return
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    settings.checkpoint_path.parent.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(settings.checkpoint_path)) as saver:
        yield saver


def _postgres_dsn(settings: Settings) -> str | None:
    """The libpq connection string when the store is PostgreSQL (the checkpointers speak libpq,
    not SQLAlchemy's URLs), else None."""
    url = make_url(settings.resolved_database_url)
    if url.get_backend_name() != "postgresql":
        return None
    return url.set(drivername="postgresql").render_as_string(hide_password=False)
