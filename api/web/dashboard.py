"""The analytics dashboard's content: each figure of agent.analytics as a chart (when it has
more than one number), the numbers themselves in a table, and its definition."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from agent import charts
from agent.analytics import Figure, Report

TITLES: dict[str, str] = {
    "leads_by_stage": "Leads by stage now",
    "leads_by_stage_by_week": "Leads by stage over time (end of each week)",
    "mqls": "MQLs",
    "mqls_by_week": "MQLs by week",
    "handoffs": "Hand-offs to sales",
    "handoffs_delivered": "Hand-offs delivered to the CRM",
    "handoffs_accepted": "Hand-offs accepted by sales",
    "drafts_by_outcome": "Drafts by outcome",
    "median_hours_to_decision": "Median hours to a decision on a draft",
    "drafts_waiting": "Drafts waiting now",
    "sends_by_status": "Sends by status",
    "mail_by_stage": "Sends, opens, clicks, replies, bounces, unsubscribes by stage",
    "mail_by_drafter": "Sends, opens, clicks, replies, bounces, unsubscribes by drafter",
    "mail_by_rule": "Sends, opens, clicks, replies, bounces, unsubscribes by playbook rule",
    "mail_by_asset": "Sends, opens, clicks, replies, bounces, unsubscribes by asset cited",
    "hours_to_decision_by_stage": "Hours to a decision on a draft, by stage",
    "edit_distance_by_stage": "Edit distance of edited drafts, by stage",
}
CHARTED: dict[str, tuple[str, ...]] = {
    "hours_to_decision_by_stage": ("median", "p75"),
    "edit_distance_by_stage": ("median", "p75"),
}
"""Figures whose chart leaves a column out: a count drawn on the scale of hours or of a 0–1
distance would flatten the values the chart is for (the table still gives it)."""


@dataclass(frozen=True, slots=True)
class Cell:
    key: str
    """Where the number sits: '' for a single number, 'stage' or 'stage/column' in a table."""
    value: str


@dataclass(frozen=True, slots=True)
class Panel:
    name: str
    title: str
    definition: str
    chart: str | None
    """A data: URI of the SVG chart; None for a single number or an empty figure."""
    columns: list[str]
    rows: list[tuple[str, list[Cell]]]
    single: Cell | None


def panels(report: Report) -> list[Panel]:
    return [_panel(figure) for figure in report.each_figure()]


def number(value: Any) -> str:
    """A figure's number as the page prints it (the Chromium test reads it back)."""
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:.2f}"  # two places: an edit distance lies between 0 and 1
    return str(value)


def _panel(figure: Figure) -> Panel:
    title = TITLES.get(figure.name, figure.name.replace("_", " "))
    value = figure.value
    if not isinstance(value, Mapping):
        return Panel(figure.name, title, figure.definition, None, [], [], Cell("", number(value)))
    if any(isinstance(row, Mapping) for row in value.values()):
        columns = sorted({column for row in value.values() for column in row}, key=_order(value))
        rows = [
            (group, [Cell(f"{group}/{c}", number(row.get(c, 0))) for c in columns])
            for group, row in value.items()
        ]
        table_chart = (
            charts.stacked_over_time(title, value)
            if figure.name.endswith("_by_week")
            else charts.grouped_bars(
                title,
                value,
                columns=CHARTED.get(figure.name, columns),
                # spreads print as the table does; counts keep pygal's whole-number ticks
                formatter=number if figure.name in CHARTED else None,
            )
        )
        return Panel(
            figure.name,
            title,
            figure.definition,
            charts.data_uri(table_chart) if value else None,
            columns,
            rows,
            None,
        )
    ordered = dict(sorted(value.items()))
    rows = [(key, [Cell(key, number(count))]) for key, count in ordered.items()]
    chart = charts.data_uri(charts.bars(title, ordered)) if ordered else None
    return Panel(figure.name, title, figure.definition, chart, ["count"], rows, None)


def _order(value: Mapping[str, Mapping[str, int]]) -> Any:
    """Columns in the order the rows give them (sends before opens), else by name."""
    first = list(next(iter(value.values()), {}))
    return lambda column: (first.index(column) if column in first else len(first), column)
