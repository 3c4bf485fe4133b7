"""The dashboard's charts: pygal renders each one server-side as SVG, shown as a data: URI image.

Why a data: image: the pages' CSP allows no inline style or script, and pygal's SVG carries its
own <style>; an SVG shown as an <img> is its own document (its styles apply, no script ever
runs) and `img-src 'self' data:` already admits it. pygal's tooltip script is left out (js=[])
and its inline config script removed, so the image holds nothing executable."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pygal
from pygal.style import Style

STYLE = Style(
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1f2933",
    foreground_strong="#1f2933",
    foreground_subtle="#9aa5b1",
    font_family="system-ui, sans-serif",
    colors=("#2f6fdf", "#e3702d", "#2e9e6b", "#b8428c", "#8a6d1f", "#5b6b7c", "#c23a3a"),
)
HOT = "#c23a3a"
SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Sample:
    """One point of a lead's score over time."""

    at: datetime
    value: float
    hot: bool
    note: str = ""


def bars(title: str, values: Mapping[str, int | float]) -> str:
    """One bar per key (a figure like drafts by outcome)."""
    chart = _new(pygal.Bar, title, show_legend=False)
    chart.x_labels = list(values)
    chart.add(title, list(values.values()))
    return _data_uri(chart)


def grouped_bars(title: str, rows: Mapping[str, Mapping[str, int]]) -> str:
    """Groups along x (a stage, a drafter), one bar per column (sends, opens...) in each."""
    columns = list(next(iter(rows.values()), {}))
    chart = _new(pygal.Bar, title)
    chart.x_labels = list(rows)
    for column in columns:
        chart.add(column, [row.get(column, 0) for row in rows.values()])
    return _data_uri(chart)


def stacked_over_time(title: str, periods: Mapping[str, Mapping[str, int]]) -> str:
    """One stacked bar per period (a week), one series per key found in any period (a stage)."""
    keys = sorted({key for row in periods.values() for key in row})
    chart = _new(pygal.StackedBar, title, x_label_rotation=30)
    chart.x_labels = list(periods)
    for key in keys:
        chart.add(key, [row.get(key, 0) for row in periods.values()])
    return _data_uri(chart)


def score_over_time(title: str, samples: Sequence[Sample], threshold: float) -> str:
    """A lead's score at each sample (hot ones in red, each with its note as the point's
    label), and the hot threshold as a dashed line across the whole span."""
    if not samples:
        raise ValueError("a chart needs at least one sample")
    chart = _new(
        pygal.DateTimeLine,
        title,
        x_value_formatter=lambda at: f"{at:%d %b}",
        x_label_rotation=0,
        range=(
            min(0.0, *(s.value for s in samples)),
            max(threshold * 1.15, *(s.value for s in samples)),
        ),
        show_legend=True,
    )
    chart.add(
        "score",
        [
            {"value": (s.at, s.value), "label": _note(s), **({"color": HOT} if s.hot else {})}
            for s in samples
        ],
    )
    chart.add(
        f"hot ≥ {threshold:g}",
        [(samples[0].at, threshold), (samples[-1].at, threshold)],
        show_dots=False,
        stroke_style={"dasharray": "6, 4", "width": 1.5},
    )
    return _data_uri(chart)


def _note(sample: Sample) -> str:
    hot = " (hot)" if sample.hot else ""
    return f"{sample.at:%Y-%m-%d}: score {sample.value:.1f}{hot}" + (
        f" · {sample.note}" if sample.note else ""
    )


def _new(kind: Any, title: str, **options: object) -> Any:
    return kind(
        title=title,
        style=STYLE,
        js=[],
        width=720,
        height=320,
        disable_xml_declaration=True,
        legend_at_bottom=True,
        print_values=False,
        **options,
    )


def _data_uri(chart: Any) -> str:
    svg = SCRIPT.sub("", chart.render(is_unicode=True))
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()
