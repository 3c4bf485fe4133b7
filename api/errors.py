"""Error answers made safe to render and useful to read: 422s echo a short excerpt of each bad
`input` (never the whole of a 1 MB field, nor a lone surrogate that cannot be encoded), a body
that cannot be read is a 400 with the reason, and an unexpected failure is a JSON 500 whose
request id is also in the log line."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from agent.store.values import shown

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 100


async def validation_failed(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [_json_safe(jsonable_encoder(_with_excerpt(error))) for error in errors]
    return JSONResponse({"detail": detail}, status_code=422)


def _with_excerpt(error: dict[str, Any]) -> dict[str, Any]:
    if "input" not in error:
        return error
    return {**error, "input": excerpt(error["input"])}


def excerpt(value: Any) -> Any:
    """What a 422 echoes of a bad input: short values as sent; a long string, or an object
    whose JSON is long, as its first characters and its length."""
    if isinstance(value, str):
        return _cut(value)
    if isinstance(value, dict | list | tuple):
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except (RecursionError, ValueError):
            return f"(a {type(value).__name__} nested too deeply to show)"
        return value if len(text) <= EXCERPT_CHARS else _cut(text)
    return value


def _cut(text: str) -> str:
    if len(text) <= EXCERPT_CHARS:
        return text
    return f"{text[:EXCERPT_CHARS]}…({len(text):,} characters)"


def _json_safe(value: Any) -> Any:
    """NaN and Infinity (which JSON parsers accept) as text, and lone surrogates escaped: either
    would make the error itself a 500."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, str):
        return shown(value)
    if isinstance(value, dict):
        return {_json_safe(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value


async def http_error(request: Request, exc: Exception) -> Response:
    """FastAPI's answer, except for a body it could not parse: FastAPI 0.165 turns anything
    but a JSONDecodeError raised while reading the body into 400 "There was an error parsing
    the body" (fastapi/routing.py, `raise http_error from e`); the cause says why."""
    if not isinstance(exc, StarletteHTTPException):  # registered for HTTPException only
        raise exc
    reason = unreadable_body(exc.__cause__) if exc.status_code == 400 else None
    if reason is not None:
        return JSONResponse({"detail": reason}, status_code=400)
    return await http_exception_handler(request, exc)


def unreadable_body(cause: BaseException | None) -> str | None:
    if isinstance(cause, RecursionError):
        # the parser's limit is Python's recursion limit: about 1,000 levels
        return "the JSON body is nested too deeply to read (about 1,000 levels or more)"
    if isinstance(cause, UnicodeDecodeError):
        return f"the body is not valid UTF-8 (byte {cause.start:,} cannot be decoded)"
    if isinstance(cause, ValueError):
        first = shown(str(cause).split(";")[0])
        if "digits" in first:  # Python reads integers of at most 4,300 digits
            return f"a number in the body has too many digits to read: {first}"
        return f"the body is not readable JSON: {first}"
    return None


def server_error(request: Request, request_id: str) -> JSONResponse:
    """The answer to an unexpected exception (call it while handling one): the details go to
    the log, under the id the client is given."""
    logger.exception(
        "unexpected error answering %s %r (request_id %s)",
        request.method,
        request.url.path,
        request_id,
    )
    return JSONResponse(
        {
            "detail": "the service failed on this request; its log has the details under this "
            "request_id",
            "request_id": request_id,
        },
        status_code=500,
    )
