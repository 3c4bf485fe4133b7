"""How `nurture playbook preview` shows a preview in a terminal: one matrix per transition
table (rows: the playbook in force, columns: the candidate), then what moves, the rules that
fire more or less often, and the drafts that would go stale."""

from __future__ import annotations

from rich.table import Table

from agent.preview import Preview
from cli.common import console

STALE_SHOWN = 20
TITLES = {"stage": "stage", "action": "next action", "hot": "hot (MQL)"}


def print_preview(result: Preview) -> None:
    console.print(
        f"Preview of [bold]{result.candidate_version}[/] against "
        f"[bold]{result.current_version}[/] (in force), as of {result.at:%Y-%m-%d %H:%M:%S} UTC: "
        f"{result.leads} leads, {result.changed} would change stage, action or heat.",
        highlight=False,
        soft_wrap=True,
    )
    for name in ("stage", "action", "hot"):
        console.print(_matrix(result, name))
    moves = [
        (name, before, after, cell)
        for name in ("stage", "action", "hot")
        for (before, after), cell in sorted(result.table(name).items(), key=lambda c: -c[1].count)
        if before != after
    ]
    if moves:
        console.print("[bold]What moves[/]")
    for name, before, after, cell in moves:
        console.print(
            f"  {TITLES[name]}: {before} → {after}: {cell.count} lead{'s' * (cell.count != 1)} "
            f"(e.g. {', '.join(cell.examples)})",
            highlight=False,
            soft_wrap=True,
        )
    shifts = result.rule_shifts()
    if shifts:
        rules = Table("rule", "kind", "in force", "candidate", "change", title="rules firing")
        for s in shifts:
            rules.add_row(s.rule, s.kind, str(s.before), str(s.after), f"{s.after - s.before:+d}")
        console.print(rules)
    console.print(
        f"{result.stale_count} of {result.waiting_drafts} waiting drafts would go stale.",
        highlight=False,
    )
    for draft in result.stale[:STALE_SHOWN]:
        console.print(f"  {draft.approval_id} ({draft.lead_id}): {draft.reason}", highlight=False)
    if result.stale_count > STALE_SHOWN:
        console.print(f"  and {result.stale_count - STALE_SHOWN} more (--json lists 200)")


def _matrix(result: Preview, name: str) -> Table:
    labels = result.labels(name)
    table = Table(
        "in force ↓",
        *(_words(label) for label in labels),
        title=f"{TITLES[name]} transitions (columns: the candidate)",
        title_justify="left",
    )
    cells = result.table(name)
    for before in labels:
        row = []
        for after in labels:
            cell = cells.get((before, after))
            count = str(cell.count) if cell else "·"
            row.append(f"[bold]{count}[/]" if cell and before != after else count)
        table.add_row(_words(before), *row)
    return table


def _words(label: str) -> str:
    """handoff_to_sales as words, so a narrow terminal wraps it instead of cutting it."""
    return label.replace("_", " ")
