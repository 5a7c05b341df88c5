"""All configuration in one place: ``Settings`` reads ``RUBRICATE_*`` environment variables (and ``.env``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings"]


class Settings(BaseSettings):
    """rubricate's settings. Nothing reads the environment at import time: create ``Settings()`` where needed."""

    model_config = SettingsConfigDict(env_prefix="RUBRICATE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".rubricate"), description="Database, models, Label Studio data.")
    cache_dir: Path = Field(default=Path.home() / ".cache" / "rubricate",
                            description="Dequantised models, Label Studio's venv and template; shared by projects.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    auto_migrate: bool = Field(default=True, description="Upgrade the database schema when it is opened.")
    judge: str = Field(default="local", description="Default judge spec.")
    review_threshold: float = Field(default=0.8, ge=0, le=1, description="Default confidence for auto-accept.")
    audit_rate: float = Field(default=0.05, ge=0, le=1, description="Share of confident items sampled for audit.")
    audit_seed: int = 0
    broker_url: str | None = Field(default=None, description="Redis URL; when set, jobs run on Celery workers.")
    label_studio_url: str | None = Field(default=None, description="An existing Label Studio server to use.")
    label_studio_token: str | None = None
    webhook_secret: str | None = Field(default=None, description="Shared secret for Label Studio webhooks.")
    max_transcript_chars: int = Field(default=2_000_000, description="Larger transcripts are refused (413).")
    api_host: str = "127.0.0.1"
    api_port: int = 8000

    def resolved_database_url(self) -> str:
        """The database URL to use: the configured one, or a SQLite file inside ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rubricate.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"
