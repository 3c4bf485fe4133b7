"""A real HTTP server on 127.0.0.1 that speaks OpenAI chat completions, scripted per test.

Tests talk to it through the real `openai` SDK, so timeouts, status codes, Retry-After headers and
connection handling are exercised end to end instead of being mocked inside the client. Like
simonw/llm's MockModel, a test queues the replies it wants (`server.enqueue(...)`); once the queue
is empty every request gets `server.default`. Every request is recorded in `server.requests`.

    from tests.utils.fake_openai import FakeOpenAI, Reply, fake_openai_fixture  # noqa: F401

    def test_x(fake_openai: FakeOpenAI) -> None:
        fake_openai.enqueue(Reply.error(429, retry_after=0), Reply.json({"subject": "Hi"}))
        ...
        assert len(fake_openai.requests) == 2
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

CHAT_PATH = "/v1/chat/completions"

_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_exceeded",
    500: "server_error",
    502: "server_error",
    503: "server_error",
}


ASKED_UNSUBSCRIBE_LINE = "<<the unsubscribe line the prompt asks for>>"
"""Put this in a scripted draft: the server answers with the line the request asked for (the
service signs a fresh link per lead, so no test can know it beforehand)."""
_ASKING = "verbatim, as its last line:\n"


@dataclass(frozen=True)
class Reply:
    """One scripted answer. Build it with the class methods rather than by hand."""

    status: int = 200
    content: str | None = None
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    finish_reason: str = "stop"
    prompt_tokens: int = 120
    completion_tokens: int = 80
    raw_body: bytes | None = None
    answer: Callable[[list[dict[str, Any]]], Any] | None = None
    """Builds the content (JSON-serialised) from the request's messages: a server that echoes
    what its prompt said, to see what a model that did as the prompt says would write."""

    @classmethod
    def echo(cls, answer: Callable[[list[dict[str, Any]]], Any], **kwargs: Any) -> Reply:
        """A 200 whose content `answer(messages)` builds from the prompt it was sent."""
        return cls(answer=answer, **kwargs)

    @classmethod
    def json(cls, payload: Any, **kwargs: Any) -> Reply:
        """A 200 whose message content is `payload` serialised as JSON (a well-formed answer)."""
        return cls(content=json.dumps(payload), **kwargs)

    @classmethod
    def text(cls, content: str, **kwargs: Any) -> Reply:
        """A 200 whose message content is `content` verbatim (use it for malformed output)."""
        return cls(content=content, **kwargs)

    @classmethod
    def error(
        cls, status: int, *, retry_after: float | None = None, retry_after_ms: int | None = None
    ) -> Reply:
        """An HTTP error in OpenAI's error format, optionally with Retry-After headers."""
        headers: dict[str, str] = {}
        if retry_after is not None:
            headers["Retry-After"] = f"{retry_after:g}"
        if retry_after_ms is not None:
            headers["retry-after-ms"] = str(retry_after_ms)
        return cls(status=status, headers=headers)

    @classmethod
    def slow(cls, seconds: float, then: Reply | None = None) -> Reply:
        """Wait `seconds` before answering with `then` (default: a non-JSON text reply)."""
        base = then if then is not None else cls.text("slow reply")
        return cls(
            status=base.status,
            content=base.content,
            delay=seconds,
            headers=base.headers,
            finish_reason=base.finish_reason,
            prompt_tokens=base.prompt_tokens,
            completion_tokens=base.completion_tokens,
            raw_body=base.raw_body,
        )

    @classmethod
    def raw(cls, body: bytes, status: int = 200) -> Reply:
        """An HTTP body sent as-is (e.g. not JSON at all), bypassing the completion envelope."""
        return cls(status=status, raw_body=body)


