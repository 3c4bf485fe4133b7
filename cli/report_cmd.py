"""`nurture report`: the analytics figures from the store, each with its definition."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, open_database, parse_moment, print_json


def report(
    since: Annotated[
        str | None,
        typer.Option(
            help="Count from this moment (ISO 8601, e.g. 2026-11-01T00:00:00Z); "
            "every row when left out."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="What GET /v1/analytics/summary returns.")
    ] = False,
) -> None:
    """MQLs (by week), hand-offs, drafts by outcome with time to decision and edit distance by
    stage, sends and mail events by stage, drafter, rule and asset, and leads by stage, counted
    from the store; each figure says what it counts."""
    from agent.analytics import report as build_report
    from api.convert import analytics_out

    start = parse_moment(since, option="--since") if since is not None else None
    result = build_report(open_database(), since=start, now=datetime.now(UTC))
    if as_json:
        print_json(analytics_out(result).model_dump(mode="json"))
        return
    window = f"since {start:%Y-%m-%d %H:%M} UTC" if start else "all time"
    table = Table(
        "figure", "value", "what it counts", title=f"report, {window}", title_justify="left"
    )
    for figure in result.each_figure():
        table.add_row(_label(figure.name), _value(figure.value), figure.definition)
    console.print(table)


def _label(name: str) -> str:
    return {"mqls": "MQLs", "mqls_by_week": "MQLs by week"}.get(name, name.replace("_", " "))


def _value(value: object) -> str:
    if isinstance(value, dict) and any(isinstance(v, dict) for v in value.values()):
        return "\n".join(f"{key}: {_inline(row)}" for key, row in value.items()) or "none"
    if isinstance(value, dict):
        return "\n".join(f"{key}: {count}" for key, count in sorted(value.items())) or "none"
    if isinstance(value, float):
        return f"{value:.2f}"
    return "none" if value is None else str(value)


def _inline(row: dict[str, int | float]) -> str:
    return " ".join(f"{key} {_value(count)}" for key, count in row.items()) or "none"
