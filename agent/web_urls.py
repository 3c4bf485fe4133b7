"""What the playbook reads from a page URL: its path, and the campaign (`utm_*`) values of its
query.

Analytics tools send the full address (GA4's `page_location`, Segment's `url`) where a site's own
tracker sends a path, and a rule written as `path matches ^/pricing` must read both alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit

PATH = "path"
URL = "url"


def with_url_parts(properties: Mapping[str, Any]) -> Mapping[str, Any]:
    """`properties` with `path` reduced to the URL's path (from `path` or else `url`) and each
    `utm_*` value of the query added, unless the event already carries one of that name. The
    address as sent stays in `url` (unless the event has a `url` of its own). Properties
    without a URL come back unchanged (the same object)."""
    raw = properties.get(PATH)
    if not _looks_like_url(raw):
        raw = properties.get(URL) if raw is None else None
        if not _looks_like_url(raw):
            return properties
    assert isinstance(raw, str)
    try:
        parts = urlsplit(raw.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket: kept as sent, with no path to score
        return properties
    seen: dict[str, Any] = {
        name: value
        for name, value in parse_qsl(parts.query, keep_blank_values=False)
        if name.lower().startswith("utm_")
    }
    seen[PATH] = parts.path or "/"
    seen[URL] = raw.strip()  # nothing of what was sent is lost (`/pricing?plan=pro` too)
    # the event's own values win over what is read from its URL, except the path it names
    return {**seen, **properties, PATH: seen[PATH]}


def _looks_like_url(value: object) -> bool:
    return isinstance(value, str) and ("://" in value or "?" in value or "#" in value)
