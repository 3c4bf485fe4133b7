"""The Chroma index of the content library: a local persistent store by default, a Chroma server
when NURTURE_CHROMA_URL is set. Re-indexing embeds only assets whose content hash changed."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlparse

import chromadb
from chromadb.api import ClientAPI
from chromadb.api.models.Collection import Collection
from chromadb.api.types import Documents, Embeddable, EmbeddingFunction
from chromadb.base_types import InclusionExclusionOperator, LiteralValue
from chromadb.config import Settings as ChromaSettings

from agent.content.assets import Asset
from agent.content.chunks import chunk_asset
from agent.content.embeddings import embedding_from_setting
from agent.errors import NurtureError
from agent.settings import Settings

COLLECTION = "content_library"
Progress = Callable[[int], None]


def chroma_client(*, url: str | None, path: Path) -> ClientAPI:
    """A Chroma server client for `url` (http://host:port), else a local store at `path`."""
    settings = ChromaSettings(anonymized_telemetry=False)
    if url:
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise NurtureError(f"NURTURE_CHROMA_URL is not an http(s) URL: {url!r}")
        try:
            return chromadb.HttpClient(
                host=parsed.hostname,
                port=parsed.port or (443 if parsed.scheme == "https" else 80),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
        except Exception as exc:  # the client checks the server on creation
            raise NurtureError(f"cannot reach the Chroma server at {url}: {exc}") from exc
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=settings)


def open_collection(config: Settings) -> Collection:
    """The content collection the settings point at, with their embedding model."""
    client = chroma_client(url=config.chroma_url, path=config.chroma_path)
    return content_collection(client, embedding_from_setting(config.embedding))


def content_collection(client: ClientAPI, embedding: EmbeddingFunction[Documents]) -> Collection:
    # Chroma's signature asks for a function of documents or images (its own default function
    # of documents needs a type: ignore there); a collection only calls it with what it holds.
    function = cast(EmbeddingFunction[Embeddable], embedding)
    return client.get_or_create_collection(
        COLLECTION, embedding_function=function, configuration={"hnsw": {"space": "cosine"}}
    )


@dataclass(slots=True)
class IndexReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks_embedded: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


def sync_index(
    collection: Collection, assets: Sequence[Asset], progress: Progress | None = None
) -> IndexReport:
    """Makes the collection hold exactly `assets`: new and changed ones (by content hash) are
    re-chunked and embedded, deleted ones removed, unchanged ones left alone."""
    indexed = _indexed_hashes(collection)
    report = IndexReport()
    for asset in assets:
        previous = indexed.get(asset.id)
        if previous == asset.content_hash:
            report.unchanged += 1
        else:
            if previous is not None:
                collection.delete(where={"asset_id": asset.id})
            chunks = chunk_asset(asset)
            collection.add(
                ids=[c.id for c in chunks],
                documents=[c.text for c in chunks],
                metadatas=[c.metadata for c in chunks],
            )
            report.chunks_embedded += len(chunks)
            (report.updated if previous is not None else report.added).append(asset.id)
        if progress:
            progress(1)
    gone = sorted(set(indexed) - {a.id for a in assets})
    if gone:
        # Chroma's filter is a union of dicts keyed by operator literals: name the type of this
        # one so it can be checked.
        among: dict[InclusionExclusionOperator, list[LiteralValue]] = {"$in": list(gone)}
        collection.delete(where={"asset_id": among})
    report.removed = gone
    return report


def _indexed_hashes(collection: Collection) -> dict[str, str]:
    found: dict[str, str] = {}
    metadatas: Any = collection.get(include=["metadatas"])["metadatas"] or []
    for meta in metadatas:
        found[str(meta["asset_id"])] = str(meta["hash"])
    return found