@dataclass(frozen=True)
class RecordedRequest:
    """What the client sent: method, path, lower-cased headers and the parsed JSON body."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", [])) if isinstance(self.body, dict) else []

    def message(self, role: str) -> str:
        """The content of the first message with `role` ('' when absent)."""
        for message in self.messages:
            if message.get("role") == role:
                content = message.get("content")
                return content if isinstance(content, str) else json.dumps(content)
        return ""


class FakeOpenAI:
    """The scripted server. Start it with `start()` (or use the `fake_openai` fixture)."""

    def __init__(self, default: Reply | None = None, model: str = "fake-model") -> None:
        self.default: Reply = default or Reply.text("fake_openai: no reply scripted")
        self.model = model
        self.requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        # Set on stop so handlers sleeping in a `slow` reply wake up instead of holding shutdown.
        self._stopping = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- scripting -------------------------------------------------------------------------------
    def enqueue(self, *replies: Reply) -> None:
        with self._lock:
            self._queue.extend(replies)

    def _next_reply(self) -> Reply:
        with self._lock:
            return self._queue.popleft() if self._queue else self.default

    @property
    def pending(self) -> int:
        """Scripted replies not yet consumed."""
        with self._lock:
            return len(self._queue)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.path == CHAT_PATH]

    def _record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    # --- lifecycle -------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("fake OpenAI server is not running")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def start(self) -> FakeOpenAI:
        # Port 0: the OS picks a free port, so parallel test runs never collide.
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self))
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the loop to notice, 0.5 s by default.
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAI:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- responses -------------------------------------------------------------------------------
    def _completion_body(self, reply: Reply, request_body: Any) -> dict[str, Any]:
        model = request_body.get("model", self.model) if isinstance(request_body, dict) else None
        content = reply.content
        if reply.answer is not None and isinstance(request_body, dict):
            content = json.dumps(reply.answer(list(request_body.get("messages", []))))
        if content is not None and ASKED_UNSUBSCRIBE_LINE in content:
            content = content.replace(ASKED_UNSUBSCRIBE_LINE, _asked_line(request_body))
        return {
            "id": f"chatcmpl-fake-{next(self._ids)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": model or self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content, "refusal": None},
                    "logprobs": None,
                    "finish_reason": reply.finish_reason,
                }
            ],
            "usage": {
                "prompt_tokens": reply.prompt_tokens,
                "completion_tokens": reply.completion_tokens,
                "total_tokens": reply.prompt_tokens + reply.completion_tokens,
            },
        }


def _asked_line(request_body: Any) -> str:
    messages = request_body.get("messages", []) if isinstance(request_body, dict) else []
    for message in messages:
        text = message.get("content") if isinstance(message, dict) else None
        if isinstance(text, str) and _ASKING in text:
            return text.split(_ASKING, 1)[1].splitlines()[0]
    return "fake_openai: the request asked for no unsubscribe line"


def _error_body(status: int) -> dict[str, Any]:
    return {
        "error": {
            "message": f"fake_openai scripted HTTP {status}",
            "type": _ERROR_TYPES.get(status, "api_error"),
            "param": None,
            "code": None,
        }
    }


def _make_handler(fake: FakeOpenAI) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        # HTTP/1.1 so the SDK's keep-alive pool behaves as it does against a real endpoint.
        protocol_version = "HTTP/1.1"
        # Headers and body go out in separate writes; without TCP_NODELAY, Nagle plus delayed
        # ACKs add ~40 ms to every response, which makes retry tests needlessly slow.
        disable_nagle_algorithm = True

        def log_message(self, format: str, *args: Any) -> None:
            """Silence the per-request stderr lines; tests read `fake.requests` instead."""

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body: Any = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("utf-8", "replace")
            headers = {k.lower(): v for k, v in self.headers.items()}
            # Recorded before any delay, so a request the client gave up on still counts as a call.
            fake._record(RecordedRequest("POST", self.path, headers, body))
            if self.path != CHAT_PATH:
                self._send(404, json.dumps(_error_body(404)).encode(), {})
                return
            reply = fake._next_reply()
            if reply.delay and fake._stopping.wait(reply.delay):
                return
            if reply.raw_body is not None:
                payload = reply.raw_body
            elif reply.status >= 400:
                payload = json.dumps(_error_body(reply.status)).encode()
            else:
                payload = json.dumps(fake._completion_body(reply, body)).encode()
            self._send(reply.status, payload, reply.headers)

        def _send(self, status: int, payload: bytes, headers: Mapping[str, str]) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                # The client timed out and hung up while we were "thinking": expected for slow.
                self.close_connection = True

    return Handler


# Registered as `fake_openai` but defined under another name: a test module imports
# `fake_openai_fixture` and takes a `fake_openai` argument, which ruff accepts (importing a
# fixture under the argument's own name is flagged F811).
@pytest.fixture(name="fake_openai")
def fake_openai_fixture() -> Iterator[FakeOpenAI]:
    """A running fake OpenAI endpoint for one test; `.base_url` ends in /v1."""
    with FakeOpenAI() as server:
        yield server
