"""Prometheus metrics: request counts and latency per route, plus what the agent did. Each app
has its own registry, so tests can build many apps in one process."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "nurture_http_requests",
            "HTTP requests by route template, method and status.",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "nurture_http_request_seconds",
            "HTTP request latency by route template.",
            ["route", "method"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.events = Counter(
            "nurture_events", "Events received, by outcome.", ["status"], registry=self.registry
        )
        self.drafts_started = Counter(
            "nurture_draft_runs_started", "Draft runs requested.", registry=self.registry
        )
        self.approvals = Counter(
            "nurture_approval_decisions",
            "Approval decisions, by answer.",
            ["answer"],
            registry=self.registry,
        )

    async def middleware(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        # the template, not the path: one series per route, not per lead id
        route = getattr(request.scope.get("route"), "path", "unmatched")
        self.latency.labels(route, request.method).observe(time.perf_counter() - started)
        self.requests.labels(route, request.method, str(response.status_code)).inc()
        return response
