"""One settings object: built-in defaults < settings file < environment (`BIFROST_*`) <
command-line flags.

The settings file is TOML with the settings' names as keys (`top = 10`, `database_url =
"postgresql+asyncpg://…"`): `BIFROST_CONFIG` (set by `bifrost --config PATH`), else
`bifrost.toml` in the user's config directory. Flags are passed to `load_settings`, which
validates them like any other source; nothing else reads the environment directly.

The sources are merged here and validated by one plain pydantic model: pydantic-settings
did the same for 55 ms of import on every command (issue 14). Environment names are matched
in any case, and a list is given as JSON (`BIFROST_CORS_ORIGINS='["https://a.example"]'`), as
pydantic-settings read them.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin

from platformdirs import user_config_dir
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from bifrost.choices import FailOn, ProviderName, Severity, Verdict
from bifrost.errors import ConfigError, Worded, phrase
from bifrost.i18n import DEFAULT_LANGUAGE, LANGUAGES, language
from bifrost.i18n.validation import problem_named

CONFIG_ENV = "BIFROST_CONFIG"
SECRET_URLS = frozenset(
    {"database_url", "redis_url", "queue_url", "base_url", "mlflow_tracking_uri"}
)
"""Settings that are URLs which may hold a password (`config show` masks it)."""
SECRETS = frozenset({"session_secret"})
"""Settings that are secrets whole (`config show` hides them)."""
MAY_HOLD_SECRETS = SECRET_URLS | SECRETS | {"notify_destinations"}
"""Settings whose values an error message does not repeat (a password, a token, a key); the
notification destinations' secrets are `SecretStr`, masked wherever they are shown."""
ENV_PREFIX = "BIFROST_"


class NotifyDestination(BaseModel):
    """Where notifications go: a Slack incoming webhook (`slack`, its URL), Slack's Web API
    (`slack_api`, a bot token and a channel), or any HTTPS endpoint (`webhook`, its URL and a
    secret that signs every body). Only destinations named here are ever posted to."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["slack", "slack_api", "webhook"]
    url: SecretStr | None = Field(default=None, description="slack, webhook: the URL.")
    secret: SecretStr | None = Field(default=None, description="webhook: the signing secret.")
    token: SecretStr | None = Field(default=None, description="slack_api: the bot token.")
    channel: str | None = Field(default=None, description="slack_api: the channel.")
    api_url: str = Field(
        default="https://slack.com/api/", description="slack_api: the Web API's base URL."
    )

    @model_validator(mode="after")
    def _complete(self) -> NotifyDestination:
        needed = {
            "slack": ("url",),
            "webhook": ("url", "secret"),
            "slack_api": ("token", "channel"),
        }
        absent = [name for name in needed[self.kind] if getattr(self, name) is None]
        if absent:
            raise ValueError(f"a {self.kind} destination needs {' and '.join(absent)}")
        return self


class NotifyRule(BaseModel):
    """When to notify: an analysis of `tenant` whose verdict is one of `verdicts`, or that has a
    finding at or above `severity`, for the services, environments and categories named (`*`
    globs; empty: any), goes to `destinations`, once per `cooldown_s` for the same failure.
    Destinations stay the server's (their URLs and secrets are the operator's to allow); a rule
    chooses which tenant's analyses go there."""

    model_config = ConfigDict(extra="forbid")

    destinations: list[str] = Field(min_length=1)
    tenant: str = Field(
        default="default",
        pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$",
        description="The tenant whose analyses the rule watches.",
    )
    verdicts: list[Verdict] = Field(default_factory=lambda: list[Verdict](["failure"]))
    severity: Severity | None = Field(default=None, description="Or a finding at least this.")
    services: list[str] = Field(default_factory=list)
    envs: list[str] = Field(default_factory=list)
    categories: list[str] = Field(default_factory=list, description="Prefixes: `gpu`, `k8s.`.")
    cooldown_s: int = Field(default=3600, ge=0, description="The same failure, once per window.")
    muted_until: datetime | None = Field(default=None, description="Sends nothing until then.")


