"""The job queue's PostgreSQL connections (procrastinate's pools), set up for the cost of a job.

procrastinate's defaults cost three extra round trips around each of its queries (a defer, a
fetch, a finish): the pool's liveness check (an empty query) before every checkout, then the
implicit BEGIN, then the COMMIT. Each of its queries is one statement (a function call), so:

* pool connections run in autocommit: the statement is its own transaction, as it was;
* the liveness check runs only on a connection idle for CHECK_AFTER_IDLE_SECONDS or more: one
  the server dropped (a restart, an idle timeout) is still replaced before it is handed out,
  and a connection in steady use is not asked twice per query;
* a worker's own bookkeeping (taking a job, finishing it, heartbeats, retrying stalled jobs)
  commits asynchronously (synchronous_commit off): it waits for no WAL flush. The queue is at
  least once already: a worker killed after a job's work and before its finish has that job
  run again (retry_stalled), and every job is written to cope. A PostgreSQL crash within the
  WAL writer's delay (a fraction of a second) can now undo such a finish too: the same re-run,
  nothing new. Any durable commit a job makes flushes the bookkeeping before it as well (WAL is
  written in order). Enqueues from the API stay durable: a 202 names a job that survives.
"""

from __future__ import annotations

import time
import weakref
from typing import Any

import psycopg
from procrastinate import PsycopgConnector
from psycopg_pool import AsyncConnectionPool, ConnectionPool

CHECK_AFTER_IDLE_SECONDS = 2.0
"""A pool connection unused this long is checked (a round trip) before it is handed out."""

_returned_at: weakref.WeakKeyDictionary[psycopg.BaseConnection[Any], float] = (
    weakref.WeakKeyDictionary()
)


def _idle_for(connection: psycopg.BaseConnection[Any]) -> float:
    """Seconds since the pool took `connection` back; infinite for one never used."""
    returned = _returned_at.get(connection)
    return float("inf") if returned is None else time.monotonic() - returned


async def _async_returned(connection: psycopg.AsyncConnection[Any]) -> None:
    _returned_at[connection] = time.monotonic()


def _returned(connection: psycopg.Connection[Any]) -> None:
    _returned_at[connection] = time.monotonic()


async def _async_check(connection: psycopg.AsyncConnection[Any]) -> None:
    if _idle_for(connection) >= CHECK_AFTER_IDLE_SECONDS:
        await AsyncConnectionPool.check_connection(connection)


def _check(connection: psycopg.Connection[Any]) -> None:
    if _idle_for(connection) >= CHECK_AFTER_IDLE_SECONDS:
        ConnectionPool.check_connection(connection)


async def _autocommit(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.set_autocommit(True)


async def _autocommit_asynchronous_commit(connection: psycopg.AsyncConnection[Any]) -> None:
    await connection.set_autocommit(True)
    await connection.execute("SET synchronous_commit TO off")


def queue_connector(conninfo: str, *, durable: bool) -> PsycopgConnector:
    """procrastinate's connector on `conninfo`: durable commits for an app that enqueues,
    asynchronous ones (durable=False) for a worker's app."""
    configure = _autocommit if durable else _autocommit_asynchronous_commit

    def pool(**options: Any) -> AsyncConnectionPool[Any]:
        # procrastinate passes check=check_connection (every checkout): ours replaces it.
        # configure is given here, not to the connector: the connector would also run it on
        # the LISTEN connection, which opens in autocommit already
        options.update(check=_async_check, reset=_async_returned, configure=configure)
        return AsyncConnectionPool(**options)

    return PsycopgConnector(conninfo=conninfo, pool_factory=pool)


def sync_queue_pool(conninfo: str) -> ConnectionPool[Any]:
    """A pool for an app opened synchronously (`App.open(pool)`: the API's executor, the CLI):
    autocommit, durable commits, checked after idling."""
    pool: ConnectionPool[Any] = ConnectionPool(
        conninfo, kwargs={"autocommit": True}, check=_check, reset=_returned, open=False
    )
    pool.open(wait=True)  # as procrastinate opens its own: an unreachable server fails here
    return pool
