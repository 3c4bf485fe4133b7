"""A run's summary: what ran (suite, drafter, prompt and playbook versions), what it cost, how
long it took, and every metric overall and by stage. The summary is what `compare` reads, and
what a committed baseline is, so it also keeps each case's failing checks: a regression can be
named against a baseline without the baseline's cases.jsonl."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
)

from agent.errors import NurtureError
from agent.playbook import STAGES
from evals.records import USAGE_KEYS, CaseRecord
from evals.run_checks import EVERY_CHECK
from evals.suites import Suite

FORMAT = 1
SCORED = ("readability", "personalisation", "subject_length", "body_length")


def metrics(records: Sequence[CaseRecord]) -> dict[str, float | None]:
    """'pass_rate' (cases passing every check that applies) and 'checks.<name>' (passes over
    the cases the check applies to; None when it applied to none)."""
    values: dict[str, float | None] = {"pass_rate": _rate(r.passed for r in records)}
    for name in EVERY_CHECK:
        verdicts = [c.passed for r in records for c in r.checks if c.name == name]
        values[f"checks.{name}"] = _rate(v for v in verdicts if v is not None)
    return values


def _rate(verdicts: Any) -> float | None:
    items = list(verdicts)
    return round(sum(1 for v in items if v) / len(items), 4) if items else None


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (numpy's default), without numpy."""
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    low, high = math.floor(pos), math.ceil(pos)
    return round(ordered[low] + (ordered[high] - ordered[low]) * (pos - low), 2)


def cost(
    drafter: str, tokens: dict[str, int], prices: dict[str, tuple[float, float]]
) -> dict[str, Any]:
    """USD from the token counts and a per-model price (per million tokens), or 'unknown'."""
    if not drafter.startswith("llm:"):
        return {"usd": 0.0, "basis": f"{drafter} drafter: no model calls"}
    model = drafter.removeprefix("llm:")
    if model not in prices:
        return {"usd": None, "basis": f"unknown: no price for {model} in NURTURE_LLM_PRICES"}
    prompt_price, completion_price = prices[model]
    usd = (
        tokens["prompt_tokens"] * prompt_price + tokens["completion_tokens"] * completion_price
    ) / 1_000_000
    return {
        "usd": round(usd, 6),
        "basis": f"{model}: ${prompt_price:g} / ${completion_price:g} per million tokens",
    }


def summarise(
    records: Sequence[CaseRecord],
    *,
    suite: Suite,
    run_id: str,
    drafter: str,
    prompt_version: str,
    playbook_version: str,
    prices: dict[str, tuple[float, float]],
    started_at: datetime,
    finished_at: datetime,
) -> dict[str, Any]:
    tokens = {k: sum(r.tokens.get(k, 0) for r in records) for k in USAGE_KEYS}
    latencies = [r.latency_ms for r in records]
    by_stage = {}
    for stage in STAGES:
        mine = [r for r in records if r.expected["stage"] == stage]
        if mine:
            by_stage[stage] = {"cases": len(mine), **metrics(mine)}
    return {
        "format": FORMAT,
        "run_id": run_id,
        "suite": suite.name,
        "suite_now": suite.now.isoformat(),
        "drafter": drafter,
        "model": drafter.removeprefix("llm:") if drafter.startswith("llm:") else None,
        "prompt_version": prompt_version,
        "playbook_version": playbook_version,
        "started_at": started_at.isoformat(),
        "finished_at": finished_at.isoformat(),
        "cases": len(records),
        "passed": sum(1 for r in records if r.passed),
        "errors": sum(1 for r in records if r.error),
        "outcomes": dict(sorted(Counter(r.outcome for r in records).items())),
        "tokens": tokens,
        "draft_calls": sum(r.draft_calls for r in records),
        "cost": cost(drafter, tokens, prices),
        "latency_ms": {
            "p50": percentile(latencies, 0.5),
            "p95": percentile(latencies, 0.95),
            "max": round(max(latencies), 2) if latencies else None,
        },
        "gates": dict(suite.gates),
        "metrics": metrics(records),
        "scores": _mean_scores(records),
        "edit_distance": _edit_distances(records),
        "judge": _judge_summary(records),
        "by_stage": by_stage,
        "case_results": {
            r.case_id: {
                "stage": r.expected["stage"],
                "passed": r.passed,
                "failed": r.failed(),
                "skipped": r.skipped(),
            }
            for r in records
        },
    }


