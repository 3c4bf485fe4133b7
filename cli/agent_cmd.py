"""`nurture draft|inbox|review|approve|respond|discard|run|recover`: the agent, for marketers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, cast

import typer
from rich.markdown import Markdown
from rich.panel import Panel
from rich.progress import Progress
from rich.table import Table

from agent.checkpoints import open_checkpointer
from agent.context import build_context
from agent.errors import NurtureError
from agent.jobs.drafts import accept_draft, recover_run, run_draft
from agent.jobs.due import RUN_ACTIONS, due_leads
from agent.jobs.workers import worker_id
from agent.nodes.review import describe
from agent.runner import NurtureAgent, RunResult
from agent.staleness import stale_reasons
from agent.state import AgentState
from agent.store.approvals import GuardrailsNotOverridden, get_approval, pending
from agent.store.scheduled_sends import scheduled_leads
from agent.store.schema import ApprovalRow
from agent.store.sends import get_send
from cli.common import ByOption, console, err_console, nurture_command, print_json, settings
from cli.common import who as _who
from cli.exit_codes import NOT_DONE, exit_code, worst


@contextmanager
def agent_session() -> Iterator[NurtureAgent]:
    config = settings()
    ctx = build_context(config)
    with open_checkpointer(config) as checkpointer:
        yield NurtureAgent(ctx, checkpointer)


def draft(lead_id: Annotated[str, typer.Argument(help="The lead's id.")]) -> None:
    """Decide for one lead and, if it should hear from us, draft an email for review."""
    with agent_session() as agent:
        # queued in the store like the API's runs: the same one-draft-per-lead rule refuses it
        thread_id = accept_draft(agent, lead_id)
        result = run_draft(agent, thread_id, worker=worker_id())
        if result is None:  # a service took it from the queue first
            raise NurtureError(f"run '{thread_id}' was taken by another process")
        _finish(agent, "draft", result)


ROOM_BESIDE_IDS = 60
"""Columns the inbox table needs beside the ids and rules to stay readable (stage, subject,
drafter, guardrails, borders); a narrower terminal gets one block per draft."""
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (the API's shape).")]


def inbox(
    lead: Annotated[str | None, typer.Option(help="Only this lead's drafts.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Drafts waiting for approval."""
    with agent_session() as agent:
        rows = pending(agent.ctx.db, lead_id=lead)
        if as_json:
            print_json([_approval_json(agent, row) for row in rows])
            return
    if not rows:
        console.print("The inbox is empty.")
        return
    if console.width >= sum(_id_widths(rows)) + ROOM_BESIDE_IDS:
        console.print(_inbox_table(rows))
    else:  # a table would squeeze the other columns to nothing: one block per draft instead
        console.print(f"[bold]{len(rows)} drafts waiting[/]")
        for row in rows:
            # soft_wrap: never folded by rich, so the id stays one copyable string
            console.print(f"\n[bold]{row.id}[/]", soft_wrap=True, highlight=False)
            console.print(
                f"  to {row.lead_id} · {row.decision['stage']} · "
                f"{row.decision['reasons'][0]['rule']} · {row.drafter} · "
                f"guardrails {_guardrails(row)}\n  {row.subject}",
                highlight=False,
            )
    console.print(
        "Read one: [bold]nurture review ID[/] · decide: [bold]nurture approve ID[/], "
        '[bold]nurture respond ID "…"[/], [bold]nurture discard ID[/]'
    )


def _inbox_table(rows: list[ApprovalRow]) -> Table:
    table = Table(title=f"{len(rows)} drafts waiting", title_justify="left")
    # Ids (and the rule, which names a playbook entry) are what people copy or look up: never
    # cut, the other columns give way.
    approval, lead, rule = _id_widths(rows)
    table.add_column("approval", no_wrap=True, min_width=approval)
    table.add_column("lead", no_wrap=True, min_width=lead)
    table.add_column("stage")
    table.add_column("why now", no_wrap=True, min_width=rule)
    for name in ("subject", "drafter", "guardrails"):
        table.add_column(name)
    for row in rows:
        table.add_row(
            row.id,
            row.lead_id,
            row.decision["stage"],
            row.decision["reasons"][0]["rule"],
            row.subject,
            row.drafter,
            _guardrails(row),
        )
    return table


