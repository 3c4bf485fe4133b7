"""What the running service holds: settings, the agent (context + checkpointer), a worker pool
for background work, metrics. Built in the app's lifespan, never at import time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta

from agent.decisions import Decision
from agent.runner import NurtureAgent
from agent.settings import Settings
from api.auth_failures import AuthFailures
from api.background import Coalescer, RunTracker, Sweeper, decision_recorder, redecider
from api.csrf import CsrfTokens
from api.metrics import Metrics


@dataclass
class ServiceState:
    settings: Settings
    agent: NurtureAgent
    workers: ThreadPoolExecutor
    metrics: Metrics = field(default_factory=Metrics)
    runs: RunTracker = field(default_factory=RunTracker)
    redecider: Coalescer[str] = field(init=False)
    decisions: Coalescer[tuple[Decision, str]] = field(init=False)
    sweeper: Sweeper = field(init=False)
    csrf: CsrfTokens = field(init=False)
    auth_failures: AuthFailures = field(init=False)

    def __post_init__(self) -> None:
        self.csrf = CsrfTokens(self.settings.csrf_secret)
        self.auth_failures = AuthFailures(self.settings)
        self.redecider = redecider(self.agent, self.workers)
        self.decisions = decision_recorder(self.agent, self.workers)
        max_age = timedelta(hours=self.settings.decision_max_age_hours)
        self.sweeper = Sweeper(self.agent, self.redecider, self.settings.sweep_seconds, max_age)
