"""`nurture next LEAD` and `nurture scores`: the decision engine, for people and scripts."""

from __future__ import annotations

import time
from typing import Annotated

import typer
from rich.panel import Panel
from rich.table import Table

from agent.decisions import Decision, decide
from agent.tools.timeline import load_signals
from cli.common import (
    AtOption,
    PlaybookOption,
    console,
    open_database,
    parse_moment,
    playbook,
    settings,
)

ACTION_STYLE = {
    "suppress": "red",
    "with_sales": "magenta",
    "handoff_to_sales": "bold magenta",
    "wait": "yellow",
    "re_engage": "cyan",
    "send_email": "bold green",
}


def next_action(
    lead_id: Annotated[str, typer.Argument(help="The lead's id.")],
    at: AtOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the decision as JSON.")] = False,
    playbook_path: PlaybookOption = None,
) -> None:
    """What to send this lead next, and why."""
    moment = parse_moment(at)
    config = settings()
    db = open_database(config)
    rules = playbook(playbook_path, db, config)
    lead, timeline = load_signals(db, lead_id, until=moment, playbook=rules)
    decision = decide(lead, timeline, rules, moment)
    if as_json:
        typer.echo(decision.model_dump_json(indent=2))
    else:
        _show(decision, f"{lead.name or lead.email} · {lead.company or ''}".rstrip(" ·"))


def scores(
    at: AtOption = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many hot leads to list.")] = 25,
    playbook_path: PlaybookOption = None,
) -> None:
    """Re-score every lead and list the hot ones (MQLs)."""
    # here, not at the top: `nurture next` shares this module and needs neither
    from rich.progress import Progress

    from agent.store.scores import count_stale, hot_leads, refresh_derived, rescore_all

    moment = parse_moment(at)
    db = open_database()
    rules = playbook(playbook_path, db)
    stale = count_stale(db, rules)
    if stale.leads or stale.events:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task("applying the playbook", total=stale.leads + stale.events)
            refresh_derived(db, rules, lambda n: progress.advance(task, n))
    started = time.perf_counter()
    scored = rescore_all(db, rules, moment)
    seconds = time.perf_counter() - started
    hot = hot_leads(db)
    console.print(
        f"{scored} leads re-scored as of {moment:%Y-%m-%d %H:%M} UTC in {seconds:.2f} s; "
        f"{len(hot)} hot (total ≥ {rules.scoring.hot_threshold:g})",
        highlight=False,
    )
    table = Table("lead", "name", "company", "attribute", "behaviour", "total")
    for row in hot[:limit]:
        table.add_row(
            row.lead_id,
            row.name or "",
            row.company or "",
            f"{row.attribute:g}",
            f"{row.behaviour:.1f}",
            f"[bold]{row.total:.1f}[/]",
        )
    if hot:
        console.print(table)


def _show(decision: Decision, who: str) -> None:
    style = ACTION_STYLE[decision.action]
    head = f"[{style}]{decision.action}[/]  ·  stage [bold]{decision.stage}[/]"
    if decision.wait_until:
        head += f"  ·  wait until {decision.wait_until:%Y-%m-%d %H:%M} UTC"
    s = decision.score
    head += (
        f"\nscore {s.total:.1f} = attribute {s.attribute:g} + behaviour {s.behaviour:.1f}"
        f"{'  [bold red]HOT[/]' if s.hot else ''}"
    )
    if decision.content:
        need = decision.content
        head += f"\nsend: {', '.join(need.kinds)}" + (f" on '{need.topic}'" if need.topic else "")
        if need.exclude_assets:
            more = " …" if len(need.exclude_assets) > 4 else ""
            head += f"  (not: {', '.join(need.exclude_assets[:4])}{more})"
    console.print(
        Panel(
            head,
            title=f"{decision.lead_id} · {who}",
            subtitle=f"as of {decision.at:%Y-%m-%d %H:%M} UTC",
        )
    )
    reasons = Table("rule", "why", title="reasons", title_justify="left")
    for reason in decision.reasons:
        reasons.add_row(reason.rule, reason.text)
    console.print(reasons)
    top = sorted(s.contributions or (), key=lambda c: c.value, reverse=True)[:10]
    if top:
        table = Table(
            "event",
            "signal",
            "points",
            "decay",
            "value",
            title="top behaviour contributions",
            title_justify="left",
        )
        for c in top:
            table.add_row(c.event_id, c.type, f"{c.points:g}", f"{c.decay:.2f}", f"{c.value:.1f}")
        console.print(table)
