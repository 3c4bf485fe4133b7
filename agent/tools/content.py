"""Content retrieval: the assets that fit a lead's stage and interests, ranked, with the reasons.

Stage and kind filters go into the Chroma query itself, so a wrong-stage asset can never come
back; the ranking then prefers the requested topic, the lead's industry and persona."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from chromadb.api.models.Collection import Collection
from pydantic import BaseModel, Field

from agent.content.chunks import fit_key, url_path
from agent.playbook.models import STAGES, ContentKind, Playbook, Stage

CANDIDATES = 40
# Similarity from static embeddings is coarse; tags a marketer set are the stronger evidence.
TOPIC_BONUS = 0.35
RECENT_TOPIC_BONUS = 0.1
INDUSTRY_BONUS = 0.15
PERSONA_BONUS = 0.1

_PERSONAS: list[tuple[str, re.Pattern[str]]] = [
    ("finance", re.compile(r"\b(cfo|finance|financial|controller|accounts?|procurement)\b", re.I)),
    ("it", re.compile(r"\b(cto|cio|ciso|it|engineering|security|data|technology)\b", re.I)),
    ("executive", re.compile(r"\b(ceo|coo|founder|president|chief|owner|general manager)\b", re.I)),
    ("logistics-manager", re.compile(r"\b(logistics|transport|fleet|dispatch|warehouse)\b", re.I)),
    ("operations", re.compile(r"\b(operations|ops|supply chain|planning)\b", re.I)),
]


class ContentNeed(BaseModel):
    """What the decision asks for (its `content` plus the lead's stage)."""

    stage: Stage
    kinds: list[ContentKind] = Field(min_length=1)
    topic: str | None = None
    exclude_assets: list[str] = Field(default_factory=list)


class LeadContext(BaseModel):
    industry: str | None = None
    persona: str | None = None
    recent_topics: list[str] = Field(default_factory=list)


class Pick(BaseModel):
    asset_id: str
    title: str
    kind: str
    url: str
    stages: list[Stage]
    score: float
    section: str
    chunk: str = Field(description="The passage that matched best.")
    why: list[str]


class Retrieval(BaseModel):
    picks: list[Pick]
    allowed_stages: list[Stage]
    note: str | None = Field(
        default=None, description="Set when nothing fit the request and what was done instead."
    )


def persona_of(title: str | None) -> str | None:
    if not title:
        return None
    for persona, pattern in _PERSONAS:
        if pattern.search(title):
            return persona
    return None


def allowed_stages(stage: Stage, kinds: list[ContentKind], playbook: Playbook) -> list[Stage]:
    """The lead's stage, plus any stage up to one step ahead whose content kinds were asked for
    (a scenario sending a case study after a white paper moves the lead one step on purpose)."""
    rank = STAGES.index(stage)
    allowed = {stage}
    for other in STAGES[: rank + 2]:
        if set(kinds) & set(playbook.content.stage_kinds[other]):
            allowed.add(other)
    return [s for s in STAGES if s in allowed]


def retrieve(
    collection: Collection, need: ContentNeed, lead: LeadContext, playbook: Playbook, *, k: int = 3
) -> Retrieval:
    stages = allowed_stages(need.stage, need.kinds, playbook)
    picks = _search(collection, need, lead, stages, need.kinds, k)
    if picks:
        return Retrieval(picks=picks, allowed_stages=stages)
    fallback_kinds = [kind for s in stages for kind in playbook.content.stage_kinds[s]]
    fallback = _search(collection, need, lead, stages, list(dict.fromkeys(fallback_kinds)), k)
    wanted = ", ".join(need.kinds)
    if fallback:
        best = fallback[0]
        note = (
            f"no {wanted} fits the {need.stage} stage that this lead has not had; nearest "
            f"allowed alternative: {best.kind} '{best.title}'"
        )
    else:
        note = (
            f"nothing in the library fits the {need.stage} stage that this lead has not already had"
        )
    return Retrieval(picks=fallback, allowed_stages=stages, note=note)


def _search(
    collection: Collection,
    need: ContentNeed,
    lead: LeadContext,
    stages: list[Stage],
    kinds: Sequence[str],
    k: int,
) -> list[Pick]:
    total = collection.count()
    if total == 0:
        return []
    found: Any = collection.query(
        query_texts=[_query_text(need, lead, kinds)],
        n_results=min(CANDIDATES, total),
        where=_where(stages, kinds, need.exclude_assets),
        include=["documents", "metadatas", "distances"],
    )
    best: dict[str, Pick] = {}
    for text, meta, distance in zip(
        found["documents"][0], found["metadatas"][0], found["distances"][0], strict=True
    ):
        pick = _pick(text, meta, 1.0 - float(distance), need, lead, stages)
        if pick.asset_id not in best or pick.score > best[pick.asset_id].score:
            best[pick.asset_id] = pick
    return sorted(best.values(), key=lambda p: (-p.score, p.asset_id))[:k]


def _where(stages: list[Stage], kinds: Sequence[str], exclude: list[str]) -> dict[str, Any]:
    terms: list[dict[str, Any]] = [{"fit": {"$in": [fit_key(s, k) for s in stages for k in kinds]}}]
    # Timelines name what a lead already has by asset id, or by URL or path (page views).
    ids = [ref for ref in exclude if "/" not in ref]
    paths = [url_path(ref) for ref in exclude if "/" in ref]
    if ids:
        terms.append({"asset_id": {"$nin": ids}})
    if paths:
        terms.append({"url_path": {"$nin": paths}})
    return terms[0] if len(terms) == 1 else {"$and": terms}


def _query_text(need: ContentNeed, lead: LeadContext, kinds: Sequence[str]) -> str:
    parts = [
        need.topic or "",
        *lead.recent_topics,
        lead.industry or "",
        lead.persona or "",
        " ".join(k.replace("_", " ") for k in kinds),
    ]
    return " ".join(p for p in parts if p) or need.stage


def _pick(
    text: str,
    meta: dict[str, Any],
    similarity: float,
    need: ContentNeed,
    lead: LeadContext,
    stages: list[Stage],
) -> Pick:
    topics = _split(meta["topics"])
    industries = _split(meta["industries"])
    personas = _split(meta["personas"])
    asset_stages = [s for s in STAGES if s in meta["stages"].split("|")]
    fitting = [s for s in asset_stages if s in stages]
    why = [f"fits the {'/'.join(fitting)} stage", f"a {meta['kind'].replace('_', ' ')}"]
    score = similarity
    if need.topic and _norm(need.topic) in topics:
        # an asset about every topic is less about this one than an asset about it alone
        score += TOPIC_BONUS / len(topics) ** 0.5
        why.append(f"on the requested topic '{need.topic}'")
    recent = [t for t in lead.recent_topics if _norm(t) in topics and t != need.topic]
    if recent:
        score += RECENT_TOPIC_BONUS
        why.append(f"matches recent interest in {', '.join(recent)}")
    if lead.industry and _norm(lead.industry) in industries:
        score += INDUSTRY_BONUS
        why.append(f"written for {lead.industry}")
    if lead.persona and lead.persona in personas:
        score += PERSONA_BONUS
        why.append(f"for {lead.persona} readers")
    why.append(f"best passage: '{meta['section']}' (similarity {similarity:.2f})")
    return Pick(
        asset_id=meta["asset_id"],
        title=meta["title"],
        kind=meta["kind"],
        url=meta["url"],
        stages=asset_stages,
        score=round(score, 4),
        section=meta["section"],
        chunk=text,
        why=why,
    )


def _split(joined: str) -> set[str]:
    return {_norm(part) for part in joined.split("|") if part}


def _norm(text: str) -> str:
    return text.strip().casefold()
