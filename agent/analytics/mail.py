"""Sends and the mail events that answer them, counted by SQL GROUP BY per stage, drafter, rule
and asset of the sent draft."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, literal, select, true, union_all
from sqlalchemy.orm import Session

from agent.analytics.groups import rule_of_draft, stage_of_draft
from agent.analytics.window import since_filter
from agent.store.schema import ApprovalRow, EventRow, SendRow

MAIL_FIGURES: dict[str, str] = {
    "email_open": "opens",
    "email_click": "clicks",
    "email_reply": "replies",
    "email_bounce": "bounces",
    "unsubscribe": "unsubscribes",
}
"""The mail event types counted, and the figure each one is counted in."""
MAIL_COLUMNS = ("sends", *MAIL_FIGURES.values())
NO_ASSET = "(no asset)"
"""The asset group of a draft that cites none."""

Table = dict[str, dict[str, int]]


def mail_feedback(session: Session, since: datetime | None) -> dict[str, Table]:
    """Per grouping (stage, drafter, rule, asset): group → {sends, opens, ...}."""
    counted = _counted(since).cte("counted")
    groupings: dict[str, Callable[[Select[Any]], tuple[Select[Any], Any]]] = {
        "stage": lambda query: (query, stage_of_draft()),
        "drafter": lambda query: (query, ApprovalRow.drafter),
        "rule": lambda query: (query, rule_of_draft()),
        "asset": lambda query: _by_asset(query, session.get_bind().dialect.name),
    }
    tables: dict[str, Table] = {}
    for name, grouping in groupings.items():
        base = select(counted.c.figure).join_from(
            counted, ApprovalRow, ApprovalRow.id == counted.c.approval_id
        )
        query, group = grouping(base)
        rows = session.execute(
            query.add_columns(group.label("group"), func.count().label("n")).group_by(
                group, counted.c.figure
            )
        )
        table: dict[str, dict[str, int]] = {}
        for figure, group_name, count in rows:
            row = table.setdefault(str(group_name), dict.fromkeys(MAIL_COLUMNS, 0))
            row[MAIL_FIGURES.get(figure, figure)] += count
        tables[name] = dict(sorted(table.items()))
    return tables


def _counted(since: datetime | None) -> Any:
    """One row per thing counted: (the approval of the send, 'sends' or the event type). A mail
    event counts when its Message-ID (events.properties message_id) is one of our sends'."""
    sends = since_filter(
        select(SendRow.approval_id, literal("sends").label("figure")).where(
            SendRow.status == "sent"
        ),
        SendRow.attempted_at,
        since,
    )
    events = since_filter(
        select(SendRow.approval_id, EventRow.type.label("figure"))
        .join_from(
            EventRow, SendRow, SendRow.message_id == EventRow.properties["message_id"].as_string()
        )
        .where(EventRow.type.in_(MAIL_FIGURES)),
        EventRow.occurred_at,
        since,
    )
    return union_all(sends, events)


def _by_asset(query: Select[Any], dialect: str) -> tuple[Select[Any], Any]:
    """One row per asset the draft cites (approvals.cited_asset_ids), NO_ASSET when none."""
    if dialect == "postgresql":
        elements: Any = func.jsonb_array_elements_text(ApprovalRow.cited_asset_ids)
        assets = elements.table_valued("value").lateral()
    else:
        assets = func.json_each(ApprovalRow.cited_asset_ids).table_valued("value")
    return query.outerjoin(assets, true()), func.coalesce(assets.c.value, NO_ASSET)
