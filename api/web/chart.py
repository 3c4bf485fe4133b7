"""A line chart as geometry for an inline SVG, computed server-side: no chart library, no JS.
The template draws it; this module only maps (time, value) pairs onto the plot area."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT = 640, 260
# room for the y labels on the left and the date labels underneath
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 14, 30


@dataclass(frozen=True, slots=True)
class ChartPoint:
    x: float
    y: float
    title: str
    """Shown as the point's tooltip (an SVG <title>)."""
    hot: bool


@dataclass(frozen=True, slots=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True, slots=True)
class LineChart:
    width: int
    height: int
    left: float
    right: float
    top: float
    bottom: float
    points: list[ChartPoint]
    threshold_y: float
    threshold_label: str
    x_ticks: list[Tick]
    y_ticks: list[Tick]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    value: float
    hot: bool
    note: str = ""


def line_chart(samples: Sequence[Sample], threshold: float, *, x_labels: int = 5) -> LineChart:
    """Time on x (first to last sample), value on y from 0 to a round number above both the
    highest value and the threshold, so the threshold line is always inside the plot."""
    if not samples:
        raise ValueError("a chart needs at least one sample")
    top_value = _nice_ceiling(max(threshold * 1.15, *(s.value for s in samples)))
    low_value = min(0.0, *(s.value for s in samples))
    start, end = samples[0].at, samples[-1].at
    span = max((end - start).total_seconds(), 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x_of(at: datetime) -> float:
        return LEFT + plot_w * (at - start).total_seconds() / span

    def y_of(value: float) -> float:
        return TOP + plot_h * (1 - (value - low_value) / (top_value - low_value))

    points = [ChartPoint(x_of(s.at), y_of(s.value), _title(s), s.hot) for s in samples]
    last = len(samples) - 1
    # evenly spread labels, always the first sample and the last ("now")
    labelled = sorted({round(i * last / max(1, x_labels - 1)) for i in range(x_labels)})
    shown = [samples[i] for i in labelled]
    return LineChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right=WIDTH - RIGHT,
        top=TOP,
        bottom=HEIGHT - BOTTOM,
        points=points,
        threshold_y=y_of(threshold),
        threshold_label=f"hot ≥ {threshold:g}",
        x_ticks=[Tick(x_of(s.at), f"{s.at:%d %b}") for s in shown],
        y_ticks=[Tick(y_of(v), f"{v:g}") for v in _y_ticks(low_value, top_value)],
    )


def _title(sample: Sample) -> str:
    hot = " (hot)" if sample.hot else ""
    note = f" · {sample.note}" if sample.note else ""
    return f"{sample.at:%Y-%m-%d}: score {sample.value:.1f}{hot}{note}"


def _nice_ceiling(value: float) -> float:
    """The next multiple of 10 (or of a power of ten for large values) at or above value."""
    if value <= 10:
        return 10.0
    unit: int = 10 ** max(1, math.floor(math.log10(value)) - 1) * 2  # a positive power: an int
    return math.ceil(value / unit) * unit


def _y_ticks(low: float, high: float, count: int = 5) -> list[float]:
    step = (high - low) / count
    return [round(low + step * i, 1) for i in range(count + 1)]