class Variant(BaseModel):
    """One arm of an experiment: what it changes of the LLM set-up (unset: as configured),
    its share of the analyses, and its price, for the report's cost column."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")
    weight: float = Field(default=1.0, gt=0, description="Its share, relative to the others.")
    llm: ProviderName | None = None
    model: str | None = None
    prompt: str | None = Field(default=None, description="NAME or NAME/VERSION.")
    base_url: str | None = None
    usd_per_million_input: float | None = Field(default=None, ge=0)
    usd_per_million_output: float | None = Field(default=None, ge=0)


class Experiment(BaseModel):
    """An A/B test of explanations: each explained input goes to one variant, chosen by its
    content's hash, so the same log always gets the same variant."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_.-]{0,79}$")
    variants: list[Variant] = Field(min_length=2)

    @model_validator(mode="after")
    def _distinct(self) -> Experiment:
        names = [v.name for v in self.variants]
        if len(set(names)) != len(names):
            raise ValueError(f"experiment {self.name}: variant names must differ")
        return self


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore")

    top: int = Field(default=5, ge=1, le=100, description="Findings to show.")
    fail_on: FailOn = Field(default="error", description="Exit 1 at or above this severity.")
    lang: str = Field(
        default=DEFAULT_LANGUAGE,
        description=f"The language Bifrost writes in: {', '.join(LANGUAGES)} (log lines are "
        "never translated).",
    )
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
    similar_by_meaning: bool = Field(
        default=True,
        description="Find similar past incidents by what their findings say, not only by their "
        "lines (needs the [memory] extra; 0.5 s to load its model once).",
    )
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
    max_output_tokens: int = Field(
        default=2048,
        ge=16,
        le=32_768,
        description="Longest answer the LLM may write (a truncated one is rejected as malformed).",
    )
    llm_timeout_s: float = Field(default=120.0, gt=0, description="How long to wait for it.")
    prompt: str = Field(
        default="triage",
        max_length=100,
        description="The prompt: NAME (its newest version) or NAME/VERSION (bifrost prompts).",
    )
    prompt_dir: str | None = Field(
        default=None, description="A folder of your own prompts (NAME_VERSION.md files)."
    )
    llm_rerank: bool = Field(
        default=False,
        description="Ask the LLM which of the engine's findings is the cause, and show that "
        "one first (the Report keeps both orders).",
    )
    experiment: Experiment | None = Field(
        default=None,
        description="An A/B test of explanations across variants (a TOML table; JSON in the "
        "env); `bifrost experiments report NAME` compares them.",
    )
    mlflow_tracking_uri: str | None = Field(
        default=None,
        description="An MLflow tracking server: each explained analysis is logged as a run "
        "(needs the `mlflow` extra); unset: nothing is tracked.",
    )
    mlflow_experiment: str = Field(
        default="bifrost",
        max_length=200,
        description="The MLflow experiment of runs outside an A/B experiment.",
    )

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
    queue_url: str | None = Field(
        default=None,
        description="A broker (redis://… or kafka://…): the server queues analyses for "
        "`bifrost worker` instead of running them; unset: it runs them itself.",
    )
    queue_prefix: str = Field(
        default="", max_length=100, description="The workers' stream or topic prefix (--prefix)."
    )
    job_wait_s: float = Field(
        default=300.0,
        ge=0,
        description="With a queue, how long a request waits for its job before answering 202.",
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
    forwarded_allow_ips: str | None = Field(
        default=None,
        description="Proxies whose X-Forwarded-For and X-Forwarded-Proto are believed: "
        "addresses or networks, comma-separated (`*`: any); unset: none, the client is the "
        "peer address.",
    )
    max_header_bytes: int = Field(
        default=64 << 10,
        ge=1024,
        description="Largest request line and headers accepted (400 and disconnected beyond).",
    )
    request_read_timeout_s: float = Field(
        default=60.0,
        gt=0,
        description="How long a client may take to send a request, headers and body, from "
        "its first byte (from connecting, for a connection's first); 408 and disconnected "
        "beyond.",
    )
    keepalive_timeout_s: int = Field(
        default=5, ge=1, description="How long an idle kept-alive connection stays open."
    )
    max_connections: int = Field(
        default=512,
        ge=1,
        description="Open connections per server process; a request beyond them gets 503.",
    )
    allowed_hosts: str | None = Field(
        default=None,
        description="Host names the server answers to besides `localhost` and IP addresses, "
        "comma-separated (`*.example.com`: its subdomains; `*`: any); others get 400.",
    )
    session_secret: str | None = Field(
        default=None,
        description="Signs the web UI's sign-in cookies; unset: `bifrost serve` makes one at "
        "each start (signing everyone out). Set it to keep sessions across restarts.",
    )
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="How long a web sign-in lasts."
    )
    auth_failure_limit: str = Field(
        default="20/minute",
        description="Unverified API keys tried per client address, as N/second|minute|hour|"
        "day; beyond it, 429 before any key lookup.",
    )

    # Notifications.
    notify_destinations: dict[str, NotifyDestination] = Field(
        default_factory=dict, description="Named places notifications go to (JSON in the env)."
    )
    notify_rules: list[NotifyRule] = Field(
        default_factory=list, description="When to notify which destinations (JSON in the env)."
    )
    public_url: str | None = Field(
        default=None, description="The web UI's address, for links in notifications."
    )

    @field_validator("lang")
    @classmethod
    def _known_language(cls, value: str) -> str:
        return language(value)  # ValueError names the languages

    @model_validator(mode="after")
    def _known_destinations(self) -> Settings:
        for rule in self.notify_rules:
            unknown = sorted(set(rule.destinations) - set(self.notify_destinations))
            if unknown:
                raise ValueError(f"notify_rules: no destination named {', '.join(unknown)}")
        return self


