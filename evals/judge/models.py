"""What the judge reads, what the model must answer, and what the judge reports back.

The reply models (`RubricReply`, `PairwiseReply`) are the structured-output schemas sent to the
endpoint and the validators of its answers: a score outside 1-5 or a missing criterion is a
validation error, which earns the model one repair round and then fails the judgement."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

CRITERIA: tuple[str, ...] = ("relevance", "tone", "clarity", "stage_fit")
Winner = Literal["a", "b", "tie"]
Position = Literal["first", "second", "tie"]


class JudgeFailed(Exception):
    """The endpoint gave no usable judgement (after retries and one repair round)."""

    def __init__(self, reason: str, *, attempts: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts


class _Frozen(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- inputs --------------------------------------------------------------------------------------
class CaseSummary(_Frozen):
    """The situation a draft answers. No case id on purpose: the same situation judged from two
    cases is the same judgement, and shares one cache entry."""

    stage: str
    action: str = Field(description="The action the playbook chose (send_email, re_engage).")
    lead_facts: tuple[str, ...] = ()
    content: tuple[str, ...] = Field(
        default=(), description="One summary per content asset the draft could cite."
    )


class DraftText(_Frozen):
    subject: str
    body: str


# --- replies (structured output) -----------------------------------------------------------------
def _non_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("a reason is required")
    return value.strip()


# Non-blank is checked by a validator rather than `min_length`: strict structured-output schemas
# reject `minLength` at some endpoints, while `minimum`/`maximum` are accepted.
Reason = Annotated[str, AfterValidator(_non_blank), Field(description="One sentence.")]


class CriterionScore(_Frozen):
    score: int = Field(ge=1, le=5, description="1 (poor) to 5 (excellent).")
    reason: Reason


class RubricReply(_Frozen):
    relevance: CriterionScore
    tone: CriterionScore
    clarity: CriterionScore
    stage_fit: CriterionScore


class PairwiseReply(_Frozen):
    winner: Position
    reason: Reason


# --- results -------------------------------------------------------------------------------------
class CallStats(_Frozen):
    """One logical judge call. A cache hit costs nothing and says so."""

    cached: bool
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    latency_seconds: float = 0.0
    attempts: int = Field(default=0, description="HTTP requests made (0 on a cache hit).")


class JudgeScore(_Frozen):
    scores: RubricReply
    prompt_version: str
    model: str
    call: CallStats

    @property
    def mean(self) -> float:
        return sum(self.score_of(name) for name in CRITERIA) / len(CRITERIA)

    def score_of(self, criterion: str) -> int:
        """The 1-5 score of one of `CRITERIA`."""
        if criterion not in CRITERIA:
            raise KeyError(f"unknown criterion '{criterion}' (known: {', '.join(CRITERIA)})")
        return int(getattr(self.scores, criterion).score)

    def as_dict(self) -> dict[str, int]:
        return {name: self.score_of(name) for name in CRITERIA}


class PairwiseVerdict(_Frozen):
    """One ordering's answer: what the model said about positions, mapped back to a/b."""

    order: Literal["a_first", "b_first"]
    raw: PairwiseReply
    winner: Winner
    call: CallStats


class PairwiseResult(_Frozen):
    """`winner` is a or b only when both orderings agree; any disagreement is a tie, which is
    what cancels a judge's preference for one position."""

    winner: Winner
    verdicts: tuple[PairwiseVerdict, PairwiseVerdict]
    prompt_version: str
    model: str

    @property
    def consistent(self) -> bool:
        return self.verdicts[0].winner == self.verdicts[1].winner

    @property
    def total_tokens(self) -> int:
        return sum(v.call.total_tokens for v in self.verdicts)
