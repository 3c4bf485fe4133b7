"""Request limits shared by the batch routes."""

from __future__ import annotations

from fastapi import HTTPException

from api.schemas import MAX_BATCH


def check_batch_size(count: int) -> None:
    if count > MAX_BATCH:
        raise HTTPException(
            413,
            f"a batch holds at most {MAX_BATCH:,} items; this one has {count:,}: split it",
        )
