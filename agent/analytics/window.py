"""The counting window's helpers: the --since filter, ISO weeks, percentiles."""

from __future__ import annotations

from datetime import datetime
from math import ceil, floor
from typing import Any


def since_filter(query: Any, column: Any, since: datetime | None) -> Any:
    return query if since is None else query.where(column >= since)


def iso_week(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def percentile(values: list[float], share: float) -> float:
    """Linear interpolation between the closest ranks (PostgreSQL's percentile_cont, numpy's
    default): share 0.5 is the median. `values` must not be empty."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * share
    low, high = ordered[floor(position)], ordered[ceil(position)]
    return low + (high - low) * (position - floor(position))
