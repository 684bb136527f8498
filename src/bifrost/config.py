"""One settings object: built-in defaults < environment (`BIFROST_*`) < command-line flags.

Flags are passed to `load_settings`, which validates them like any other source; nothing else
reads the environment directly.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from bifrost.errors import ConfigError

FailOn = Literal["warning", "error", "critical", "never"]
ProviderName = Literal["ollama", "bedrock", "openai"]


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BIFROST_", extra="ignore")

    top: int = Field(default=5, ge=1, le=100, description="Findings to show.")
    fail_on: FailOn = Field(default="error", description="Exit 1 at or above this severity.")
    chunk_bytes: int = Field(
        default=8 << 20,
        ge=1 << 12,
        description="Bytes read and mined at a time (the engine streams).",
    )
    max_line_bytes: int = Field(
        default=64 << 10, ge=256, description="Longer lines are cut to this for mining and display."
    )
    context_lines: int = Field(default=3, ge=0, le=50, description="Lines shown before evidence.")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the history database (postgresql+asyncpg://… in "
        "production); unset: SQLite in the user data directory.",
    )
    redis_url: str | None = Field(
        default=None, description="Redis URL for the shared cache (replicas); unset: database."
    )
    cache_ttl_s: int = Field(default=24 * 3600, ge=0, description="How long a cached answer lives.")
    llm: ProviderName | None = Field(
        default=None, description="LLM provider for a written explanation; unset: built-in only."
    )
    model: str | None = Field(default=None, description="The provider's model (id or ARN).")
    base_url: str | None = Field(
        default=None, description="Provider server (Ollama: OLLAMA_HOST is read too)."
    )
    max_input_tokens: int = Field(
        default=3000, ge=256, le=200_000, description="Budget of the digest sent to the LLM."
    )
    llm_timeout_s: float = Field(default=120.0, gt=0, description="How long to wait for it.")

    # The service (`bifrost serve`).
    auth: bool | None = Field(
        default=None,
        description="Require API keys; unset: on when serving on a non-loopback address.",
    )
    max_request_bytes: int = Field(
        default=50 << 20, ge=1024, description="Largest request body accepted (413 beyond)."
    )
    max_input_bytes: int = Field(
        default=1 << 30,
        ge=1024,
        description="Largest log the server analyses once decompressed (a gzip-bomb guard).",
    )
    max_analyses: int = Field(
        default=2, ge=1, le=256, description="Analyses run at once per server process."
    )
    queue_timeout_s: float = Field(
        default=10.0, ge=0, description="How long a request waits for a free slot before 503."
    )
    engine_processes: int = Field(
        default=2,
        ge=0,
        le=64,
        description="Processes that run the engine for the server (0: a thread, in process).",
    )
    rate_limit: str = Field(
        default="600/minute",
        description="Requests allowed per API key (or per client address when auth is off), "
        "as N/second|minute|hour|day; a key's own rate overrides it.",
    )
    log_format: Literal["json", "console"] = Field(
        default="json", description="The server's logs: JSON lines, or text for people."
    )
    cors_origins: list[str] = Field(
        default_factory=list, description="Origins allowed by CORS; empty: CORS off."
    )


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment, with explicit overrides (flags) on top."""
    clean = {k: v for k, v in overrides.items() if v is not None}
    try:
        return Settings(**clean)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
        )
        raise ConfigError(f"invalid setting: {problems}") from None
