"""`nurture experiments`: each A/B experiment of the playbook in force, its numbers per variant
and the stop rule's verdict."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from cli.common import console, open_database, playbook, print_json


def experiments(
    playbook_file: Annotated[
        Path | None,
        typer.Option(
            "--playbook", help="Read the experiments from this file, not the one in force."
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="What GET /v1/experiments returns.")
    ] = False,
) -> None:
    """Sends and reply, click and unsubscribe rates per variant (per lead, after its first send),
    the test used with its p-value, and the verdict: running, winner <variant>, or no difference.
    A winner becomes the default by editing the playbook."""
    from agent.experiments.results import experiment_results

    db = open_database()
    results = experiment_results(db, playbook(playbook_file, db))
    if as_json:
        print_json({"experiments": [r.as_dict() for r in results]})
        return
    if not results:
        console.print("No experiments in the playbook (see `experiments:` in the README).")
        return
    for result in results:
        e, v = result.experiment, result.verdict
        stages = ", ".join(e.stages) if e.stages else "every stage"
        title = f"{e.id}: {e.element} ({stages})"
        table = Table(
            "variant",
            "leads",
            "sends",
            "reply",
            "click",
            "unsubscribe",
            title=title,
            title_justify="left",
        )
        for variant in result.variants:
            table.add_row(
                variant.variant,
                str(variant.leads),
                str(variant.sends),
                *(
                    _rate(variant.outcomes[o], variant.leads)
                    for o in ("reply", "click", "unsubscribe")
                ),
            )
        console.print(table)
        p_value = f", {v.test} p = {v.p_value:.4g}" if v.p_value is not None else ""
        rule = e.stop
        console.print(
            f"verdict: {v.describe()} on {rule.metric} rate{p_value} "
            f"(first {rule.min_sends_per_variant} leads per variant, alpha {rule.alpha})\n"
        )


def _rate(count: int, leads: int) -> str:
    return f"{count} ({count / leads:.1%})" if leads else "0"
