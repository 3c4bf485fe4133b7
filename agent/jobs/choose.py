"""Which executor a process uses: procrastinate on PostgreSQL, threads on SQLite."""

from __future__ import annotations

from sqlalchemy.engine import make_url

from agent.jobs.executor import Executor
from agent.runner import NurtureAgent
from agent.settings import Settings


def on_postgresql(settings: Settings) -> bool:
    return make_url(settings.resolved_database_url).get_backend_name() == "postgresql"


def open_executor(agent: NurtureAgent, settings: Settings) -> Executor:
    if on_postgresql(settings):
        from agent.jobs.queue import QueueExecutor

        return QueueExecutor(settings)
    from agent.jobs.local import LocalExecutor

    return LocalExecutor(agent, settings)
