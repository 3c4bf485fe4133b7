"""A request id on every response (`X-Request-ID`), and a JSON 500 carrying it when a request
fails unexpectedly.

The 500 is answered here rather than by Starlette's ServerErrorMiddleware: that one re-raises
after answering, and uvicorn then closes the connection, so the client's next request on the
same keep-alive connection was reset."""

from __future__ import annotations

import re
import uuid

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import server_error

HEADER = "X-Request-ID"
# a client's own id is kept (to follow one request across services) if it is short and
# printable: it goes into log lines and a response header
_ACCEPTABLE = re.compile(rb"[\x21-\x7e]{1,64}")


class RequestIdMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _given(scope) or uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message)[HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            if started:  # part of the answer is out: nothing valid can follow it
                raise
            response = server_error(Request(scope), request_id)
            await response(scope, receive, send_with_id)


def _given(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"x-request-id" and _ACCEPTABLE.fullmatch(value):
            return bytes(value).decode("ascii")
    return None