def _edit_distances(records: Sequence[CaseRecord]) -> dict[str, Any] | None:
    """How far drafts are from what marketers approved (cases with a reference only)."""
    values = [r.edit_distance for r in records if r.edit_distance is not None]
    if not values:
        return None
    return {"cases": len(values), "mean": round(sum(values) / len(values), 4), "max": max(values)}


def _judge_summary(records: Sequence[CaseRecord]) -> dict[str, Any] | None:
    judged = [r.judge for r in records if r.judge is not None]
    if not judged:
        return None
    scored = [j for j in judged if "scores" in j]
    means = {
        name: round(sum(j["scores"][name] for j in scored) / len(scored), 3) if scored else None
        for name in (scored[0]["scores"] if scored else {})
    }
    return {
        "model": judged[0]["model"],
        "prompt_version": scored[0]["prompt_version"] if scored else None,
        "drafts": len(judged),
        "failed": len(judged) - len(scored),
        "cached": sum(1 for j in scored if j["cached"]),
        "tokens": sum(j["tokens"] for j in scored),
        "means": means,
    }


def _mean_scores(records: Sequence[CaseRecord]) -> dict[str, float | None]:
    """Means of the checks' own scores (Flesch ease, share of facts used, lengths): they move
    before a pass rate does, so they show a drift early."""
    means: dict[str, float | None] = {}
    for name in SCORED:
        scores = [
            c.score for r in records for c in r.checks if c.name == name and c.score is not None
        ]
        means[name] = round(sum(scores) / len(scores), 2) if scores else None
    return means


# --- reading a saved summary ---------------------------------------------------------------------
# The shape `compare` and the report rely on, checked when a summary is read so a damaged or
# hand-edited file is refused by name (exit 2), never mistaken for a failed gate (exit 1) by a
# traceback. Strict types: "0.9" is not a rate. Other fields pass through unchecked.

Rate = Annotated[StrictFloat, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Drop = Annotated[StrictFloat, Field(ge=0.0, le=1.0, allow_inf_nan=False)]
Count = Annotated[StrictInt, Field(ge=0)]
Number = Annotated[StrictFloat, Field(allow_inf_nan=False)]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


class CaseResultShape(_Shape):
    failed: list[StrictStr]
    passed: StrictBool | None = None


class StageShape(_Shape):
    __pydantic_extra__: dict[str, Rate | None] = Field(init=False)  # the stage's metrics
    cases: Count


class CostShape(_Shape):
    usd: Number | None
    basis: StrictStr


class TokensShape(_Shape):
    total_tokens: Count


class LatencyShape(_Shape):
    p50: Number | None
    p95: Number | None


class SummaryShape(_Shape):
    suite: Annotated[StrictStr, Field(min_length=1)]
    run_id: StrictStr
    drafter: StrictStr
    prompt_version: StrictStr
    playbook_version: StrictStr
    started_at: StrictStr
    cases: Count
    passed: Count
    cost: CostShape
    tokens: TokensShape
    latency_ms: LatencyShape
    gates: dict[str, Drop] = Field(default_factory=dict)
    metrics: dict[str, Rate | None]
    by_stage: dict[str, StageShape]
    case_results: dict[str, CaseResultShape]


def _problems(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "(top level)"
        lines.append(f"{where}: {error['msg']}")
    more = f" (and {len(lines) - 5} more)" if len(lines) > 5 else ""
    return "; ".join(lines[:5]) + more


def load_summary(path: Path | str) -> dict[str, Any]:
    """A run directory (its summary.json) or a summary file such as a committed baseline. A file
    that is not a summary of the expected shape is a NurtureError naming the file and field."""
    path = Path(path)
    file = path / "summary.json" if path.is_dir() else path
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NurtureError(
            f"no eval run at {path} (expected a run folder or a summary.json)"
        ) from None
    except (OSError, ValueError) as exc:
        raise NurtureError(f"cannot read eval summary {file}: {exc}") from None
    if not isinstance(data, dict) or "metrics" not in data or "suite" not in data:
        raise NurtureError(f"{file} is not an eval run summary (no suite or metrics)")
    try:
        SummaryShape.model_validate(data)
    except ValidationError as exc:
        raise NurtureError(f"{file} is not a valid eval run summary: {_problems(exc)}") from None
    return data
