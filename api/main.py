"""Builds the FastAPI app: the JSON API under /v1, the inbox pages, and the service state in
its lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.jobs.choose import on_postgresql, open_executor
from agent.playbook_watch import PlaybookWatch
from agent.runner import NurtureAgent
from agent.runtime import freeze_startup_heap
from agent.settings import Settings, get_settings
from agent.unsubscribe import unsubscribe_links
from api.errors import http_error, validation_failed
from api.metrics import Metrics, MetricsMiddleware
from api.request_ids import RequestIdMiddleware
from api.routes import (
    account_pages,
    accounts,
    analytics,
    analytics_pages,
    approvals,
    content,
    events,
    experiment_pages,
    experiments,
    handoff_pages,
    handoffs,
    health,
    inbound,
    ingest_rejections,
    leads,
    mail_events,
    metrics,
    pages,
    playbook,
    segment,
    sends,
    unsubscribe,
)
from api.schemas import SERVER_ERROR
from api.state import ServiceState


def create_app(settings: Settings | None = None, *, worker: bool = True) -> FastAPI:
    """`worker`: on PostgreSQL, also run a job worker in this process (`nurture serve`
    without --no-worker). On SQLite the service always runs its jobs itself."""
    config = settings or get_settings()
    counters = Metrics()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        with (
            open_checkpointer(config) as checkpointer,
            ThreadPoolExecutor(max_workers=config.draft_concurrency) as workers,
        ):
            agent = NurtureAgent(build_context(config), checkpointer)
            # the unsubscribe links' key exists from the first start (made once, then read)
            unsubscribe_links(config, agent.ctx.db)
            jobs = open_executor(agent, config)
            app.state.service = ServiceState(config, agent, workers, jobs, counters)
            jobs.start()
            in_process = None
            if worker and on_postgresql(config):
                from agent.jobs.queue import WorkerThread

                in_process = WorkerThread(agent, config, config.draft_concurrency)
                in_process.start()
            watch = PlaybookWatch(agent.ctx)  # activations made by other processes
            watch.start()
            freeze_startup_heap()
            try:
                yield
            finally:
                watch.stop()
                if in_process is not None:
                    in_process.stop()
                jobs.stop()

    app = FastAPI(
        title="nurture-agent",
        version="0.1.0",
        lifespan=lifespan,
        description="Lead nurturing with a human-owned playbook and human approval. "
        "Every /v1 route needs an API key (`Authorization: Bearer nk_...` or `X-API-Key`); "
        "roles: admin, marketer, rep, ingest.",
        responses=SERVER_ERROR,
    )
    app.add_middleware(MetricsMiddleware, metrics=counters)
    app.add_middleware(RequestIdMiddleware)  # outermost: it answers what fails inside
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.add_exception_handler(StarletteHTTPException, http_error)
    routers = (
        health,
        metrics,
        leads,
        accounts,
        events,
        segment,
        ingest_rejections,
        approvals,
        sends,
        handoffs,
        content,
        playbook,
        analytics,
        analytics_pages,
        experiments,
        account_pages,
        experiment_pages,
        handoff_pages,  # before pages: /inbox/{approval_id} would take /inbox/handoffs
        pages,
    )
    # the mail system's webhooks and the unsubscribe page: signed, not keyed (see each module)
    for router in (*routers, mail_events, inbound, unsubscribe):
        app.include_router(router.router)
    app.mount("/static", pages.static_files(), name="static")
    return app
