"""LLM-as-judge: rubric scores for one draft, and A-versus-B comparisons that cancel order bias.

Every answer is cached on disk by (prompt version and text, model, endpoint, input), so re-running
a suite only pays for what changed; a cache hit makes no HTTP request and reports 0 tokens with
`cached=True`."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import frontmatter
from pydantic import BaseModel, ValidationError

from agent.drafting.prompts import (
    PromptError,
    PromptTemplate,
    RenderedPrompt,
    parse_prompt,
    split_sections,
)
from agent.drafting.structured import Messages, endpoint_params
from agent.settings import PROJECT_ROOT
from evals.judge.cache import JudgeCache, cache_key, normalise_base_url, prompt_sha256
from evals.judge.client import JudgeClient
from evals.judge.models import (
    CallStats,
    CaseSummary,
    DraftText,
    JudgeFailed,
    JudgeScore,
    PairwiseReply,
    PairwiseResult,
    PairwiseVerdict,
    RubricReply,
    Winner,
)

DEFAULT_RUBRIC_PATH = PROJECT_ROOT / "prompts" / "judge_rubric.md"
DEFAULT_PAIRWISE_PATH = PROJECT_ROOT / "prompts" / "judge_pairwise.md"
CACHE_FOLDER = "judge-cache"

Reply = TypeVar("Reply", bound=BaseModel)
# Where each ordering puts draft a, and so how its positional answer maps back to a/b.
_ORDERS: dict[str, dict[str, Winner]] = {
    "a_first": {"first": "a", "second": "b", "tie": "tie"},
    "b_first": {"first": "b", "second": "a", "tie": "tie"},
}


class Judge:
    """Scores drafts with a chat model behind any OpenAI-compatible endpoint."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        model: str,
        cache_dir: Path | str,
        rubric_path: Path = DEFAULT_RUBRIC_PATH,
        pairwise_path: Path = DEFAULT_PAIRWISE_PATH,
        **client_options: Any,
    ) -> None:
        """`client_options` go to `JudgeClient`, and on to `StructuredChat`: timeout_seconds,
        max_attempts, backoff_seconds, max_backoff_seconds, max_total_seconds, temperature,
        sleep."""
        self.model = model
        self.base_url = normalise_base_url(base_url)
        self.cache = JudgeCache(cache_dir)
        self._rubric, self._rubric_sha256 = _load_prompt(Path(rubric_path))
        self._pairwise, self._pairwise_sha256 = _load_prompt(Path(pairwise_path))
        self._client = JudgeClient(
            base_url=base_url, api_key=api_key, model=model, **client_options
        )

    @classmethod
    def from_settings(
        cls, settings: Any, *, cache_dir: Path | str | None = None, **overrides: Any
    ) -> Judge:
        """Build from `Settings` (the drafter's `llm_*` fields); keyword overrides win, so
        `model=` judges with another model than the one drafting. The cache defaults to
        `<data_dir>/judge-cache`."""
        params = endpoint_params(settings, overrides, purpose="judge")
        if cache_dir is None:
            cache_dir = Path(getattr(settings, "data_dir", ".nurture")) / CACHE_FOLDER
        return cls(cache_dir=cache_dir, **params)

    @property
    def name(self) -> str:
        return f"judge:{self.model}"

    @property
    def rubric_version(self) -> str:
        return self._rubric.version

    @property
    def pairwise_version(self) -> str:
        return self._pairwise.version

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- judging ---------------------------------------------------------------------------------
    def score(self, case: CaseSummary, draft: DraftText) -> JudgeScore:
        """Rubric scores (relevance, tone, clarity, stage_fit; 1-5 with reasons) for one draft."""
        reply, call = self._ask(
            "rubric",
            self._rubric,
            self._rubric_sha256,
            {"case": case, "draft": draft},
            RubricReply,
        )
        return JudgeScore(
            scores=reply, prompt_version=self.rubric_version, model=self.model, call=call
        )

    def compare(self, case: CaseSummary, draft_a: DraftText, draft_b: DraftText) -> PairwiseResult:
        """Which draft is better, asked in both orders. A verdict only stands when the orders
        agree; otherwise the answer is a tie (the judge was following position, not quality)."""
        verdicts = (
            self._verdict(case, "a_first", draft_a, draft_b),
            self._verdict(case, "b_first", draft_b, draft_a),
        )
        agreed = verdicts[0].winner == verdicts[1].winner
        return PairwiseResult(
            winner=verdicts[0].winner if agreed else "tie",
            verdicts=verdicts,
            prompt_version=self.pairwise_version,
            model=self.model,
        )

    def _verdict(
        self,
        case: CaseSummary,
        order: Literal["a_first", "b_first"],
        first: DraftText,
        second: DraftText,
    ) -> PairwiseVerdict:
        # Each ordering is its own cache entry, so compare(a, b) and compare(b, a) share both.
        reply, call = self._ask(
            "pairwise",
            self._pairwise,
            self._pairwise_sha256,
            {"case": case, "first": first, "second": second},
            PairwiseReply,
        )
        return PairwiseVerdict(
            order=order, raw=reply, winner=_ORDERS[order][reply.winner], call=call
        )

    def _ask(
        self,
        kind: str,
        prompt: PromptTemplate,
        prompt_hash: str,
        context: dict[str, BaseModel],
        schema: type[Reply],
    ) -> tuple[Reply, CallStats]:
        started = time.perf_counter()
        payload = {name: value.model_dump(mode="json") for name, value in context.items()}
        key = cache_key(
            kind,
            prompt.version,
            self.model,
            payload,
            prompt_hash=prompt_hash,
            base_url=self.base_url,
        )
        cached = self._from_cache(key, schema)
        if cached is not None:
            return cached, CallStats(cached=True, latency_seconds=time.perf_counter() - started)

        reply, tally = self._client.ask(_render(prompt, context), schema)
        call = CallStats(
            cached=False,
            prompt_tokens=tally.usage["prompt_tokens"],
            completion_tokens=tally.usage["completion_tokens"],
            total_tokens=tally.usage["total_tokens"],
            latency_seconds=time.perf_counter() - started,
            attempts=tally.attempts,
        )
        self.cache.put(
            key,
            {
                "kind": kind,
                "prompt_version": prompt.version,
                "prompt_sha256": prompt_hash,
                "model": self.model,
                "base_url": self.base_url,
                "reply": reply.model_dump(mode="json"),
                # what the original call cost, for anyone auditing the cache; hits report 0
                "usage": dict(tally.usage),
                "judged_at": datetime.now(UTC).isoformat(),
            },
        )
        return reply, call

    def _from_cache(self, key: str, schema: type[Reply]) -> Reply | None:
        record = self.cache.get(key)
        if record is None:
            return None
        try:
            return schema.model_validate(record.get("reply"))
        except ValidationError:
            # An entry written by an older schema is a miss; the fresh answer overwrites it.
            return None


def _load_prompt(path: Path) -> tuple[PromptTemplate, str]:
    """A prompt file compiled, and the hash of its system and user text for the cache key. Both
    come from one read of the file, so the key always describes the template that is asked."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"cannot read prompt file {path}: {exc}") from exc
    prompt = parse_prompt(text, path)
    sections = split_sections(frontmatter.loads(text).content, str(path))
    return prompt, prompt_sha256(sections["system"], sections["user"])


def _render(prompt: PromptTemplate, context: dict[str, BaseModel]) -> Messages:
    try:
        rendered = RenderedPrompt(
            version=prompt.version,
            system=prompt.system.render(context).strip(),
            user=prompt.user.render(context).strip(),
        )
    except Exception as exc:  # jinja2 raises several types; the caller needs one
        raise JudgeFailed(f"prompt {prompt.version} failed to render: {exc}", attempts=0) from exc
    return rendered.messages()
