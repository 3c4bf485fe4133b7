"""Embedding functions for the content index, registered with Chroma so a collection remembers
how it was embedded. The default model ships inside the `wordllama` wheel: nothing is downloaded."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from chromadb.api.types import Documents, EmbeddingFunction, Embeddings, Space
from chromadb.utils.embedding_functions import register_embedding_function

from agent.errors import NurtureError

WORDLLAMA_MODELS = ("l2_supercat",)  # the weights the wheel ships (256 dimensions)


@register_embedding_function
class WordLlamaEmbedding(EmbeddingFunction[Documents]):
    """Static word embeddings from the wordllama package (256 dimensions by default)."""

    def __init__(self, model: str = "l2_supercat") -> None:
        if model not in WORDLLAMA_MODELS:
            raise NurtureError(
                f"unknown wordllama model '{model}' (bundled: {', '.join(WORDLLAMA_MODELS)})"
            )
        self.model = model
        self.texts_embedded = 0  # lets a caller prove an unchanged re-index embedded nothing
        self._model: Any = None

    def __call__(self, input: Documents) -> Embeddings:  # noqa: A002 - Chroma's protocol name
        texts = list(input)
        self.texts_embedded += len(texts)
        vectors = self._load().embed(texts, norm=True)
        return [row for row in vectors]

    def _load(self) -> Any:
        if self._model is None:
            root_level = logging.getLogger().level  # importing wordllama sets the root to INFO
            import wordllama

            # Its bundled tokenizer sits where the default loader does not look, so point it at
            # the installed package and forbid any download.
            self._model = wordllama.WordLlama.load(
                config=self.model,
                cache_dir=Path(wordllama.__file__).parent,
                disable_download=True,
            )
            logging.getLogger().setLevel(root_level)
        return self._model

    @staticmethod
    def name() -> str:
        return "nurture-wordllama"

    def get_config(self) -> dict[str, Any]:
        return {"model": self.model}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> WordLlamaEmbedding:
        return WordLlamaEmbedding(model=config.get("model", "l2_supercat"))

    def default_space(self) -> Space:
        return "cosine"

    def supported_spaces(self) -> list[Space]:
        return ["cosine", "l2", "ip"]


def embedding_from_setting(setting: str) -> EmbeddingFunction[Documents]:
    """`wordllama` or `wordllama:<model>` (NURTURE_EMBEDDING)."""
    family, _, model = setting.partition(":")
    if family == "wordllama":
        return WordLlamaEmbedding(model or "l2_supercat")
    raise NurtureError(
        f"NURTURE_EMBEDDING: unsupported embedding '{setting}' "
        "(supported: wordllama, wordllama:l2_supercat)"
    )
