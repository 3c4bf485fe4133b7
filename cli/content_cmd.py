"""`nurture index` and `nurture content ...`: the content library, for people."""

from __future__ import annotations

from typing import Annotated, get_args

import typer
from rich.progress import Progress
from rich.table import Table

from agent.content.assets import Library, load_library
from agent.content.index import open_collection, sync_index
from agent.playbook.models import ContentKind, Stage
from agent.settings import Settings
from agent.tools.content import ContentNeed, LeadContext, retrieve
from cli.common import console, err_console, playbook, settings

app = typer.Typer(help="Search and list the content library.", no_args_is_help=True)


def load_checked_library(config: Settings) -> Library:
    library = load_library(config.content_dir)
    for problem in library.problems:
        err_console.print(f"[yellow]skipped[/] {problem}", highlight=False)
    return library


def index() -> None:
    """Index the content library: only new or changed assets are embedded."""
    config = settings()
    library = load_checked_library(config)
    collection = open_collection(config)
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("indexing", total=len(library.assets))
        report = sync_index(collection, library.assets, lambda n: progress.advance(task, n))
    console.print(
        f"{len(library.assets)} assets: {len(report.added)} added, {len(report.updated)} updated, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged; "
        f"{report.chunks_embedded} chunks embedded"
        + (f"; {len(library.problems)} skipped (see above)" if library.problems else ""),
        highlight=False,
    )
    for label, ids in (
        ("added", report.added),
        ("updated", report.updated),
        ("removed", report.removed),
    ):
        if 0 < len(ids) <= 10:  # a first index adds everything: counts say enough then
            console.print(f"  {label}: {', '.join(ids)}", highlight=False)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="What the content should be about.")],
    stage: Annotated[Stage, typer.Option(help="The lead's funnel stage.")] = "awareness",
    kind: Annotated[
        list[str] | None,
        typer.Option(help="Asset kind (repeatable); default: the stage's kinds in the playbook."),
    ] = None,
    industry: Annotated[str | None, typer.Option(help="The lead's industry.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=20)] = 5,
) -> None:
    """Find stage-fit assets, as the agent would, with why each was chosen."""
    config = settings()
    rules = playbook()
    kinds = list(kind) if kind else list(rules.content.stage_kinds[stage])
    unknown = [k for k in kinds if k not in get_args(ContentKind)]
    if unknown:
        raise typer.BadParameter(
            f"unknown kind {unknown[0]!r} (kinds: {', '.join(get_args(ContentKind))})",
            param_hint="--kind",
        )
    need = ContentNeed(stage=stage, kinds=kinds, topic=query)  # type: ignore[arg-type]
    result = retrieve(open_collection(config), need, LeadContext(industry=industry), rules, k=limit)
    if result.note:
        console.print(f"[yellow]{result.note}[/]", highlight=False)
    table = Table("asset", "kind", "stages", "score", "why")
    for pick in result.picks:
        table.add_row(
            f"{pick.asset_id}\n{pick.title}",
            pick.kind,
            ", ".join(pick.stages),
            f"{pick.score:.2f}",
            "; ".join(pick.why),
        )
    console.print(table)


@app.command("list")
def list_assets() -> None:
    """Every asset in the library, with its kind, stages and topics."""
    library = load_checked_library(settings())
    table = Table("id", "kind", "stages", "topics", "title")
    for asset in library.assets:
        m = asset.meta
        table.add_row(m.id, m.kind, ", ".join(m.stages), ", ".join(m.topics), m.title)
    console.print(table)
    console.print(f"{len(library.assets)} assets", highlight=False)
