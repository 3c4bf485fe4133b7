"""Request limits and error shapes shared by the routes."""

from __future__ import annotations

from fastapi import HTTPException

from api.schemas import MAX_BATCH


def check_batch_size(count: int) -> None:
    if count > MAX_BATCH:
        raise HTTPException(
            413,
            f"a batch holds at most {MAX_BATCH:,} items; this one has {count:,}: split it",
        )


def unprocessable(*loc: str, msg: str, **extra: object) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, so clients parse one format."""
    return HTTPException(422, [{"type": "value_error", "loc": list(loc), "msg": msg, **extra}])
