"""The project's charts, one approach for every page and report: pygal renders each one
server-side as SVG markup with nothing executable in it.

Why pygal, server-side: the web pages' CSP allows no inline style or script, and the eval report
must open from a file with no scripts or network. pygal's SVG carries its own <style>, scoped to
the chart's id; its tooltip script is left out (js=[]) and its inline config script removed, so
the markup holds nothing that runs. Pages show it as a data: image (`data_uri`: an image is its
own document, its styles apply, `img-src 'self' data:` admits it); the eval report inlines it."""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Mapping, Sequence
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

Formatter = Callable[[Any], str]


@dataclass(frozen=True, slots=True)
class Sample:
    """One point of a lead's score over time."""

    at: datetime
    value: float
    hot: bool
    note: str = ""


@dataclass(frozen=True, slots=True)
class Size:
    width: int = 720
    height: int = 320
    label_rotation: int = 0


def percent(value: float) -> str:
    """A share 0–1 as the charts print it (a bar's value, an axis tick)."""
    return f"{value:.0%}"


def bars(title: str, values: Mapping[str, int | float]) -> str:
    """One bar per key (a figure like drafts by outcome)."""
    chart = _new(pygal.Bar, title, Size(), show_legend=False)
    chart.x_labels = list(values)
    chart.add(title, list(values.values()))
    return _svg(chart)


def grouped_bars(
    title: str,
    rows: Mapping[str, Mapping[str, int | float | None]],
    *,
    columns: Sequence[str] | None = None,
    formatter: Formatter | None = None,
    shares: bool = False,
    size: Size = Size(),
) -> str:
    """Groups along x (a stage, a rule, a check), one bar per column (sends, opens...; or a
    stage) in each. A None or missing value draws no bar: 'not measured' is not 0. `shares`
    draws values 0–1 on a fixed 0–100 % axis; `formatter` prints the values and the ticks
    (pygal's own, whole numbers for counts, when None)."""
    shown = list(columns if columns is not None else next(iter(rows.values()), {}))
    options: dict[str, Any] = {"range": (0, 1)} if shares else {}
    if formatter is not None:
        options["value_formatter"] = formatter
    chart = _new(pygal.Bar, title, size, **options)
    chart.x_labels = list(rows)
    for column in shown:
        chart.add(column, [row.get(column) for row in rows.values()])
    return _svg(chart)


def stacked_over_time(title: str, periods: Mapping[str, Mapping[str, int]]) -> str:
    """One stacked bar per period (a week), one series per key found in any period (a stage)."""
    keys = sorted({key for row in periods.values() for key in row})
    chart = _new(pygal.StackedBar, title, Size(label_rotation=30))
    chart.x_labels = list(periods)
    for key in keys:
        chart.add(key, [row.get(key, 0) for row in periods.values()])
    return _svg(chart)


def score_over_time(title: str, samples: Sequence[Sample], threshold: float) -> str:
    """A lead's score at each sample (hot ones in red, each with its note as the point's
    label), and the hot threshold as a dashed line across the whole span."""
    if not samples:
        raise ValueError("a chart needs at least one sample")
    chart = _new(
        pygal.DateTimeLine,
        title,
        Size(),
        x_value_formatter=lambda at: f"{at:%d %b}",
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
    return _svg(chart)


def data_uri(svg: str) -> str:
    """The chart as an <img src> the pages' CSP admits."""
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode()


def _note(sample: Sample) -> str:
    hot = " (hot)" if sample.hot else ""
    return f"{sample.at:%Y-%m-%d}: score {sample.value:.1f}{hot}" + (
        f" · {sample.note}" if sample.note else ""
    )


def _new(kind: Any, title: str, size: Size, **options: object) -> Any:
    return kind(
        title=title,
        style=STYLE,
        js=[],
        width=size.width,
        height=size.height,
        x_label_rotation=size.label_rotation,
        disable_xml_declaration=True,
        legend_at_bottom=True,
        print_values=False,
        **options,
    )


def _svg(chart: Any) -> str:
    return str(SCRIPT.sub("", chart.render(is_unicode=True)))
