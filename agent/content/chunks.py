"""Splits an asset into the chunks that are embedded: an overview, then one per `##` section."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from agent.content.assets import Asset
from agent.playbook.models import STAGES

_SECTION = re.compile(r"^##\s+(.+?)\s*$", re.MULTILINE)


@dataclass(frozen=True, slots=True)
class Chunk:
    id: str
    text: str
    metadata: dict[str, Any]


def chunk_asset(asset: Asset) -> list[Chunk]:
    """One chunk per section and per stage the asset fits.

    Each copy carries a single `fit` key ("stage:kind"), so the retrieval filter is one `$in`
    clause: Chroma answers that about twice as fast as a stage flag combined with a kind test
    (benchmarks/retrieval.py), and the filter still lives inside the query."""
    meta = asset.meta
    overview = "\n".join([meta.title, meta.summary, "Topics: " + ", ".join(meta.topics)])
    sections = [("Overview", overview)]
    sections += [(title, text) for title, text in _sections(asset.body)]
    return [
        Chunk(
            id=f"{meta.id}#{n}@{stage}",
            text=text if title == "Overview" else f"{meta.title}\n{title}\n{text}",
            metadata=_metadata(asset, title, stage),
        )
        for n, (title, text) in enumerate(sections)
        for stage in meta.stages
    ]


def fit_key(stage: str, kind: str) -> str:
    return f"{stage}:{kind}"


def _sections(body: str) -> list[tuple[str, str]]:
    matches = list(_SECTION.finditer(body))
    if not matches:
        return [("Body", body.strip())]
    out = []
    intro = body[: matches[0].start()].strip()
    if intro:
        out.append(("Introduction", intro))
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        text = body[match.end() : end].strip()
        if text:
            out.append((match.group(1), text))
    return out


def url_path(ref: str) -> str:
    """The path of a URL (or a bare path), so `/blog/x` and `https://site/blog/x` compare equal."""
    path = urlparse(ref).path if "://" in ref else ref
    return path.rstrip("/") or "/"


def _metadata(asset: Asset, section: str, stage: str) -> dict[str, Any]:
    """Chroma metadata holds scalars only, so lists become joined text."""
    meta = asset.meta
    return {
        "asset_id": meta.id,
        "kind": meta.kind,
        "stage": stage,
        "fit": fit_key(stage, meta.kind),
        "stages": "|".join(s for s in STAGES if s in meta.stages),
        "title": meta.title,
        "url": meta.url,
        "url_path": url_path(meta.url),
        "section": section,
        "topics": "|".join(meta.topics),
        "industries": "|".join(meta.industries),
        "personas": "|".join(meta.personas),
        "hash": asset.content_hash,
    }
