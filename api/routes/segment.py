"""The Segment Tracking API (https://segment.com/docs/connections/sources/catalog/libraries/
server/http-api/) under /segment, so Segment, RudderStack and Jitsu pipelines send events
without code: point the client's host at `<service>/segment` and use an ingest key as the
write key.

Segment clients read only the status: 200 means "do not send again". So every readable request
is answered 200, valid messages are stored, and each rejected one is recorded with its reason
(GET /v1/ingest/rejections, `nurture ingest rejections`, /metrics); a body that cannot be read
is 400, a wrong write key 401."""

from __future__ import annotations

import gzip
import io
import json
import zlib
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field
from starlette.responses import Response

from agent.segment.ingest import SegmentReport, ingest_segment_messages
from agent.segment.messages import KINDS
from api.deps import StateDep
from api.errors import unreadable_body
from api.routes.limits import check_batch_size
from api.schemas import AUTH_ERRORS, errors
from api.state import ServiceState
from api.write_key import WriteKey

ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    413: "payload_too_large",
    429: "too_many_requests",
}


class SegmentErrors(APIRoute):
    """Errors also worded as Segment's API words them (`code`, `message`) beside our `detail`:
    rudder-sdk-python reads `code`, and without it takes a 401 for a network failure and sends
    the batch again and again."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def answer(request: Request) -> Response:
            try:
                return await handler(request)
            except HTTPException as exc:
                return JSONResponse(
                    {
                        "detail": exc.detail,
                        "code": ERROR_CODES.get(exc.status_code, "error"),
                        "message": str(exc.detail),
                        "success": False,
                    },
                    status_code=exc.status_code,
                    headers=exc.headers,
                )

        return answer


router = APIRouter(
    prefix="/segment/v1", tags=["segment"], responses=AUTH_ERRORS, route_class=SegmentErrors
)

MAX_BODY = 4 * 1024 * 1024  # Segment's own limit is 500 KB a batch; gzip must not inflate more


class SegmentOut(BaseModel):
    """Segment clients read only the status; people using curl read the counts."""

    success: bool = True
    stored: int = Field(description="Events stored on their lead.")
    duplicate: int = Field(description="Messages already stored (a retried flush).")
    pending: int = Field(description="Events kept until identify or alias names their lead.")
    identified: int = Field(description="identify and alias messages applied.")
    rejected: int = Field(description="Messages recorded as rejected, with the reason.")


async def message_body(request: Request) -> Any:
    """The JSON body, gunzipped when the client says so (rudder-sdk-python always does)."""
    body = await request.body()
    if request.headers.get("content-encoding", "").lower() == "gzip":
        try:
            body = _gunzip(body)
        except (OSError, EOFError, zlib.error) as exc:
            raise HTTPException(400, f"the body is not valid gzip: {exc}") from exc
    if len(body) > MAX_BODY:
        raise HTTPException(413, f"the body is over {MAX_BODY // (1024 * 1024)} MB")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise HTTPException(400, unreadable_body(exc) or "the body is not JSON") from exc


Body = Annotated[Any, Depends(message_body)]


@router.post("/batch", response_model=SegmentOut, responses=errors(400, 413))
def batch(state: StateDep, _: WriteKey, body: Body) -> SegmentOut:
    """`{"batch": [message, ...], "context"?: {...}}`: the messages in order."""
    messages = body.get("batch") if isinstance(body, dict) else None
    if not isinstance(messages, list):
        raise HTTPException(400, "batch: the body must be an object with a list of messages")
    check_batch_size(len(messages))
    context = body.get("context")
    return _ingest(state, messages, context if isinstance(context, dict) else None)


def _single(kind: str) -> Any:
    def route(state: StateDep, _: WriteKey, body: Body) -> SegmentOut:
        if not isinstance(body, dict):
            raise HTTPException(400, f"{kind}: the body must be a JSON object (one message)")
        return _ingest(state, [{**body, "type": body.get("type", kind)}], None)

    route.__name__ = kind
    route.__doc__ = f"One {kind} message (its type may be left out)."
    return route


for _kind in KINDS:
    router.add_api_route(
        f"/{_kind}",
        _single(_kind),
        methods=["POST"],
        response_model=SegmentOut,
        responses=errors(400, 413),
        name=f"segment_{_kind}",
    )


def _ingest(state: ServiceState, messages: list[Any], context: dict[str, Any] | None) -> SegmentOut:
    ctx = state.agent.ctx
    report = ingest_segment_messages(
        ctx.db, messages, ctx.playbook, now=ctx.clock(), batch_context=context
    )
    _count(state, report)
    state.jobs.redecide(report.leads)
    return SegmentOut(
        stored=report.stored,
        duplicate=report.duplicate,
        pending=report.pending,
        identified=report.identified,
        rejected=report.rejected,
    )


def _count(state: ServiceState, report: SegmentReport) -> None:
    for status, count in (
        ("stored", report.stored),
        ("duplicate", report.duplicate),
        ("rejected", report.rejected),
    ):
        if count:
            state.metrics.events.labels(status).inc(count)


def _gunzip(body: bytes) -> bytes:
    """At most one byte past the limit: a small body that inflates to gigabytes stops there."""
    with gzip.GzipFile(fileobj=io.BytesIO(body)) as stream:
        return stream.read(MAX_BODY + 1)
