"""`nurture draft|inbox|review|approve|respond|discard|run|recover`: the agent, for marketers."""

from __future__ import annotations

import getpass
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, cast

import typer
from rich.markdown import Markdown
from rich.panel import Panel
from rich.progress import Progress
from rich.table import Table

from agent.checkpoints import open_checkpointer
from agent.cli.common import console, err_console, settings
from agent.context import build_context
from agent.decisions import decide
from agent.errors import NurtureError
from agent.nodes.review import describe
from agent.runner import NurtureAgent, RunResult
from agent.state import AgentState
from agent.store.approvals import get_approval, pending
from agent.store.leads import all_lead_ids
from agent.tools.timeline import load_timeline

ByOption = Annotated[str | None, typer.Option("--by", help="Who decides (default: your user).")]


@contextmanager
def agent_session() -> Iterator[NurtureAgent]:
    config = settings()
    ctx = build_context(config)
    with open_checkpointer(config) as checkpointer:
        yield NurtureAgent(ctx, checkpointer)


def draft(lead_id: Annotated[str, typer.Argument(help="The lead's id.")]) -> None:
    """Decide for one lead and, if it should hear from us, draft an email for review."""
    with agent_session() as agent:
        result = agent.start(lead_id)
        _show_result(agent, result)


def inbox(
    lead: Annotated[str | None, typer.Option(help="Only this lead's drafts.")] = None,
) -> None:
    """Drafts waiting for approval."""
    with agent_session() as agent:
        rows = pending(agent.ctx.db, lead_id=lead)
    if not rows:
        console.print("The inbox is empty.")
        return
    table = Table(
        "approval",
        "lead",
        "stage",
        "why now",
        "subject",
        "drafter",
        "guardrails",
        title=f"{len(rows)} drafts waiting",
        title_justify="left",
    )
    for row in rows:
        flagged = f"[red]⚠ {len(row.violations)} failed[/]" if row.violations else "[green]ok[/]"
        table.add_row(
            row.id,
            row.lead_id,
            row.decision["stage"],
            row.decision["reasons"][0]["rule"],
            row.subject,
            row.drafter,
            flagged,
        )
    console.print(table)
    console.print(
        "Read one: [bold]nurture review ID[/] · decide: [bold]nurture approve ID[/], "
        '[bold]nurture respond ID "…"[/], [bold]nurture discard ID[/]'
    )


def review(approval_id: Annotated[str, typer.Argument(help="The approval id.")]) -> None:
    """Show a draft in full, with why it was written."""
    with agent_session() as agent:
        row = get_approval(agent.ctx.db, approval_id)
        snapshot = agent.graph.get_state({"configurable": {"thread_id": row.thread_id}})
    console.print(
        Panel(
            f"[bold]{row.subject}[/]\n\n{row.body}",
            title=f"{row.id} · to {row.lead_id} · {row.status}",
            subtitle=f"{row.drafter} · {row.prompt_version}",
        )
    )
    values = cast(AgentState, snapshot.values)  # LangGraph types a thread's values as a dict
    console.print(Markdown(describe(values)) if values.get("draft") else "")


def approve(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")],
    edit: Annotated[
        Path | None,
        typer.Option(help="A file: 'Subject: …' on the first line, a blank line, then the body."),
    ] = None,
    by: ByOption = None,
) -> None:
    """Approve a draft (optionally edited); it is re-checked and sent."""
    subject, body = _read_edit(edit) if edit else (None, None)
    with agent_session() as agent:
        result = agent.answer(
            approval_id, "edit" if edit else "accept", by=_who(by), subject=subject, body=body
        )
        _show_result(agent, result)


def respond(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")],
    feedback: Annotated[str, typer.Argument(help="What to change; a new draft is written.")],
    by: ByOption = None,
) -> None:
    """Ask for changes: the feedback goes to the drafter and a new draft waits for review."""
    if not feedback.strip():
        raise typer.BadParameter("feedback is empty", param_hint="FEEDBACK")
    with agent_session() as agent:
        _show_result(agent, agent.answer(approval_id, "respond", by=_who(by), feedback=feedback))


def discard(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")], by: ByOption = None
) -> None:
    """Discard a draft: nothing is sent."""
    with agent_session() as agent:
        _show_result(agent, agent.answer(approval_id, "ignore", by=_who(by)))


