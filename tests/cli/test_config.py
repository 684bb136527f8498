"""The settings file and `bifrost config`: defaults < file < environment < flags."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Run


def _show(bifrost: Run, *args: str, env: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    shown = bifrost(*args, "config", "show", "--format", "json", env=env)
    assert shown.returncode == 0, shown.stderr
    settings: dict[str, dict[str, str]] = json.loads(shown.stdout)["settings"]
    return settings


def test_each_setting_says_where_it_came_from(bifrost: Run, tmp_path: Path) -> None:
    config = tmp_path / "bifrost.toml"
    config.write_text('top = 7\nfail_on = "warning"\ncache_ttl_s = 60\n')
    env = {"BIFROST_CONFIG": str(config), "BIFROST_FAIL_ON": "critical"}
    settings = _show(bifrost, env=env)
    assert settings["top"] == {"value": 7, "from": "file"}
    assert settings["fail_on"] == {"value": "critical", "from": "environment"}  # env beats file
    assert settings["cache_ttl_s"] == {"value": 60, "from": "file"}
    assert settings["max_input_tokens"]["from"] == "default"


def test_the_file_is_found_in_the_user_config_directory_or_named(
    bifrost: Run, tmp_path: Path
) -> None:
    home_config = tmp_path / "xdg-config"
    (home_config / "bifrost").mkdir(parents=True)
    (home_config / "bifrost" / "bifrost.toml").write_text("top = 3\n")
    named = tmp_path / "team.toml"
    named.write_text("top = 4\n")
    env = {"XDG_CONFIG_HOME": str(home_config)}
    assert _show(bifrost, env=env)["top"] == {"value": 3, "from": "file"}
    assert _show(bifrost, "--config", str(named), env=env)["top"] == {"value": 4, "from": "file"}
    path = bifrost("config", "path", env=env)
    assert path.stdout.strip() == str(home_config / "bifrost" / "bifrost.toml")


def test_the_file_changes_what_commands_do_and_flags_still_win(
    bifrost: Run, tmp_path: Path
) -> None:
    config = tmp_path / "bifrost.toml"
    config.write_text("top = 1\n")
    env = {"BIFROST_CONFIG": str(config)}
    one = bifrost("analyze", "--sample", "-n", "--format", "json", env=env)
    assert len(json.loads(one.stdout)["findings"]) == 1
    three = bifrost("analyze", "--sample", "-n", "--format", "json", "--top", "3", env=env)
    assert len(json.loads(three.stdout)["findings"]) == 3


def test_secrets_are_masked(bifrost: Run, tmp_path: Path) -> None:
    config = tmp_path / "bifrost.toml"
    config.write_text('database_url = "postgresql+asyncpg://app:hunter2@db:5432/bifrost"\n')
    env = {"BIFROST_CONFIG": str(config), "BIFROST_REDIS_URL": "redis://:s3cret@cache:6379/0"}
    for args in (("config", "show"), ("config", "show", "--format", "json")):
        shown = bifrost(*args, env=env)
        assert shown.returncode == 0, shown.stderr
        assert "hunter2" not in shown.stdout
        assert "s3cret" not in shown.stdout
        assert "app:***@db:5432" in shown.stdout


def test_a_bad_file_is_one_clear_line(bifrost: Run, tmp_path: Path) -> None:
    cases = {
        "top = 700\n": "top: must be less than or equal to 100 (got 700)",
        "tpo = 7\n": "unknown setting(s): tpo",
        "top = \n": "not valid TOML",
    }
    for text, message in cases.items():
        config = tmp_path / "bifrost.toml"
        config.write_text(text)
        result = bifrost("analyze", "--sample", "-n", env={"BIFROST_CONFIG": str(config)})
        assert result.returncode == 2, result.stderr
        assert message in result.stderr
        assert str(config) in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    missing = bifrost("--config", str(tmp_path / "nope.toml"), "config", "show")
    assert missing.returncode == 2
    assert "settings file not found" in missing.stderr


def test_a_bad_environment_variable_is_named_as_written(bifrost: Run) -> None:
    result = bifrost("analyze", "--sample", "-n", env={"BIFROST_TOP": "0"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "bifrost: error: BIFROST_TOP: must be greater than or equal to 1 (got '0')"
    )