def config_path() -> Path:
    """The settings file: `BIFROST_CONFIG`, else `bifrost.toml` in the user config folder."""
    configured = os.environ.get(CONFIG_ENV)
    if configured:
        return Path(configured).expanduser()
    return Path(user_config_dir("bifrost", appauthor=False)) / "bifrost.toml"


def read_config_file(path: Path) -> dict[str, Any]:
    """The settings a file holds ({} when it does not exist, unless named explicitly)."""
    if not path.exists():
        if os.environ.get(CONFIG_ENV):
            raise ConfigError.said("config.not_found", path=path, variable=CONFIG_ENV)
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError.said("config.unreadable", path=path, problem=exc) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError.said("config.not_toml", path=path, problem=exc) from None
    unknown = sorted(set(data) - set(Settings.model_fields))
    if unknown:
        raise ConfigError.said("config.unknown", path=path, names=", ".join(unknown))
    return data


def read_environment() -> dict[str, Any]:
    """The settings the environment holds: `BIFROST_<NAME>`, in any case."""
    values = {key.upper(): value for key, value in os.environ.items()}
    found: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        variable = f"{ENV_PREFIX}{name.upper()}"
        if variable not in values:
            continue
        value: Any = values[variable]
        kind = _json_kind(field.annotation)
        if kind is not None:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                example = '\'["a", "b"]\'' if kind == "list" else "'{\"name\": {…}}'"
                got = "" if name in MAY_HOLD_SECRETS else f" (got {value!r})"
                raise ConfigError.said(
                    f"config.json_{kind}", variable=variable, example=example, got=got
                ) from None
        found[name] = value
    return found


def _json_kind(annotation: Any) -> str | None:
    """How the environment spells a setting that is a list, a mapping or a table: JSON."""
    if get_origin(annotation) is list:
        return "list"
    if get_origin(annotation) is dict:
        return "object"
    kinds = get_args(annotation) if get_origin(annotation) in (Union, UnionType) else ()
    if any(isinstance(k, type) and issubclass(k, BaseModel) for k in kinds):
        return "object"
    return None


def load_settings(**overrides: object) -> Settings:
    """Settings from the file and the environment, with explicit overrides (flags) on top."""
    return load_settings_with_origins(**overrides).settings


@dataclass(frozen=True)
class LoadedSettings:
    settings: Settings
    origins: dict[str, str]  # setting -> "default" | "file" | "environment" | "flag"
    file: Path


def load_settings_with_origins(**overrides: object) -> LoadedSettings:
    """The settings, and where each value came from (for `bifrost config show`)."""
    path = config_path()
    data = read_config_file(path)
    clean = {k: v for k, v in overrides.items() if v is not None}
    origins = _origins(clean, data)
    try:
        settings = Settings.model_validate({**data, **read_environment(), **clean})
    except ValidationError as exc:
        problems = [_problem(e, origins, path) for e in exc.errors()]
        every = Worded(lambda lang: "; ".join(problem.message_in(lang) for problem in problems))
        raise ConfigError.said("config.invalid", problems=every) from None
    return LoadedSettings(settings, origins, path)


def _problem(error: Any, origins: dict[str, str], path: Path) -> Worded:
    """One invalid setting as the user wrote it: `--top`, `BIFROST_TOP` or the file's key."""
    name = str(error["loc"][0]) if error["loc"] else "settings"
    where = {
        "flag": f"--{name.replace('_', '-')}",
        "environment": f"{ENV_PREFIX}{name.upper()}",
        "file": f"{path}: {name}",
    }.get(origins.get(name, ""), name)
    english = str(error["msg"]).replace("Input should be", "must be").removeprefix("Value error, ")
    problem = problem_named(error, where, english)
    if not error["loc"] or name in MAY_HOLD_SECRETS:  # the value is not echoed back
        return phrase("validation.first", field=where, problem=problem)
    return phrase("config.problem_got", field=where, problem=problem, got=repr(error["input"]))


def _origins(flags: dict[str, object], data: dict[str, Any]) -> dict[str, str]:
    env = {key.upper() for key in os.environ}
    origins = {}
    for name in Settings.model_fields:
        if name in flags:
            origins[name] = "flag"
        elif f"{ENV_PREFIX}{name.upper()}" in env:
            origins[name] = "environment"
        elif name in data:
            origins[name] = "file"
        else:
            origins[name] = "default"
    return origins
