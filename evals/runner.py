"""Runs a suite through the real agent and saves the run.

    run = run_suite(load_suite("core"), settings, drafter=drafter_for(settings, "template"))
    folder = save_run(run, settings.data_dir / "evals")

A saved run is a folder `<suite>-<UTC time>-<short id>/` with `cases.jsonl` (one CaseRecord a
line) and `summary.json` (see evals.summary)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from agent.context import Drafter
from agent.errors import NurtureError
from agent.playbook import load_playbook
from agent.settings import Settings
from evals.judge import Judge
from evals.records import CaseRecord, record_case
from evals.run_checks import apply_run_checks
from evals.suites import CORE, Suite, load_suite, playbook_problems
from evals.summary import summarise
from evals.world import EvalWorld, open_index, scratch_dir

DrafterKind = Literal["template", "llm"]
Progress = Callable[[CaseRecord], None]


@dataclass(frozen=True)
class EvalRun:
    summary: dict[str, Any]
    records: list[CaseRecord]


def suite_path(name_or_path: str) -> Path:
    """'core' names a suite shipped in evals/suites/; anything else is a file path."""
    path = Path(name_or_path)
    if path.suffix in (".yaml", ".yml") or path.exists():
        return path
    return CORE.parent / f"{name_or_path}.yaml"


def find_suite(name_or_path: str) -> Suite:
    path = suite_path(name_or_path)
    if not path.exists():
        shipped = ", ".join(sorted(p.stem for p in CORE.parent.glob("*.yaml")))
        raise NurtureError(f"no suite '{name_or_path}' (shipped: {shipped}; or give a file)")
    return load_suite(path)


def drafter_for(settings: Settings, kind: DrafterKind, model: str | None = None) -> Drafter:
    """The offline template drafter, or the LLM drafter on the configured endpoint."""
    if kind == "template":
        if model:
            raise NurtureError("--model only applies to --drafter llm")
        from agent.drafting.template import template_drafter

        return template_drafter(settings)
    if kind != "llm":
        raise NurtureError(f"unknown drafter '{kind}' (template or llm)")
    if not settings.llm_base_url:
        raise NurtureError(
            "--drafter llm needs an endpoint: set NURTURE_LLM_BASE_URL "
            "(and NURTURE_LLM_MODEL, NURTURE_LLM_API_KEY)"
        )
    from agent.drafting.llm import LLMDrafter

    return LLMDrafter.from_settings(settings, **({"model": model} if model else {}))


def drafter_label(drafter: Drafter) -> str:
    return str(getattr(drafter, "name", type(drafter).__name__))


def prompt_version_of(drafter: Drafter) -> str:
    # TemplateDrafter says `version`, LLMDrafter `prompt_version`
    for attr in ("prompt_version", "version"):
        value = getattr(drafter, attr, None)
        if isinstance(value, str):
            return value
    return "unknown"


def run_suite(
    suite: Suite,
    settings: Settings,
    *,
    drafter: Drafter,
    collection: Any = None,
    progress: Progress | None = None,
    judge: Judge | None = None,
) -> EvalRun:
    """Every case through the agent, judged by every check. `collection` lets a caller that
    runs many suites (tests) index the content library once."""
    playbook = load_playbook(settings.playbook)
    problems = playbook_problems(suite, playbook)
    if problems:
        raise NurtureError(
            f"suite '{suite.name}' does not fit playbook {playbook.version}:\n"
            + "\n".join(problems)
        )
    started = datetime.now(UTC)
    records: list[CaseRecord] = []
    with scratch_dir() as work:
        if collection is None:
            collection = open_index(settings, settings.data_dir / "eval-index")
        world = EvalWorld(settings, playbook, collection, drafter, work)
        customers = frozenset(world.agent.ctx.customers)
        for case in suite.cases:
            run = world.run_case(case, suite.now)
            try:
                record = record_case(case, suite, run, playbook, customers, judge)
            finally:
                run.db.dispose()
            records.append(record)
            if progress:
                progress(record)
    apply_run_checks(records)  # repeats across the run are known only now
    label = drafter_label(drafter)
    summary = summarise(
        records,
        suite=suite,
        run_id=uuid.uuid4().hex[:8],
        drafter=label,
        prompt_version=_prompt_version(records, drafter),
        playbook_version=playbook.version,
        prices=settings.llm_prices,
        started_at=started,
        finished_at=datetime.now(UTC),
    )
    return EvalRun(summary, records)


def _prompt_version(records: list[CaseRecord], drafter: Drafter) -> str:
    seen = sorted({r.prompt_version for r in records if r.prompt_version})
    return ", ".join(seen) if seen else prompt_version_of(drafter)


def save_run(run: EvalRun, parent: Path) -> Path:
    """Writes the run into a new folder under `parent` and returns it."""
    stamp = datetime.fromisoformat(run.summary["started_at"]).strftime("%Y%m%dT%H%M%SZ")
    folder = parent / f"{run.summary['suite']}-{stamp}-{run.summary['run_id']}"
    folder.mkdir(parents=True, exist_ok=False)
    with (folder / "cases.jsonl").open("w", encoding="utf-8") as out:
        for record in run.records:
            out.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
    write_summary(run.summary, folder / "summary.json")
    return folder


def write_summary(summary: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def load_run(folder: Path | str) -> EvalRun:
    """A saved run folder, or a summary.json inside one."""
    from evals.summary import load_summary

    folder = Path(folder)
    if folder.is_file():
        folder = folder.parent
    summary = load_summary(folder)
    cases = folder / "cases.jsonl"
    if not cases.exists():
        raise NurtureError(f"{folder} has no cases.jsonl: a report needs a saved run folder")
    try:
        lines = cases.read_text(encoding="utf-8").splitlines()
        records = [CaseRecord.from_json(json.loads(line)) for line in lines if line.strip()]
    except (ValueError, TypeError, KeyError) as exc:
        raise NurtureError(f"{cases} is not a valid eval run: {exc}") from None
    return EvalRun(summary, records)


def default_runs_folder(settings: Settings) -> Path:
    return settings.data_dir / "evals"