def _id_widths(rows: list[ApprovalRow]) -> tuple[int, int, int]:
    return (
        max(len(r.id) for r in rows),
        max(len(r.lead_id) for r in rows),
        max(len(r.decision["reasons"][0]["rule"]) for r in rows),
    )


def _guardrails(row: ApprovalRow) -> str:
    return f"[red]⚠ {len(row.violations)} failed[/]" if row.violations else "[green]ok[/]"


def review(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")],
    as_json: JsonOption = False,
) -> None:
    """Show a draft in full, with why it was written."""
    with agent_session() as agent:
        row = get_approval(agent.ctx.db, approval_id)
        snapshot = agent.graph.get_state({"configurable": {"thread_id": row.thread_id}})
        values = cast(AgentState, snapshot.values)  # LangGraph types a thread's values as a dict
        explanation = describe(values) if values.get("draft") else None
        if as_json:
            print_json({**_approval_json(agent, row), "explanation": explanation})
            return
    console.print(
        Panel(
            f"[bold]{row.subject}[/]\n\n{row.body}",
            title=f"{row.id} · to {row.lead_id} · {row.status}",
            subtitle=f"{row.drafter} · {row.prompt_version}",
        )
    )
    for note in row.notes or []:
        console.print(f"Note: {note}", highlight=False, soft_wrap=True)
    console.print(Markdown(explanation) if explanation else "")


def approve(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")],
    edit: Annotated[
        Path | None,
        typer.Option(help="A file: 'Subject: …' on the first line, a blank line, then the body."),
    ] = None,
    by: ByOption = None,
    override_guardrails: Annotated[
        bool,
        typer.Option(
            "--override-guardrails",
            help="Send a draft whose guardrails failed unchanged (recorded with your name).",
        ),
    ] = False,
) -> None:
    """Approve a draft (optionally edited); it is re-checked and sent."""
    subject, body = _read_edit(edit) if edit else (None, None)
    with agent_session() as agent:
        try:
            result = agent.answer(
                approval_id,
                "edit" if edit else "accept",
                by=_who(by),
                subject=subject,
                body=body,
                override_guardrails=override_guardrails,
            )
        except GuardrailsNotOverridden as exc:
            raise NurtureError(f"{exc} with --override-guardrails") from exc
        _finish(agent, "approve", result)


def respond(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")],
    feedback: Annotated[str, typer.Argument(help="What to change; a new draft is written.")],
    by: ByOption = None,
) -> None:
    """Ask for changes: the feedback goes to the drafter and a new draft waits for review."""
    if not feedback.strip():
        raise typer.BadParameter("feedback is empty", param_hint="FEEDBACK")
    with agent_session() as agent:
        _finish(
            agent, "respond", agent.answer(approval_id, "respond", by=_who(by), feedback=feedback)
        )


def discard(
    approval_id: Annotated[str, typer.Argument(help="The approval id.")], by: ByOption = None
) -> None:
    """Discard a draft: nothing is sent."""
    with agent_session() as agent:
        _finish(agent, "discard", agent.answer(approval_id, "ignore", by=_who(by)))


def recover(thread_id: Annotated[str, typer.Argument(help="The run's thread id.")]) -> None:
    """Finish a run an interrupted process left open (a send is never repeated), or say why
    there is nothing to finish."""
    with agent_session() as agent:
        _finish(agent, "recover", recover_run(agent, thread_id, worker=worker_id()))


