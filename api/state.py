"""What the running service holds: settings, the agent (context + checkpointer), the executor
background jobs go to, a worker pool for the API's own after-response writes, metrics. Built in
the app's lifespan, never at import time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from agent.decisions import Decision
from agent.jobs.decisions import Coalescer
from agent.jobs.executor import Executor
from agent.runner import NurtureAgent
from agent.settings import Settings
from api.auth_failures import AuthFailures
from api.background import decision_recorder
from api.csrf import CsrfTokens
from api.key_cache import KeyCache
from api.metrics import Metrics


@dataclass
class ServiceState:
    settings: Settings
    agent: NurtureAgent
    workers: ThreadPoolExecutor
    jobs: Executor
    metrics: Metrics = field(default_factory=Metrics)
    decisions: Coalescer[tuple[Decision, str]] = field(init=False)
    csrf: CsrfTokens = field(init=False)
    auth_failures: AuthFailures = field(init=False)
    keys: KeyCache = field(init=False)

    def __post_init__(self) -> None:
        self.csrf = CsrfTokens(self.settings.csrf_secret)
        self.auth_failures = AuthFailures(self.settings)
        self.keys = KeyCache(self.settings.api_key_cache_seconds)
        self.decisions = decision_recorder(self.agent, self.workers)
