"""Safe Markdown for the "why" of a draft: raw HTML is not allowed (it is shown as text), link
targets go through markdown-it's own check (no javascript:, vbscript:, file: or data: URLs)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup


@lru_cache(maxsize=1)
def _parser() -> MarkdownIt:
    # "js-default" is CommonMark with html disabled; `breaks` keeps describe()'s one-fact-per-line
    parser = MarkdownIt("js-default", {"breaks": True})
    parser.add_render_rule("link_open", _open_link_in_new_tab)
    return parser


def _open_link_in_new_tab(
    self: Any, tokens: Sequence[Token], idx: int, options: Any, env: Any
) -> str:
    """Cited content opens beside the draft, and the content site learns nothing about us."""
    tokens[idx].attrSet("target", "_blank")
    tokens[idx].attrSet("rel", "noopener noreferrer")
    return str(self.renderToken(tokens, idx, options, env))


def render_markdown(text: str) -> Markup:
    rendered = _parser().render(_end_lists(text))
    return Markup(rendered)  # noqa: S704 - markdown-it escaped it (html disabled)


def _end_lists(text: str) -> str:
    """describe() writes one fact per line with no blank lines; in CommonMark a plain line after
    a list item continues that item, so "**Drafter:**" would land inside the last citation."""
    lines: list[str] = []
    for line in text.splitlines():
        if lines and _is_item(lines[-1]) and line.strip() and not _is_item(line):
            lines.append("")
        lines.append(line)
    return "\n".join(lines)


def _is_item(line: str) -> bool:
    return line.lstrip().startswith(("- ", "* "))