def run(
    limit: Annotated[int | None, typer.Option(min=1, help="At most this many leads.")] = None,
    concurrency: Annotated[
        int | None,
        typer.Option(min=1, max=64, help="Drafts at once (default NURTURE_DRAFT_CONCURRENCY)."),
    ] = None,
) -> None:
    """Draft for every lead whose next action is send_email or re_engage, and hand the leads
    whose next action is handoff_to_sales to sales."""
    with agent_session() as agent:
        results = run_all(agent, limit=limit, concurrency=concurrency)
    summarize(results)
    code = worst(
        exit_code("run", r.outcome) if isinstance(r, RunResult) else NOT_DONE for r in results
    )
    if code:
        raise typer.Exit(code)


def run_all(
    agent: NurtureAgent, *, limit: int | None = None, concurrency: int | None = None
) -> list[RunResult | Exception]:
    ctx = agent.ctx
    now = ctx.clock()
    waiting = {row.lead_id for row in pending(ctx.db, limit=1_000_000)}
    # one draft per lead in the inbox at a time; a send waiting for its window is one too
    waiting |= scheduled_leads(ctx.db)
    due = due_leads(ctx.db, ctx.playbook, now=now, limit=limit, skip=waiting, actions=RUN_ACTIONS)
    workers = concurrency or ctx.settings.draft_concurrency
    results: list[RunResult | Exception] = []
    me = worker_id()

    def one(lead_id: str) -> RunResult:
        result = run_draft(agent, accept_draft(agent, lead_id), worker=me)
        if result is None:
            raise NurtureError(f"{lead_id}: its run was taken by another process")
        return result

    with (
        Progress(console=console, transient=True) as progress,
        ThreadPoolExecutor(max_workers=workers) as pool,
    ):
        task = progress.add_task(f"drafting for {len(due)} leads", total=len(due))
        futures = [pool.submit(one, lead_id) for lead_id in due]
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


def _finish(agent: NurtureAgent, command: str, result: RunResult) -> None:
    """Shows where the run ended; exits non-zero unless that is what `command` asked for."""
    _show_result(agent, result)
    _what_now(agent, result)
    code = exit_code(command, result.outcome)
    if code:
        raise typer.Exit(code)


def _what_now(agent: NurtureAgent, result: RunResult) -> None:
    """After a send that did not go through (or waits), the command that takes it from there."""
    if result.outcome not in ("send_failed", "needs_check", "scheduled"):
        return
    state = agent.graph.get_state({"configurable": {"thread_id": result.thread_id}}).values
    approval_id = state.get("approval_id", "ID")
    if result.outcome == "scheduled":
        hint = (
            "it waits for the playbook's send window; a running nurture serve (or nurture worker "
            "on PostgreSQL) sends it then, with the send-time checks. To stop it: nurture sends "
            f"cancel {approval_id}"
        )
    elif result.outcome == "send_failed":
        hint = f"nothing went out, so sending again is safe: nurture resend {approval_id}"
    else:
        hint = (
            "it may have gone out: look for its Message-ID in the mail server's log, then "
            f"nurture sends resolve {approval_id} --delivered (it went out) or --send-again"
        )
    err_console.print(hint, highlight=False, soft_wrap=True)


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
        nurture = nurture_command()
        approve = (
            f"Edit: [bold]{nurture} approve {row.id} --edit FILE[/] · send unchanged anyway: "
            f"[bold]{nurture} approve {row.id} --override-guardrails[/]"
            if row.violations  # a plain approve is refused for a flagged draft
            else f"Approve: [bold]{nurture} approve {row.id}[/]"
        )
        console.print(
            f"{approve} · changes: "
            f'[bold]{nurture} respond {row.id} "…"[/] · [bold]{nurture} discard {row.id}[/]',
            highlight=False,
        )


def _approval_json(agent: NurtureAgent, row: ApprovalRow) -> dict[str, Any]:
    """An approval as `GET /v1/approvals/{id}` shows it."""
    from api.convert import approval_out

    ctx = agent.ctx
    stale = stale_reasons(ctx.db, ctx.playbook, ctx.assets, [row], ctx.clock()).get(row.id)
    send = get_send(ctx.db, row.id)
    return approval_out(row, send, stale_reason=stale).model_dump(mode="json")


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
