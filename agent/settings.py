"""Runtime settings, read once from `NURTURE_*` environment variables (or a `.env` file)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PLAYBOOK = PROJECT_ROOT / "config" / "playbook.yaml"
DEFAULT_CONTENT = PROJECT_ROOT / "content_library"


class Settings(BaseSettings):
    """Where state lives and which playbook rules it. Every field maps to `NURTURE_<NAME>`."""

    model_config = SettingsConfigDict(env_prefix="NURTURE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path(".nurture"),
        description="Folder for the embedded defaults (SQLite database, local indexes).",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL; unset means SQLite at <data_dir>/nurture.db. "
        "Example: postgresql+psycopg://user@127.0.0.1:5432/nurture",
    )
    playbook: Path = Field(default=DEFAULT_PLAYBOOK, description="The playbook YAML file.")
    content_dir: Path = Field(
        default=DEFAULT_CONTENT, description="Folder of marketing assets (Markdown + front matter)."
    )
    chroma_url: str | None = Field(
        default=None,
        description="A Chroma server (http://host:port); unset means a local store under data_dir.",
    )
    embedding: str = Field(
        default="wordllama",
        description="Embedding model for the content index: wordllama (bundled, offline).",
    )

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'nurture.db').resolve()}"


def get_settings() -> Settings:
    return Settings()
