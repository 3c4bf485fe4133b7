"""Runtime settings, read once from `NURTURE_*` environment variables (or a `.env` file)."""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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

    # --- drafting ------------------------------------------------------------------------------
    llm_base_url: str | None = Field(
        default=None,
        description="Any OpenAI-compatible endpoint (OpenAI, Azure, Ollama, vLLM), e.g. "
        "https://api.openai.com/v1. Unset: the offline template drafter writes every draft.",
    )
    llm_api_key: SecretStr = Field(
        default=SecretStr("not-needed"), description="The endpoint's key."
    )
    llm_model: str = Field(default="gpt-4o-mini", description="Model name at the endpoint.")
    llm_timeout_seconds: float = Field(default=60.0, gt=0, description="Per request.")
    llm_max_attempts: int = Field(default=3, ge=1, le=10, description="Tries per LLM call.")
    draft_concurrency: int = Field(default=8, ge=1, le=64, description="Drafts at once in `run`.")
    sweep_seconds: float = Field(
        default=300,
        ge=0,
        description="How often `nurture serve` re-decides leads whose recorded decision went "
        "stale (a wait ended, or older than decision_max_age_hours); 0 turns it off.",
    )
    job_heartbeat_seconds: float = Field(
        default=10,
        gt=0,
        description="PostgreSQL: how often a worker says it is alive (procrastinate heartbeat).",
    )
    job_stall_seconds: int = Field(
        default=60,
        ge=2,
        le=3600,
        description="PostgreSQL: a job whose worker has not said it is alive for this long is "
        "given to another worker (checked by a periodic job).",
    )
    api_key_cache_seconds: float = Field(
        default=5,
        ge=0,
        description="How long the service trusts an API key it verified before reading it "
        "again: a revoked key stops working within this time. 0: read on every request.",
    )
    answer_wait_seconds: float = Field(
        default=5,
        ge=0,
        le=60,
        description="How long an answer to a draft (API, inbox page) waits for the job that "
        "resumes its thread before answering 202 (the answer is kept; GET the approval).",
    )
    playbook_poll_seconds: float = Field(
        default=2,
        ge=0,
        description="On SQLite, how often a running service checks whether another process "
        "(e.g. `nurture playbook activate`) put a playbook in force; a one-row query. 0: never. "
        "On PostgreSQL the same, when playbook_watch is poll.",
    )
    playbook_watch: Literal["notify", "poll"] = Field(
        default="notify",
        description="PostgreSQL: how a running process learns of a playbook activation. notify: "
        "LISTEN/NOTIFY (at once). poll: a one-row query every playbook_poll_seconds, for a "
        "database reached through a transaction-pooling proxy (pgbouncer), where LISTEN hears "
        "nothing. SQLite always polls.",
    )
    decision_max_age_hours: float = Field(
        default=24, gt=0, description="Scores decay: a recorded decision older than this is stale."
    )
    llm_prices: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="USD per million tokens, prompt and completion, by model, for the cost of an "
        'eval run, e.g. {"gpt-4o-mini": [0.15, 0.6]}. A model not listed costs "unknown".',
    )

    # --- sending ---------------------------------------------------------------------------------
    smtp_host: str | None = Field(
        default=None, description="SMTP server; unset: approved emails go to <data_dir>/outbox."
    )
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = Field(default=True, description="Upgrade with STARTTLS (port 587).")
    smtp_ssl: bool = Field(default=False, description="Implicit TLS (port 465).")
    from_address: str = Field(default="nurture@routewise.example")
    from_name: str = Field(default="Routewise")
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Where people and mail systems reach this service (scheme, host, port, any "
        "path prefix; no trailing slash needed): emails link to <public_url>/unsubscribe/<token>.",
    )
    unsubscribe_url: str | None = Field(
        default=None,
        description="Your own preference centre instead of the service's page: the signed token "
        "fills {token}, or is appended as a `token` query parameter. It can record the "
        "unsubscribe with POST <public_url>/unsubscribe/<token>.",
    )
    unsubscribe_link_days: int = Field(
        default=365,
        ge=60,
        le=3650,
        description="How long an unsubscribe link keeps working after the email went out "
        "(the law asks at least 30 days; never less than 60 here).",
    )

    # --- feedback from the mail system -----------------------------------------------------------
    sendgrid_webhook_public_key: str | None = Field(
        default=None,
        description="SendGrid Event Webhook verification key (the base64 ECDSA public key under "
        "Mail Settings > Signed Event Webhook); unset: POST /v1/webhooks/sendgrid is refused.",
    )
    mailgun_signing_key: SecretStr | None = Field(
        default=None,
        description="Mailgun's HTTP webhook signing key; unset: /v1/webhooks/mailgun is refused.",
    )
    mail_webhook_secret: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 key of the generic mail-event webhook (/v1/webhooks/mail, "
        "header X-Nurture-Signature: sha256=<hex>); unset: refused.",
    )
    inbound_secret: SecretStr | None = Field(
        default=None,
        description="Authenticates the inbound-reply webhooks (/v1/inbound/postmark, "
        "/v1/inbound/sendgrid): the password of HTTP basic auth in the URL (any user name), or "
        "the last path segment (/v1/inbound/sendgrid/<secret>); unset: refused.",
    )
    sender_name: str | None = Field(
        default=None,
        description="A person who signs the template drafter's emails (first person only then); "
        "unset: 'The <from_name> team' signs.",
    )
    sender_title: str | None = Field(default=None, description="The signer's title.")

    # --- hand-off to sales -----------------------------------------------------------------------
    sales_webhook_url: str | None = Field(
        default=None, description="Where hand-offs are POSTed (HMAC-signed JSON)."
    )
    webhook_secret: SecretStr = Field(
        default=SecretStr("change-me"), description="HMAC-SHA256 key for the webhook signature."
    )
    handoff_webhook_format: Literal["nurture", "slack"] = Field(
        default="nurture",
        description="The webhook body: nurture (the hand-off as JSON) or slack (an incoming-"
        "webhook message with `text` and `blocks`); signed the same way either way.",
    )
    handoff_attempts: int = Field(
        default=8,
        ge=1,
        le=20,
        description="Requests a hand-off webhook gets (from a job) before it is marked failed; "
        "only connection errors, timeouts, 429 and 5xx are tried again.",
    )
    handoff_backoff_seconds: int = Field(
        default=3,
        ge=1,
        le=60,
        description="The wait before the n-th retry of a hand-off webhook is this to the power "
        "n seconds (3: 3, 9, 27, ... s).",
    )

    # --- the service's defences -----------------------------------------------------------------
    auth_failures_per_minute: int = Field(
        default=10,
        ge=1,
        description="Wrong API keys one client address may present per minute; past it, 429 "
        "with Retry-After (a valid key always passes).",
    )
    auth_failures_per_key_per_minute: int = Field(
        default=10, ge=1, description="Wrong secrets tried per minute for one key id, ditto."
    )
    redis_url: str | None = Field(
        default=None,
        description="Redis (redis://host:6379/0) holding the failed-attempt counts, so that "
        "replicas share them; unset: in memory, per process.",
    )
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="Proxies trusted to name the client in X-Forwarded-For / -Proto "
        "(comma-separated addresses or networks, or *), passed to uvicorn's "
        "--forwarded-allow-ips by `nurture serve`; unset: the client is the socket peer.",
    )
    csrf_secret: SecretStr | None = Field(
        default=None,
        description="HMAC key of the inbox forms' CSRF tokens; unset: a random one per process "
        "(open forms are refused once after a restart). Set it when running replicas.",
    )

    @property
    def checkpoint_path(self) -> Path:
        return self.data_dir / "checkpoints.sqlite"

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox"

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
