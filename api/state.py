"""What the running service holds: settings, the agent (context + checkpointer), a worker pool
for background work, metrics. Built in the app's lifespan, never at import time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from agent.runner import NurtureAgent
from agent.settings import Settings
from api.background import RunTracker
from api.metrics import Metrics


@dataclass
class ServiceState:
    settings: Settings
    agent: NurtureAgent
    workers: ThreadPoolExecutor
    metrics: Metrics = field(default_factory=Metrics)
    runs: RunTracker = field(default_factory=RunTracker)
