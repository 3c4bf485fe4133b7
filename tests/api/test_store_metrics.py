"""/metrics reports what the database holds at scrape time (runs by outcome; on PostgreSQL the
queue's jobs by queue and state), the same figures from every replica."""

from __future__ import annotations

from tests.utils.service import Service


def test_metrics_count_runs_by_outcome_from_the_database(service: Service) -> None:
    text = service.call("GET", "/metrics", "admin").text
    assert 'nurture_runs{outcome="awaiting_approval"} 1.0' in text, text
    assert "nurture_queue_jobs" not in text  # SQLite: no queue to count