def recover(thread_id: Annotated[str, typer.Argument(help="The run's thread id.")]) -> None:
    """Finish a run an interrupted process left open (a send is never repeated)."""
    with agent_session() as agent:
        _show_result(agent, agent.recover(thread_id))


def run(
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many leads.")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Drafts at once (default NURTURE_DRAFT_CONCURRENCY)."),
    ] = None,
) -> None:
    """Draft for every lead whose next action is send_email or re_engage."""
    with agent_session() as agent:
        results = run_all(agent, limit=limit, concurrency=concurrency)
    summarize(results)


def run_all(
    agent: NurtureAgent, *, limit: int | None = None, concurrency: int | None = None
) -> list[RunResult | Exception]:
    ctx = agent.ctx
    now = ctx.clock()
    waiting = {row.lead_id for row in pending(ctx.db, limit=1_000_000)}
    due = []
    for lead_id in all_lead_ids(ctx.db):
        if lead_id in waiting:  # one draft per lead in the inbox at a time
            continue
        lead, events = load_timeline(ctx.db, lead_id, until=now, playbook=ctx.playbook)
        if decide(lead, events, ctx.playbook, now).action in ("send_email", "re_engage"):
            due.append(lead_id)
    due = due[:limit] if limit else due
    workers = concurrency or ctx.settings.draft_concurrency
    results: list[RunResult | Exception] = []
    with (
        Progress(console=console, transient=True) as progress,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        task = progress.add_task(f"drafting for {len(due)} leads", total=len(due))
        futures = [pool.submit(agent.start, lead_id) for lead_id in due]
        for future in as_completed(futures):
            try:
                results.append(future.result())
            except Exception as exc:  # noqa: BLE001 - one lead's failure must not stop the rest
                results.append(exc)
            progress.advance(task)
    return results


def summarize(results: list[RunResult | Exception]) -> None:
    outcomes = Counter(r.outcome if isinstance(r, RunResult) else "error" for r in results)
    drafters = Counter(r.drafter for r in results if isinstance(r, RunResult) and r.drafter)
    table = Table("outcome", "leads", title=f"{len(results)} leads", title_justify="left")
    for outcome, n in outcomes.most_common():
        table.add_row(outcome, str(n))
    console.print(table)
    for name, n in drafters.items():
        console.print(f"{n} drafts written by the {_drafter_label(name)}", highlight=False)
    for error in [r for r in results if isinstance(r, Exception)][:5]:
        err_console.print(f"[red]error:[/] {error}")


def _show_result(agent: NurtureAgent, result: RunResult) -> None:
    console.print(
        f"{result.lead_id}: [bold]{result.outcome}[/]"
        + (f" — {result.detail}" if result.detail and not result.approval_id else ""),
        highlight=False,
    )
    if result.approval_id:
        row = get_approval(agent.ctx.db, result.approval_id)
        flagged = (
            "\n[red]⚠ guardrails failed:[/] " + "; ".join(v["message"] for v in row.violations)
            if row.violations
            else ""
        )
        console.print(
            Panel(
                f"[bold]{row.subject}[/]\n\n{row.body}{flagged}",
                title=f"draft {row.id} · waiting for approval",
                subtitle=f"written by the {_drafter_label(row.drafter)} ({row.prompt_version})",
            )
        )
        console.print(
            f"Approve: [bold]nurture approve {row.id}[/] · changes: "
            f'[bold]nurture respond {row.id} "…"[/] · [bold]nurture discard {row.id}[/]'
        )


def _drafter_label(name: str) -> str:
    return "offline template drafter" if name == "template" else f"LLM drafter ({name})"


def _read_edit(path: Path) -> tuple[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise NurtureError(f"cannot read {path}: {exc.strerror}") from exc
    first, _, rest = text.partition("\n")
    if not first.lower().startswith("subject:"):
        raise NurtureError(f"{path}: the first line must be 'Subject: …'")
    body = rest.lstrip("\n")
    if not body.strip():
        raise NurtureError(f"{path}: the body after the subject line is empty")
    return first.split(":", 1)[1].strip(), body


def _who(by: str | None) -> str:
    if by:
        return by
    try:
        return os.environ.get("USER") or getpass.getuser()
    except OSError:
        return "cli"
