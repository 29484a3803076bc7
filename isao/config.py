"""Settings from the environment (prefix ``ISAO_``) or a ``.env`` file: the one place knobs live."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ISAO_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default=Path(".isao"), description="Where the SQLite file and generated secrets live."
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; defaults to a SQLite file in data_dir."
    )
    secret_key: str | None = Field(
        default=None,
        description="Fernet key for secrets at rest; generated into data_dir when unset.",
    )
    rate_limit: int = Field(default=600, ge=1, description="Requests each API key may make per window.")
    rate_limit_window: int = Field(default=60, ge=1, description="Rate-limit window in seconds.")
    key_cache_seconds: float = Field(
        default=5,
        ge=0,
        description="How long a server trusts a checked API key (revocations elsewhere wait this long).",
    )
    default_phone_region: str = Field(
        default="FR", description="Region assumed for phone numbers written without a country code."
    )
    allow_private_webhook_targets: bool = Field(
        default=True,
        description="Allow webhook targets on loopback/private addresses (single-company installs).",
    )
    db_pool_size: int = Field(default=20, ge=1)

    # the queue
    workers: int = Field(default=2, ge=0, description="Worker threads `isao serve` runs in-process.")
    job_lease_seconds: float = Field(
        default=60, gt=0, description="A claimed job is re-claimable after this."
    )
    job_max_attempts: int = Field(default=10, ge=1)
    retry_base_seconds: float = Field(
        default=2, gt=0, description="First back-off step for transient errors."
    )
    retry_cap_seconds: float = Field(default=3600, gt=0, description="Longest back-off for transient errors.")
    worker_batch: int = Field(default=4, ge=1, description="Jobs a worker claims at once (one lease).")
    worker_poll_seconds: float = Field(
        default=0.5, gt=0, description="Idle workers look for due jobs this often."
    )
    ack_priority_ms: float = Field(
        default=50,
        ge=0,
        description="In-process workers wait up to this long before a job while webhooks are being "
        "acknowledged (0: never).",
    )
    plugins: list[str] = Field(
        default_factory=list, description="Modules imported at start to register handlers."
    )
    recipes_dir: Path | None = Field(
        default=None, description="Your own recipes (YAML); a file here overrides a shipped one of its name."
    )

    # outgoing webhooks
    webhook_retry_schedule: list[float] = Field(
        default=[30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200],
        description="Seconds before each retry of a failed delivery (about 27 hours in all).",
    )
    webhook_disable_after: int = Field(
        default=20, ge=1, description="Consecutive failures that disable a hook."
    )
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    webhook_rate_per_second: float = Field(
        default=20, gt=0, description="Deliveries per second per target host."
    )

    # incoming webhooks
    hook_max_body_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    log_level: str = Field(default="INFO", pattern=r"(?i)^(debug|info|warning|error)$")
    dashboard_https_only: bool = Field(
        default=False, description="Send the dashboard's session cookie over HTTPS only (set behind TLS)."
    )
    host: str = "127.0.0.1"
    port: int = 8000

    def resolved_database_url(self) -> str:
        if self.database_url:
            url = self.database_url
            if url.startswith("postgres://"):
                url = "postgresql://" + url.removeprefix("postgres://")
            if url.startswith("postgresql://"):
                url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
            return url
        self.data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{(self.data_dir / 'isao.db').resolve()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
