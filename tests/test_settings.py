"""How the settings are read: defaults < file < environment < flags, each source validated."""

from __future__ import annotations

from pathlib import Path

import pytest

from bifrost.config import load_settings_with_origins
from bifrost.errors import ConfigError


@pytest.fixture
def settings_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "bifrost.toml"
    path.write_text('top = 7\ncontext_lines = 4\nrate_limit = "10/second"\n', encoding="utf-8")
    monkeypatch.setenv("BIFROST_CONFIG", str(path))
    return path


def test_each_source_overrides_the_one_below(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIFROST_CONTEXT_LINES", "9")
    monkeypatch.setenv("bifrost_rate_limit", "5/minute")  # names in any case
    loaded = load_settings_with_origins(rate_limit="1/day")
    settings = loaded.settings
    assert (settings.top, settings.context_lines, settings.rate_limit) == (7, 9, "1/day")
    assert settings.fail_on == "error"
    assert {k: loaded.origins[k] for k in ("top", "context_lines", "rate_limit", "fail_on")} == {
        "top": "file",
        "context_lines": "environment",
        "rate_limit": "flag",
        "fail_on": "default",
    }


def test_environment_values_are_converted_and_lists_are_json(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BIFROST_AUTH", "yes")
    monkeypatch.setenv("BIFROST_LLM_TIMEOUT_S", "2.5")
    monkeypatch.setenv("BIFROST_CORS_ORIGINS", '["https://a.example", "https://b.example"]')
    settings = load_settings_with_origins().settings
    assert settings.auth is True
    assert settings.llm_timeout_s == 2.5
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("BIFROST_CORS_ORIGINS", "https://a.example", "BIFROST_CORS_ORIGINS: must be a JSON list"),
        ("BIFROST_TOP", "many", "BIFROST_TOP: must be a valid integer"),
        ("BIFROST_TOP", "0", "BIFROST_TOP: must be greater than or equal to 1"),
        ("BIFROST_LLM", "gpt", "BIFROST_LLM: must be 'ollama', 'bedrock' or 'openai'"),
    ],
)
def test_a_bad_variable_is_named_as_written(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match="^" + message):
        load_settings_with_origins()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        (
            "BIFROST_NOTIFY_DESTINATIONS",
            '{"t": {"kind": "webhook", "url": "https://hooks.example/x?token=tok-123"}}',
            "BIFROST_NOTIFY_DESTINATIONS: a webhook destination needs secret",
        ),
        (
            "BIFROST_NOTIFY_DESTINATIONS",
            "https://hooks.example/x?token=tok-123",
            "BIFROST_NOTIFY_DESTINATIONS: must be a JSON object",
        ),
        (
            "BIFROST_NOTIFY_RULES",
            '[{"destinations": ["nowhere"]}]',
            "settings: notify_rules: no destination named nowhere",
        ),
    ],
)
def test_notification_settings_are_checked_without_repeating_secrets(
    settings_file: Path, monkeypatch: pytest.MonkeyPatch, variable: str, value: str, message: str
) -> None:
    monkeypatch.setenv("BIFROST_DATABASE_URL", "postgresql+asyncpg://u:db-pass-9@h/d")
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError, match="^" + message) as raised:
        load_settings_with_origins()
    assert "tok-123" not in str(raised.value)
    assert "db-pass-9" not in str(raised.value)
