"""A second origin on this machine: a tiny HTTP server on another loopback port serving one
page, as a hostile site on the same host would (same-site, yet cross-origin: cookies are not
bound to a port, so SameSite alone lets its requests carry the inbox's cookie)."""

from __future__ import annotations

import html
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def auto_submitting_form(action: str, fields: Mapping[str, str]) -> str:
    """A page that POSTs the fields to `action` as soon as it loads, as a forgery would."""
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'
        for name, value in fields.items()
    )
    return (
        "<!doctype html><html><body>"
        f'<form id="forged" method="post" action="{html.escape(action)}">{inputs}</form>'
        "<script>document.getElementById('forged').submit();</script>"
        "</body></html>"
    )


@contextmanager
def other_origin(page: str) -> Iterator[str]:
    """Serves `page` at every path of http://127.0.0.1:<free port>/; yields that URL."""
    body = page.encode()

    class Page(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's hook name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            pass  # keep the test output quiet

    server = ThreadingHTTPServer(("127.0.0.1", 0), Page)
    thread = threading.Thread(target=server.serve_forever, name="other-origin", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
