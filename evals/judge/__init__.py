"""LLM-as-judge for drafts: rubric scores and order-bias-cancelling pairwise comparisons, against
any OpenAI-compatible endpoint, cached on disk by (prompt version and text, endpoint, model,
input)."""

from evals.judge.cache import JudgeCache, cache_key
from evals.judge.judge import DEFAULT_PAIRWISE_PATH, DEFAULT_RUBRIC_PATH, Judge
from evals.judge.models import (
    CRITERIA,
    CallStats,
    CaseSummary,
    CriterionScore,
    DraftText,
    JudgeFailed,
    JudgeScore,
    PairwiseReply,
    PairwiseResult,
    PairwiseVerdict,
    RubricReply,
)

__all__ = [
    "CRITERIA",
    "DEFAULT_PAIRWISE_PATH",
    "DEFAULT_RUBRIC_PATH",
    "CallStats",
    "CaseSummary",
    "CriterionScore",
    "DraftText",
    "Judge",
    "JudgeCache",
    "JudgeFailed",
    "JudgeScore",
    "PairwiseReply",
    "PairwiseResult",
    "PairwiseVerdict",
    "RubricReply",
    "cache_key",
]
