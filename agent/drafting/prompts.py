"""Prompt files: YAML front matter (`version`) plus `## system` and `## user` Jinja2 sections.

Prompts live as files so marketers and engineers can review wording changes like code, and every
draft records the `version` that produced it. Both sections are rendered from a `DraftRequest`
with StrictUndefined (a typo in a field name fails loudly instead of rendering empty).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import frontmatter
from jinja2 import Environment, StrictUndefined, Template

from agent.drafting.models import DraftRequest
from agent.settings import PROJECT_ROOT

DEFAULT_PROMPT_PATH = PROJECT_ROOT / "prompts" / "draft_email.md"
SECTIONS = ("system", "user")

_HEADING = re.compile(r"^## +(\w+)[ \t]*$", re.MULTILINE)
# "<" that opens a tag ("<x", "</x"). Data is wrapped in tags like <lead_messages>; a lead who
# writes "</lead_messages>" must not be able to close that tag and speak outside it.
_TAG_OPEN = re.compile(r"<(?=/?[A-Za-z!?])")


class PromptError(ValueError):
    """A prompt file is missing its version or its sections, or a template failed to render."""


def neutralise_tags(value: Any) -> Any:
    """Jinja2 `finalize` hook: every inserted string has tag openers replaced with a look-alike."""
    if isinstance(value, str):
        return _TAG_OPEN.sub("\u2039", value)  # "‹": reads the same to a model, opens no tag
    return value


def _environment() -> Environment:
    # autoescape stays off: the output is a plain-text prompt, not HTML, and HTML entities would
    # leak into the email (a fact like "P&G" must stay "P&G"). `finalize` does the escaping needed.
    return Environment(
        undefined=StrictUndefined,
        autoescape=False,
        finalize=neutralise_tags,
        keep_trailing_newline=False,
    )


@dataclass(frozen=True)
class RenderedPrompt:
    """The two messages to send, plus the version of the file they came from."""

    version: str
    system: str
    user: str

    def messages(self) -> list[dict[str, str]]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user},
        ]


@dataclass(frozen=True)
class PromptTemplate:
    """A loaded prompt file: its version and its compiled system and user templates."""

    version: str
    system: Template
    user: Template
    path: Path | None = None

    def render(self, request: DraftRequest) -> RenderedPrompt:
        # Fields are passed as attributes (not model_dump) so nested models keep their types.
        context = {name: getattr(request, name) for name in type(request).model_fields}
        try:
            return RenderedPrompt(
                version=self.version,
                system=self.system.render(context).strip(),
                user=self.user.render(context).strip(),
            )
        except Exception as exc:  # jinja2 raises several types; the caller needs one
            raise PromptError(f"prompt {self.version} failed to render: {exc}") from exc


def parse_prompt(text: str, path: Path | None = None) -> PromptTemplate:
    """Split a prompt file's text into its version and sections, and compile the sections."""
    where = str(path) if path else "prompt"
    post = frontmatter.loads(text)
    version = post.metadata.get("version")
    if not isinstance(version, str) or not version.strip():
        raise PromptError(f"{where}: front matter needs a non-empty `version`")
    sections = split_sections(post.content, where)
    env = _environment()
    return PromptTemplate(
        version=version.strip(),
        system=env.from_string(sections["system"]),
        user=env.from_string(sections["user"]),
        path=path,
    )


def split_sections(body: str, where: str) -> dict[str, str]:
    matches = list(_HEADING.finditer(body))
    names = [m.group(1).lower() for m in matches]
    if sorted(names) != sorted(SECTIONS):
        raise PromptError(f"{where}: needs exactly the sections ## system and ## user, got {names}")
    sections: dict[str, str] = {}
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(body)
        sections[names[i]] = body[match.end() : end].strip("\n")
    return sections


@lru_cache(maxsize=16)
def load_prompt(path: Path = DEFAULT_PROMPT_PATH) -> PromptTemplate:
    """Load (once per path) and compile a prompt file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise PromptError(f"cannot read prompt file {path}: {exc}") from exc
    return parse_prompt(text, Path(path))
