"""Where LangGraph Server's auth handler finds the key: the headers the HTTP API reads, in the
same order (tests/test_langgraph_dev.py drives the handler on a real server)."""

from __future__ import annotations

from base64 import b64encode

import pytest

from agent.server_auth import presented_key

KEY = "nk_0123456789ab_secret"


def _basic(user: str, password: str) -> bytes:
    return b"Basic " + b64encode(f"{user}:{password}".encode())


@pytest.mark.parametrize(
    ("headers", "found"),
    [
        ({b"authorization": f"Bearer {KEY}".encode()}, KEY),
        ({b"authorization": f"bearer  {KEY} ".encode()}, KEY),
        ({b"authorization": _basic("anyone", KEY)}, KEY),
        ({b"x-api-key": KEY.encode()}, KEY),
        ({b"authorization": f"Bearer {KEY}".encode(), b"x-api-key": b"nk_other_key"}, KEY),
        ({b"authorization": b"Basic not-base64!"}, None),
        ({b"authorization": _basic("anyone", "")}, None),
        ({b"authorization": b"Bearer "}, None),
        ({}, None),
    ],
)
def test_the_key_comes_from_the_api_headers(headers: dict[bytes, bytes], found: str | None) -> None:
    assert presented_key(headers) == found
