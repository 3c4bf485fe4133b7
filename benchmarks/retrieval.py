"""Retrieval benchmark: `retrieve()` over 10,000 chunks against its floor, the raw filtered
Chroma query it makes (same query text, embedding, stage + kind filter and result count),
interleaved query by query; and a full re-index of the content library against a no-change
re-index (which must embed nothing).

Targets (issue #13): retrieve() p99 <= 25 ms and <= 1.25x the floor's p99.

    python benchmarks/retrieval.py [--chunks 10000] [--queries 500]
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import argparse
import random
import tempfile
import time
from collections.abc import Callable
from typing import get_args

from rich.progress import track

from agent.content.assets import load_library
from agent.content.chunks import chunk_asset, fit_key
from agent.content.embeddings import WordLlamaEmbedding
from agent.content.index import chroma_client, content_collection, sync_index
from agent.playbook import STAGES, load_playbook
from agent.playbook.models import ContentKind
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK
from agent.tools.content import (
    CANDIDATES,
    ContentNeed,
    LeadContext,
    _query_text,
    _where,
    allowed_stages,
    retrieve,
)
from benchmarks.measure import (
    Figure,
    Spread,
    interleave_rounds,
    ms,
    percentile,
    print_figures,
    print_machine,
    ratios,
    times,
)

P99_TARGET_MS = 25.0
RATIO_TARGET = 1.25

TOPICS = [
    "route optimisation",
    "carrier invoicing",
    "warehouse automation",
    "demand forecasting",
    "compliance",
]


def reindex_figures(tmp: Path) -> dict[str, str]:
    assets = load_library(DEFAULT_CONTENT).assets
    embedding = WordLlamaEmbedding()
    collection = content_collection(chroma_client(url=None, path=tmp / "lib"), embedding)
    started = time.perf_counter()
    full = sync_index(collection, assets)
    full_s = time.perf_counter() - started
    before = embedding.texts_embedded
    started = time.perf_counter()
    again = sync_index(collection, assets)
    again_s = time.perf_counter() - started
    return {
        "full re-index": f"{full_s * 1000:.0f} ms ({len(assets)} assets, "
        f"{full.chunks_embedded} chunks embedded)",
        "no-change re-index": f"{again_s * 1000:.0f} ms ({embedding.texts_embedded - before} "
        f"chunks embedded, {again.unchanged} unchanged)",
    }


def big_collection(tmp: Path, size: int, rng: random.Random):  # noqa: ANN201
    """`size` chunks made from the library's chunks with shuffled stages, kinds and topics."""
    base = [c for a in load_library(DEFAULT_CONTENT).assets for c in chunk_asset(a)]
    kinds = [k for k in get_args(ContentKind) if k != "pricing"]
    collection = content_collection(chroma_client(url=None, path=tmp / "big"), WordLlamaEmbedding())
    batch: list[tuple[str, str, dict]] = []
    for n in track(range(size), description=f"building {size:,}-chunk index"):
        chunk = base[n % len(base)]
        stage = rng.choice(STAGES)
        kind = rng.choice(kinds)
        meta = {
            **chunk.metadata,
            "asset_id": f"a{n // 4}",
            "kind": kind,
            "stage": stage,
            "stages": stage,
            "fit": fit_key(stage, kind),
            "topics": rng.choice(TOPICS),
            "url_path": f"/x/{n // 4}",
        }
        batch.append((f"c{n}", chunk.text, meta))
        if len(batch) == 1000:
            collection.add(
                ids=[b[0] for b in batch],
                documents=[b[1] for b in batch],
                metadatas=[b[2] for b in batch],
            )
            batch = []
    if batch:
        collection.add(
            ids=[b[0] for b in batch],
            documents=[b[1] for b in batch],
            metadatas=[b[2] for b in batch],
        )
    return collection


def query_figures(collection, queries: int, rng: random.Random) -> list[Figure]:  # noqa: ANN001
    """retrieve() against the raw Chroma query it makes (same query text, embedding, filter and
    result count), interleaved: each round draws one need and times both on it."""
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    lead = LeadContext(industry="logistics")
    fallbacks = 0
    total = collection.count()

    def make_round(_: int) -> dict[str, Callable[[], object]]:
        stage = rng.choice(STAGES)
        kinds = list(playbook.content.stage_kinds[stage])
        need = ContentNeed(stage=stage, kinds=kinds, topic=rng.choice(TOPICS))
        stages = allowed_stages(stage, kinds, playbook)

        def subject() -> None:
            nonlocal fallbacks
            fallbacks += retrieve(collection, need, lead, playbook).note is not None

        def floor() -> None:
            collection.query(
                query_texts=[_query_text(need, lead, kinds)],
                n_results=min(CANDIDATES, total),
                where=_where(stages, kinds, need.exclude_assets),
                include=["documents", "metadatas", "distances"],
            )

        return {"retrieve()": subject, "floor: raw filtered Chroma query": floor}

    samples = interleave_rounds(make_round, rounds=queries, warmups=20, label="querying")
    ours, raw = samples["retrieve()"], samples["floor: raw filtered Chroma query"]
    p99, floor_p99 = percentile(ours, 0.99), percentile(raw, 0.99)
    per_round = Spread.of(ratios(ours, raw))
    return [
        Figure("retrieve() p50", ms(Spread.of(ours).median)),
        Figure("retrieve() p99", ms(p99), f"<= {P99_TARGET_MS:g} ms", p99 * 1000 <= P99_TARGET_MS),
        Figure("floor: raw filtered Chroma query p50", ms(Spread.of(raw).median)),
        Figure("floor: raw filtered Chroma query p99", ms(floor_p99)),
        Figure(
            "p99 retrieve() / p99 floor",
            times(p99 / floor_p99),
            f"<= {RATIO_TARGET:g}×",
            p99 / floor_p99 <= RATIO_TARGET,
        ),
        Figure("per-round ratio retrieve() / floor", per_round.text(times)),
        Figure(
            "rounds where retrieve() fell back (a 2nd query)",
            f"{fallbacks} of {queries + 20}",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        reindex = reindex_figures(tmp)
        figures = query_figures(big_collection(tmp, args.chunks, rng), args.queries, rng)
    figures += [Figure(label, value) for label, value in reindex.items()]
    print_machine(f"; {args.chunks:,} chunks, {args.queries} interleaved queries")
    print_figures("retrieval benchmark", figures)


if __name__ == "__main__":
    main()
