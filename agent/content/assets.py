"""Marketing assets: Markdown files with YAML front matter, validated one by one so a malformed
asset is reported by file and field while the rest still load."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import frontmatter
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agent.playbook.models import ContentKind, Stage

AssetId = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9\-]*$", max_length=120)]


class AssetMeta(BaseModel):
    """The front matter of an asset."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: AssetId
    title: str = Field(min_length=1, max_length=200)
    kind: ContentKind
    stages: list[Stage] = Field(min_length=1)
    topics: list[str] = Field(min_length=1)
    industries: list[str] = Field(default_factory=list)
    personas: list[str] = Field(default_factory=list)
    url: str = Field(pattern=r"^https?://\S+$")
    summary: str = Field(min_length=1)
    facts: list[str] = Field(default_factory=list, description="Claims a draft may quote.")


@dataclass(frozen=True, slots=True)
class Asset:
    meta: AssetMeta
    body: str
    path: Path

    @property
    def id(self) -> str:
        return self.meta.id

    @property
    def content_hash(self) -> str:
        """Changes whenever anything a chunk or its metadata is built from changes."""
        payload = self.meta.model_dump_json() + "\n" + self.body
        return hashlib.sha256(payload.encode()).hexdigest()[:20]


@dataclass(frozen=True, slots=True)
class AssetProblem:
    file: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.field}: {self.message}"


@dataclass(frozen=True, slots=True)
class Library:
    assets: list[Asset]
    problems: list[AssetProblem]


def load_library(folder: Path) -> Library:
    """Every valid asset under `folder` (README.md excluded), and a problem per invalid one."""
    assets: list[Asset] = []
    problems: list[AssetProblem] = []
    owners: dict[tuple[str, str], str] = {}  # (field, value) -> the file that has it
    for path in sorted(folder.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        loaded = load_asset(path)
        if isinstance(loaded, list):
            problems += loaded
            continue
        # URLs must be unique too: a lead's page views name assets by URL
        keys = [("id", loaded.id), ("url", loaded.meta.url)]
        clashes = [key for key in keys if key in owners]
        for name, value in clashes:
            message = f"'{value}' is also used by {owners[(name, value)]}"
            problems.append(AssetProblem(path.name, name, message))
        if not clashes:
            owners.update({key: path.name for key in keys})
            assets.append(loaded)
    return Library(assets, problems)


def load_asset(path: Path) -> Asset | list[AssetProblem]:
    try:
        post = frontmatter.loads(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        return [AssetProblem(path.name, "front matter", f"not valid YAML: {exc}".splitlines()[0])]
    if not post.metadata:
        return [AssetProblem(path.name, "front matter", "missing (the file must start with ---)")]
    try:
        meta = AssetMeta.model_validate(post.metadata)
    except ValidationError as exc:
        return [
            AssetProblem(
                path.name,
                ".".join(str(p) for p in err["loc"]) or "front matter",
                "unknown field" if err["type"] == "extra_forbidden" else err["msg"],
            )
            for err in exc.errors()
        ]
    if not post.content.strip():
        return [AssetProblem(path.name, "body", "empty")]
    return Asset(meta, post.content, path)


def load_customers(folder: Path) -> set[str]:
    """The customer roster (`customers.yaml` beside the assets); empty when there is none."""
    path = folder / "customers.yaml"
    if not path.is_file():
        return set()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(name) for name in data.get("customers", [])}
