"""Judgements cached on disk, one JSON file per (prompt, model, endpoint, input).

A judge call costs money and time and, at temperature 0, answers the same input the same way;
re-running a suite after changing only the drafter should pay only for the drafts that changed.
The key includes the prompt version, a hash of the prompt's own text (system and user sections),
the model and the endpoint's base URL, so a new rubric (even one whose author forgot to bump its
version) or another judge (the same model name served elsewhere) never reuses an old verdict."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


def prompt_sha256(system: str, user: str) -> str:
    """A hash of a prompt's template text: the system and user sections, as written."""
    canonical = json.dumps({"system": system, "user": user}, sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def normalise_base_url(base_url: str) -> str:
    """One endpoint, one spelling: a trailing slash does not make another judge."""
    return base_url.strip().rstrip("/")


def cache_key(
    kind: str,
    prompt_version: str,
    model: str,
    payload: Any,
    *,
    prompt_hash: str,
    base_url: str,
) -> str:
    """sha256 of the canonical JSON (sorted keys, no whitespace) of everything that shapes the
    answer: key order or spacing in the input must not split one judgement into two entries.
    `prompt_hash` is `prompt_sha256` of the template text; `base_url` names the endpoint."""
    canonical = json.dumps(
        {
            "kind": kind,
            "prompt_version": prompt_version,
            "prompt_sha256": prompt_hash,
            "model": model,
            "base_url": normalise_base_url(base_url),
            "input": payload,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class JudgeCache:
    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)

    def _path(self, key: str) -> Path:
        # Two-character fan-out keeps directories small when a suite has thousands of entries.
        return self.directory / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        path = self._path(key)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            # A damaged entry is a miss, not a failed run: it is simply judged (and written) again.
            log.warning("ignoring unreadable judge cache entry %s: %s", path, exc)
            return None
        return data if isinstance(data, dict) else None

    def put(self, key: str, record: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write then rename: concurrent runs sharing a cache never read half a file.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(record, handle, ensure_ascii=False, sort_keys=True, indent=1)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def __len__(self) -> int:
        return sum(1 for _ in self.directory.glob("*/*.json")) if self.directory.exists() else 0
