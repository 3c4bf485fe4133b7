"""The dashboard's charts: pygal renders each one server-side as SVG, shown as a data: URI image.

Why a data: image: the pages' CSP allows no inline style or script, and pygal's SVG carries its
own <style>; an SVG shown as an <img> is its own document (its styles apply, no script ever
runs) and `img-src 'self' data:` already admits it. pygal's tooltip script is left out (js=[])
and its inline config script removed, so the image holds nothing executable."""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
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
SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)


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
