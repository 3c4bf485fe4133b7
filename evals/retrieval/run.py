"""Retrieval eval: recall@3 against labelled cases, and stage violations (which must be 0).

    python -m evals.retrieval.run [--cases FILE] [--min-recall 0.8]

Indexes the shipped content library into a throw-away local Chroma, runs every case through the
agent's retrieval tool, prints a table per case and the totals, and exits 1 when a target is
missed (so CI can gate on it)."""

from __future__ import annotations

import argparse
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml
from chromadb.api.models.Collection import Collection
from pydantic import BaseModel, ConfigDict, Field
from rich.console import Console
from rich.table import Table

from agent.content.assets import load_library
from agent.content.embeddings import WordLlamaEmbedding
from agent.content.index import chroma_client, content_collection, sync_index
from agent.playbook import STAGES, Playbook, load_playbook
from agent.playbook.models import ContentKind, Stage
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK
from agent.tools.content import ContentNeed, LeadContext, allowed_stages, persona_of, retrieve

CASES = Path(__file__).with_name("cases.yaml")
K = 3


class Need(BaseModel):
    model_config = ConfigDict(extra="forbid")
    stage: Stage
    kinds: list[ContentKind] | None = None
    topic: str | None = None
    exclude_assets: list[str] = Field(default_factory=list)


class LeadIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    industry: str | None = None
    title: str | None = None
    recent_topics: list[str] = Field(default_factory=list)


class Case(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    situation: str
    need: Need
    lead: LeadIn
    expected: list[str] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    picked: list[str]
    recall: float
    violations: list[str]


@dataclass(frozen=True, slots=True)
class EvalResult:
    cases: list[CaseResult]

    @property
    def recall_at_3(self) -> float:
        return sum(c.recall for c in self.cases) / len(self.cases)

    @property
    def stage_violations(self) -> int:
        return sum(len(c.violations) for c in self.cases)


def load_cases(path: Path = CASES) -> list[Case]:
    return [Case.model_validate(item) for item in yaml.safe_load(path.read_text())["cases"]]


def run_eval(cases: list[Case], playbook: Playbook, collection: Collection) -> EvalResult:
    results = []
    for case in cases:
        kinds = case.need.kinds or list(playbook.content.stage_kinds[case.need.stage])
        need = ContentNeed(
            stage=case.need.stage,
            kinds=kinds,
            topic=case.need.topic,
            exclude_assets=case.need.exclude_assets,
        )
        lead = LeadContext(
            industry=case.lead.industry,
            persona=persona_of(case.lead.title),
            recent_topics=case.lead.recent_topics,
        )
        picks = retrieve(collection, need, lead, playbook, k=K).picks
        allowed = set(allowed_stages(case.need.stage, kinds, playbook))
        reach = set(STAGES[: STAGES.index(case.need.stage) + 2])
        violations = [
            p.asset_id
            for p in picks
            if not (set(p.stages) & allowed) or not (set(p.stages) & reach)
        ]
        picked = [p.asset_id for p in picks]
        hits = len(set(picked) & set(case.expected))
        results.append(CaseResult(case, picked, hits / min(K, len(case.expected)), violations))
    return EvalResult(results)


def index_library(folder: Path, chroma_path: Path) -> Collection:
    library = load_library(folder)
    if library.problems:
        raise SystemExit("content library problems:\n" + "\n".join(map(str, library.problems)))
    collection = content_collection(chroma_client(url=None, path=chroma_path), WordLlamaEmbedding())
    sync_index(collection, library.assets)
    return collection


def report(result: EvalResult, console: Console) -> None:
    table = Table("case", "recall@3", "top 3 (✓ = labelled)", "stage violations")
    for c in result.cases:
        marks = [f"{'✓' if a in c.case.expected else '·'} {a}" for a in c.picked]
        table.add_row(
            c.case.id,
            f"{c.recall:.2f}",
            "\n".join(marks) or "(nothing)",
            ", ".join(c.violations) or "0",
        )
    console.print(table)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=Path, default=CASES)
    parser.add_argument("--content", type=Path, default=DEFAULT_CONTENT)
    parser.add_argument("--min-recall", type=float, default=0.8)
    args = parser.parse_args(argv)
    console = Console()
    with tempfile.TemporaryDirectory() as tmp:
        collection = index_library(args.content, Path(tmp))
        result = run_eval(load_cases(args.cases), load_playbook(DEFAULT_PLAYBOOK), collection)
    report(result, console)
    met = result.recall_at_3 >= args.min_recall and result.stage_violations == 0
    console.print(
        f"{len(result.cases)} cases · recall@3 {result.recall_at_3:.3f} "
        f"(target ≥ {args.min_recall}) · stage violations {result.stage_violations} "
        f"(target 0) · {'[green]met[/]' if met else '[red]missed[/]'}"
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
