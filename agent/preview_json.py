"""A preview as JSON and back: what `POST /v1/playbook/preview` answers (api/schemas.py's
PreviewOut has this shape), what a preview job stores in its row, and what the page reads
back to draw its tables. One place, so the three cannot drift apart."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any, cast

from agent.preview import Cell, Preview, RuleKind, StaleDraft, Transitions

TABLES = ("stage", "action", "hot")


def preview_json(result: Preview) -> dict[str, Any]:
    """The preview with plain JSON values only; cells in the order the tables show them."""
    return {
        "current_version": result.current_version,
        "candidate_version": result.candidate_version,
        "at": result.at.isoformat(),
        "leads": result.leads,
        "changed": result.changed,
        **{name: _cells(result, name) for name in TABLES},
        "rules": [
            {"rule": s.rule, "kind": s.kind, "before": s.before, "after": s.after}
            for s in result.rule_shifts()
        ],
        "waiting_drafts": result.waiting_drafts,
        "stale_count": result.stale_count,
        "stale_drafts": [
            {"approval_id": s.approval_id, "lead_id": s.lead_id, "reason": s.reason}
            for s in result.stale
        ],
    }


def _cells(result: Preview, name: str) -> list[dict[str, Any]]:
    order = {value: n for n, value in enumerate(result.labels(name))}
    cells = sorted(result.table(name).items(), key=lambda c: (order[c[0][0]], order[c[0][1]]))
    return [
        {"before": before, "after": after, "count": cell.count, "examples": list(cell.examples)}
        for (before, after), cell in cells
    ]


def preview_from_json(data: dict[str, Any]) -> Preview:
    """The preview `preview_json` wrote. Rules that fire as often with both playbooks are not
    in the JSON; they are not shown either (`rule_shifts` leaves them out)."""
    result = Preview(
        current_version=data["current_version"],
        candidate_version=data["candidate_version"],
        at=datetime.fromisoformat(data["at"]),
        leads=data["leads"],
        changed=data["changed"],
        waiting_drafts=data["waiting_drafts"],
        stale_count=data["stale_count"],
        stale=[
            StaleDraft(s["approval_id"], s["lead_id"], s["reason"]) for s in data["stale_drafts"]
        ],
    )
    for name in TABLES:
        table: Transitions = result.table(name)
        for c in data[name]:
            table[(c["before"], c["after"])] = Cell(c["count"], list(c["examples"]))
    for shift in data["rules"]:
        kind = cast(RuleKind, shift["kind"])
        tally: Counter[tuple[str, str]] = (
            result.action_rules if kind == "action" else result.stage_rules
        )
        tally[(shift["rule"], "before")] = shift["before"]
        tally[(shift["rule"], "after")] = shift["after"]
    return result
