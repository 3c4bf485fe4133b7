"""Retrieval benchmark: query latency over 10,000 chunks with a stage filter, and full re-index
of the content library against a no-change re-index (which must embed nothing).

    python benchmarks/retrieval.py [--chunks 10000] [--queries 500]

Wall-clock on a shared machine: compare the figures within one run (the unfiltered query is the
baseline), not across runs."""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import get_args

from rich.console import Console
from rich.progress import track
from rich.table import Table

from agent.content.assets import load_library
from agent.content.chunks import chunk_asset, fit_key
from agent.content.embeddings import WordLlamaEmbedding
from agent.content.index import chroma_client, content_collection, sync_index
from agent.playbook import STAGES, load_playbook
from agent.playbook.models import ContentKind
from agent.settings import DEFAULT_CONTENT, DEFAULT_PLAYBOOK
from agent.tools.content import ContentNeed, LeadContext, retrieve

TOPICS = [
    "route optimisation",
    "carrier invoicing",
    "warehouse automation",
    "demand forecasting",
    "compliance",
]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


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
    for n in track(range(size), description="building 10k-chunk index"):
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


def query_figures(collection, queries: int, rng: random.Random) -> dict[str, list[float]]:  # noqa: ANN001
    playbook = load_playbook(DEFAULT_PLAYBOOK)
    times: dict[str, list[float]] = {
        "query, no filter (baseline)": [],
        "query, stage + kind filter": [],
        "retrieve() tool, end to end": [],
    }
    for _ in range(20):  # warm-up
        collection.query(query_texts=["route planning"], n_results=40)
    for _ in track(range(queries), description="querying"):
        stage = rng.choice(STAGES)
        topic = rng.choice(TOPICS)
        kinds = list(playbook.content.stage_kinds[stage])
        started = time.perf_counter()
        collection.query(query_texts=[topic], n_results=40)
        times["query, no filter (baseline)"].append(time.perf_counter() - started)
        started = time.perf_counter()
        collection.query(
            query_texts=[topic],
            n_results=40,
            where={"fit": {"$in": [fit_key(stage, k) for k in kinds]}},
        )
        times["query, stage + kind filter"].append(time.perf_counter() - started)
        started = time.perf_counter()
        retrieve(
            collection,
            ContentNeed(stage=stage, kinds=kinds, topic=topic),
            LeadContext(industry="logistics"),
            playbook,
        )
        times["retrieve() tool, end to end"].append(time.perf_counter() - started)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, default=10_000)
    parser.add_argument("--queries", type=int, default=500)
    args = parser.parse_args()
    console = Console()
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        reindex = reindex_figures(tmp)
        times = query_figures(big_collection(tmp, args.chunks, rng), args.queries, rng)
    table = Table(
        "figure",
        "p50",
        "p99",
        "target",
        title=f"{args.chunks} chunks, "
        f"{args.queries} queries · {platform.python_version()} · wall clock, shared host",
    )
    for label, values in times.items():
        p50, p99 = statistics.median(values) * 1000, percentile(values, 0.99) * 1000
        target = "p99 ≤ 25 ms" if "filter" in label and "no filter" not in label else ""
        met = "" if not target else (" [green]met[/]" if p99 <= 25 else " [red]missed[/]")
        table.add_row(label, f"{p50:.1f} ms", f"{p99:.1f} ms", target + met)
    console.print(table)
    for label, value in reindex.items():
        console.print(f"{label}: {value}")


if __name__ == "__main__":
    main()
