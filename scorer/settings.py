"""All configuration in one place: ``Settings`` reads ``RUBRICATE_*`` environment variables (and ``.env``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from scorer import limits
from scorer.routing import DEFAULT_AUDIT_RATE, DEFAULT_REVIEW_THRESHOLD

if TYPE_CHECKING:
    from scorer.judges._base import JudgeOptions

__all__ = ["OFFLINE_ENVIRONMENT", "Settings", "use_offline_hubs"]

OFFLINE_ENVIRONMENT = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
"""Nothing is fetched from a model hub or a price list at run time: models come from disk, costs from litellm's
bundled map. A user's own environment wins (``setdefault``)."""


def use_offline_hubs() -> None:
    """Set :data:`OFFLINE_ENVIRONMENT` where the user has not; called before a model or litellm is loaded."""
    for name, value in OFFLINE_ENVIRONMENT.items():
        os.environ.setdefault(name, value)


class Settings(BaseSettings):
    """rubricate's settings. Nothing reads the environment at import time: create ``Settings()`` where needed."""

    model_config = SettingsConfigDict(env_prefix="RUBRICATE_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default=Path(".rubricate"), description="Database, models, Label Studio data.")
    cache_dir: Path = Field(default=Path.home() / ".cache" / "rubricate",
                            description="Dequantised models, Label Studio's venv and template; shared by projects.")
    database_url: str | None = Field(default=None, description="SQLAlchemy URL; default SQLite in data_dir.")
    auto_migrate: bool = Field(default=True, description="Upgrade the database schema when it is opened.")
    judge: str = Field(default="local", description="Default judge spec.")
    review_threshold: float = Field(default=DEFAULT_REVIEW_THRESHOLD, ge=0, le=1,
                                    description="Default confidence for auto-accept.")
    audit_rate: float = Field(default=DEFAULT_AUDIT_RATE, ge=0, le=1,
                              description="Share of confident items sampled for audit.")
    audit_seed: int = 0
    broker_url: str | None = Field(default=None, description="Redis URL; when set, jobs run on Celery workers.")
    label_studio_url: str | None = Field(default=None, description="An existing Label Studio server to use.")
    label_studio_token: str | None = None
    webhook_secret: str | None = Field(default=None, description="Shared secret for Label Studio webhooks.")
    max_transcript_chars: int = Field(default=2_000_000, description="Larger transcripts are refused (413).")
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # The scoring service (api/, `rubricate serve` and `rubricate worker`) ---------------------------------------
    max_body_bytes: int = Field(default=32 * 1024 * 1024, gt=0, description="Larger request bodies are refused (413).")
    max_batch: int = Field(default=1000, ge=1, description="Most conversations accepted in one ingest request.")
    allowed_judges: list[str] = Field(default_factory=list,
                                      description="Judges API clients may name besides `judge` (JSON list).")
    worker_enabled: bool = Field(default=True, description="Run the in-process worker in `rubricate serve` "
                                 "(only when no broker is set).")
    worker_concurrency: int = Field(default=2, ge=1, description="Jobs worked on at once per worker process.")
    batch_attempts: int = Field(default=3, ge=1, description="Times `score --batch` submits a conversation that "
                                "stays unscored before giving it up (stored unscored with its reason, for review).")
    worker_nice: int = Field(default=10, ge=0, le=19, description="CPU niceness `rubricate worker` runs at (0: "
                             "the normal priority): scoring is background work, so on a host it shares with the API "
                             "or the database it gives way to them; alone on a host it changes nothing.")
    judge_concurrency: int = Field(default=4, ge=1, description="Judge calls in flight at once per process.")
    judge_calls_per_minute: float | None = Field(default=None, gt=0,
                                                 description="Cap on judge calls per minute per process.")
    job_chunk_size: int = Field(default=25, ge=1, description="Conversations per unit of work a worker claims.")
    job_heartbeat_seconds: float = Field(default=5.0, gt=0, description="How often a worker marks its work alive.")
    job_stale_seconds: float = Field(default=60.0, gt=0,
                                     description="Work without a heartbeat for this long is taken over.")
    worker_poll_seconds: float = Field(default=1.0, gt=0, description="Idle in-process worker's polling interval.")
    broker_timeout_seconds: float = Field(default=2.0, gt=0, description="Timeout talking to the broker (Redis).")
    broker_queue: str = Field(default="rubricate", min_length=1,
                              description="Celery queue; one queue per database (workers and API must agree).")

    # Hostile input: limits enforced before expensive work (docs/security.md) ---------------------------------------
    max_json_depth: int = Field(default=limits.MAX_JSON_DEPTH, ge=2, le=900,
                                description="Deepest nesting of objects/arrays in one conversation record.")
    max_id_length: int = Field(default=255, ge=1, le=255,
                               description="Longest conversation id (the database column holds 255).")
    max_rubric_bytes: int = Field(default=limits.MAX_RUBRIC_BYTES, gt=0,
                                  description="Largest rubric YAML/JSON accepted.")
    yaml_max_aliases: int = Field(default=limits.YAML_MAX_ALIASES, ge=0,
                                  description="Most YAML aliases (*name) in one rubric.")
    yaml_max_nodes: int = Field(default=limits.YAML_MAX_NODES, gt=0,
                                description="Most YAML nodes in a rubric once aliases are expanded.")
    # PII redaction before hosted (litellm/...) judges ----------------------------------------------------------------
    redact_pii: bool = Field(default=True, description="Replace PII with placeholders before a hosted model call.")
    pii_patterns: dict[str, str] = Field(default_factory=dict,
                                         description="Extra PII patterns, KIND → regular expression (JSON object).")
    # The dashboard (/ui/) ----------------------------------------------------------------------------------------
    ui_secret: str | None = Field(default=None, description="Signs dashboard session cookies; default: a random "
                                  "secret per start (sessions end at a restart; set it when running several "
                                  "processes).")
    ui_session_hours: float = Field(default=12.0, gt=0, description="How long a dashboard login lasts.")
    ui_rollups: bool = Field(default=True, description="Read the dashboard's numbers from the daily rollups; false "
                             "aggregates every card and judgement instead (the same numbers, much slower).")
    lab_dir: Path | None = Field(default=None, description="Folder of rubric-lab JSON results the criterion page "
                                 "reads its last verdict from; default data_dir/lab.")
    # The QA programme (docs/programme.md) ----------------------------------------------------------------------
    eligibility_file: Path | None = Field(default=None, description="YAML with the eligibility rules of every rubric "
                                          "that has no eligibility block of its own.")
    spam_model_dir: Path | None = Field(default=None, description="The learned spam filter eligibility uses when "
                                        "present (`rubricate train --spam`); default data_dir/models/spam.")
    dispute_window_days: int = Field(default=14, ge=0, description="Days after scoring an agent may dispute.")
    alert_url: str | None = Field(default=None, description="Webhook URL alerts are POSTed to (or a rubric's "
                                  "alerts.url).")
    alert_secret: str | None = Field(default=None, description="Secret that signs alerts (X-Rubricate-Signature).")
    alert_score_below: float = Field(default=50, ge=0, le=100, description="Alert when a score falls below this.")
    alert_max_attempts: int = Field(default=12, ge=1, description="Delivery attempts before an alert is failed.")
    alert_backoff_seconds: float = Field(default=5.0, gt=0, description="First retry delay; doubles each time.")
    alert_backoff_max_seconds: float = Field(default=900.0, gt=0, description="Longest delay between retries.")
    alert_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one alert delivery.")
    alert_poll_seconds: float = Field(default=2.0, gt=0, description="How often the worker sends due alerts.")
    dashboard_url: str | None = Field(default=None, description="Public base URL of the dashboard, for links in "
                                      "alerts (default http://<api_host>:<api_port>).")

    def resolved_database_url(self) -> str:
        """The database URL to use: the configured one, or a SQLite file inside ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'rubricate.db').resolve()}"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def judge_options(self, rubric_version: str | None = None, **overrides: Any) -> JudgeOptions:
        """The options every judge is created with, from these settings; ``overrides`` given as None are ignored
        (so a command-line flag left unset keeps the judge's own default)."""
        from scorer.judges._base import JudgeOptions

        given = {name: value for name, value in overrides.items() if value is not None}
        given = {"redact_pii": self.redact_pii, "pii_patterns": self.pii_patterns,
                 "max_concurrency": self.judge_concurrency, **given}
        return JudgeOptions(models_dir=self.models_dir, cache_dir=self.cache_dir, rubric_version=rubric_version,
                            **given)
