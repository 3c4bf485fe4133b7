"""Gauges read from the database when /metrics is scraped, so every replica reports the same
cluster-wide figures: jobs in the queue by queue and state (PostgreSQL), runs by outcome,
rejected Segment messages by reason, events waiting for their lead, hand-offs by state and those
past the acceptance SLA. One grouped query each; nothing is kept in memory between scrapes."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import func, select

from agent.handoff_board import overdue_count
from agent.store.database import Database
from agent.store.identities import pending_count
from agent.store.rejections import rejection_counts
from agent.store.schema import HandoffRow, RunRow


class StoreCounts(Collector):
    def __init__(
        self, db: Database, *, queue: bool, handoff_sla_hours: float, now: datetime
    ) -> None:
        self.db, self.queue = db, queue
        self.sla_hours, self.now = handoff_sla_hours, now

    def collect(self) -> Iterator[GaugeMetricFamily]:
        runs = GaugeMetricFamily(
            "nurture_runs", "Draft runs in the database, by outcome.", labels=["outcome"]
        )
        with self.db.session() as session:
            counted = session.execute(
                select(RunRow.outcome, func.count()).group_by(RunRow.outcome)
            ).all()
        for outcome, count in counted:
            runs.add_metric([outcome], count)
        yield runs
        yield from self._ingest()
        yield from self._handoffs()
        if not self.queue:
            return
        from agent.jobs.inspect import job_counts

        jobs = GaugeMetricFamily(
            "nurture_queue_jobs",
            "Jobs in the PostgreSQL queue (procrastinate), by queue and state.",
            labels=["queue", "state"],
        )
        for (queue, state), count in sorted(job_counts(self.db).items()):
            jobs.add_metric([queue, state], count)
        yield jobs

    def _ingest(self) -> Iterator[GaugeMetricFamily]:
        # a Segment client never reads why a message was not stored: these are where it shows
        rejected = GaugeMetricFamily(
            "nurture_ingest_rejections",
            "Messages answered 200 but not stored, by source and reason (see `nurture ingest "
            "rejections`).",
            labels=["source", "reason"],
        )
        for (source, reason), count in sorted(rejection_counts(self.db).items()):
            rejected.add_metric([source, reason], count)
        yield rejected
        yield GaugeMetricFamily(
            "nurture_pending_events",
            "Events kept under an anonymousId or unknown userId until identify or alias names "
            "their lead.",
            value=pending_count(self.db),
        )

    def _handoffs(self) -> Iterator[GaugeMetricFamily]:
        states = GaugeMetricFamily(
            "nurture_handoffs", "Hand-offs to sales, by state.", labels=["state"]
        )
        with self.db.session() as session:
            counted = session.execute(
                select(HandoffRow.state, func.count()).group_by(HandoffRow.state)
            ).all()
        for state, count in counted:
            states.add_metric([state], count)
        yield states
        overdue = GaugeMetricFamily(
            "nurture_handoffs_overdue",
            "Hand-offs not accepted within the playbook's acceptance SLA.",
        )
        overdue.add_metric([], overdue_count(self.db, now=self.now, sla_hours=self.sla_hours))
        yield overdue


def store_registry(
    db: Database, *, queue: bool, handoff_sla_hours: float, now: datetime
) -> CollectorRegistry:
    """A registry for one scrape holding the database's counts."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCounts(db, queue=queue, handoff_sla_hours=handoff_sla_hours, now=now))
    return registry
