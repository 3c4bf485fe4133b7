"""What the running service holds: settings, the agent (context + checkpointer), a worker pool
for background draft runs. Built in the app's lifespan, never at import time."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from agent.runner import NurtureAgent
from agent.settings import Settings


@dataclass
class ServiceState:
    settings: Settings
    agent: NurtureAgent
    workers: ThreadPoolExecutor
