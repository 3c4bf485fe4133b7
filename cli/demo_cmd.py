"""`nurture demo`: seeds realistic demo leads and shows what the agent would do for each."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from agent.decisions import Decision, decide
from agent.store.api_keys import create_key, rep_keys
from agent.store.approvals import pending
from agent.store.database import Database
from agent.store.handoffs import list_handoffs
from agent.store.ingest import ingest_events
from agent.store.leads import upsert_leads
from agent.store.scores import rescore_all
from agent.tools.timeline import load_signals
from cli.common import console, nurture_command, open_database, playbook
from cli.serve_cmd import HostOption, PortOption, run_server


def demo(
    leads: Annotated[int, typer.Option(min=1, max=5000, help="How many demo leads.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same leads.")] = 7,
    serve: Annotated[
        bool, typer.Option(help="Serve the inbox afterwards (--no-serve stops at the drafts).")
    ] = True,
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
) -> None:
    """Seed demo leads, draft for every lead that should hear from us, and serve the inbox
    where the drafts wait for approval."""
    from agent.demo.generator import generate  # only this command needs them
    from agent.demo.history import replay_history

    db = open_database()
    rules = playbook(db=db)
    now = datetime.now(UTC)
    lead_rows, event_rows = generate(seed=seed, now=now, count=leads)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("seeding demo leads", total=len(lead_rows) + len(event_rows))
        upsert_leads(db, lead_rows, rules)
        progress.advance(task, len(lead_rows))
        report = ingest_events(db, event_rows, rules, now=now)
        progress.advance(task, len(event_rows))
        decide_task = progress.add_task("deciding", total=len(lead_rows))
        decisions = []
        for row in lead_rows:
            lead, timeline = load_signals(db, row["id"], until=now, playbook=rules)
            decisions.append(decide(lead, timeline, rules, now, explain=False))
            progress.advance(decide_task)
        progress.add_task("replaying the decision history", total=None)
        replay_history(db, rules, [row["id"] for row in lead_rows], now)
    rescore_all(db, rules, now)
    console.print(
        f"{len(lead_rows)} demo leads; {report.count('stored')} events stored, "
        f"{report.count('duplicate')} already there ({db.dialect} at "
        f"{db.engine.url.render_as_string(hide_password=True)})",
        highlight=False,
    )
    _summary(decisions)
    nurture = nurture_command()
    rep_key = _demo_reps(db)  # before drafting: the hand-offs it makes are assigned to them
    _draft_for_due_leads(
        "in the browser (below)" if serve else f"in the browser ({nurture} serve, then /inbox)"
    )
    if serve:
        key = create_key(db, name="demo-marketer", role="marketer", at=datetime.now(UTC))
        console.print(
            f"\n[bold]Open http://{host}:{port}/inbox[/] and sign in with this demo marketer "
            f"key:\n  {key}\n(API docs at http://{host}:{port}/docs; the same key works as "
            f"a bearer token. More keys: {nurture} keys create.)"
            + (f"\nA demo rep ({DEMO_REPS[0][1]}) signs in with:\n  {rep_key}" if rep_key else ""),
            highlight=False,
            soft_wrap=True,
        )
        run_server(host, port)


DEMO_REPS = (
    ("demo-rep-riley", "riley@routewise.example"),
    ("demo-rep-sam", "sam@routewise.example"),
)
"""Reps the demo's hand-offs go to, in turn (created once: a second demo reuses them)."""


def _demo_reps(db: Database) -> str | None:
    """Creates the demo reps unless reps with addresses exist; the first one's key, if made."""
    if rep_keys(db):
        return None
    keys = [
        create_key(db, name=name, role="rep", at=datetime.now(UTC), email=email)
        for name, email in DEMO_REPS
    ]
    return keys[0]


def _draft_for_due_leads(where: str) -> None:
    """The agent's part of the demo, as `nurture run` does it: index the content, draft for
    every lead that should hear from us and leave the drafts waiting for a human, and hand the
    hot leads to sales (the assigned reps are told by email), where they wait on the Hand-offs
    tab."""
    from cli.agent_cmd import agent_session, run_all, summarize
    from cli.content_cmd import index

    index()
    with agent_session() as agent:
        results = run_all(agent)
        waiting = pending(agent.ctx.db, limit=1_000_000)
    summarize(results)
    sales = list_handoffs(agent.ctx.db, state="new") + list_handoffs(
        agent.ctx.db, state="delivered"
    )
    nurture = nurture_command()
    console.print(
        f"[bold]{len(waiting)} drafts are waiting for approval.[/] Review them with "
        f"the inbox {where}, or [bold]{nurture} inbox[/] and "
        f"[bold]{nurture} review ID[/]; nothing is sent until someone approves.",
        highlight=False,
    )
    console.print(
        f"[bold]{len(sales)} hand-offs wait for sales[/] on the inbox's Hand-offs tab "
        f"(/inbox/handoffs) and in [bold]{nurture} handoffs[/]; their reps were emailed "
        "(without SMTP settings: to .nurture/outbox/).",
        highlight=False,
    )


def _summary(decisions: list[Decision]) -> None:
    by_action = Counter(d.action for d in decisions)
    by_stage = Counter(d.stage for d in decisions)
    table = Table("next action", "leads", title="what the playbook decides", title_justify="left")
    for action, n in by_action.most_common():
        table.add_row(action, str(n))
    console.print(table)
    stages = Table("stage", "leads")
    for stage in ("awareness", "interest", "consideration", "decision"):
        stages.add_row(stage, str(by_stage.get(stage, 0)))
    console.print(stages)
    examples = Table("lead", "action", "why", title="examples", title_justify="left")
    seen: set[str] = set()
    for d in decisions:
        if d.reasons[0].rule not in seen:
            seen.add(d.reasons[0].rule)
            examples.add_row(d.lead_id, d.action, f"{d.reasons[0].rule}: {d.reasons[0].text}")
    console.print(examples)
    first = next((d.lead_id for d in decisions if d.action == "send_email"), decisions[0].lead_id)
    nurture = nurture_command()  # pasteable into a new shell, where the venv is not active
    console.print(
        f"Try: [bold]{nurture} next {first}[/]  ·  [bold]{nurture} scores[/]",
        highlight=False,
        soft_wrap=True,
    )
