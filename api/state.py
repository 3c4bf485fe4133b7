"""What the running service holds: settings, the agent (context + checkpointer), a worker pool
for background work, metrics. Built in the app's lifespan, never at import time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from agent.runner import NurtureAgent
from agent.settings import Settings
from api.background import DecisionRecorder, Redecider, RunTracker
from api.metrics import Metrics


@dataclass
class ServiceState:
    settings: Settings
    agent: NurtureAgent
    workers: ThreadPoolExecutor
    metrics: Metrics = field(default_factory=Metrics)
    runs: RunTracker = field(default_factory=RunTracker)
    redecider: Redecider = field(init=False)
    decisions: DecisionRecorder = field(init=False)

    def __post_init__(self) -> None:
        self.redecider = Redecider(self.agent, self.workers)
        self.decisions = DecisionRecorder(self.agent, self.workers)
