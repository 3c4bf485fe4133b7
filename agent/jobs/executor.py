"""The interface the API and the CLI hand background work to. The API only enqueues and reads
status (from the store); where and how the work runs is the executor's business."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol


class Executor(Protocol):
    def submit_draft(self, thread_id: str, lead_id: str) -> None:
        """Runs a draft run already written to the store as queued (`queue_run`)."""

    def submit_answer(self, approval_id: str, lead_id: str) -> None:
        """Resumes the thread of an approval whose answer is claimed (`claim_answer`)."""

    def redecide(self, lead_ids: Iterable[str]) -> None:
        """Records fresh decisions for leads whose timelines changed (coalesced per lead)."""

    def deliver_handoff(self, handoff_id: str) -> None:
        """Delivers a recorded hand-off's webhook, retrying transient failures with backoff."""

    def schedule_send(self, approval_id: str, at: datetime) -> None:
        """Sends a send written to the store as scheduled (agent/scheduled_sends.py) at `at`."""

    def submit_preview(self, preview_id: str) -> None:
        """Runs a playbook preview written to the store as queued (`accept_preview`)."""

    def start(self) -> None:
        """Starts taking work, beginning with what was left unfinished."""

    def stop(self) -> None:
        """Stops taking work; finishes what it holds. Queued runs stay queued in the store."""
