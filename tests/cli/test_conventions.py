"""What every command shares: help that reads like a Unix tool's, one meaning per short flag,
usage errors on one line, and shell completion."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from typer.core import TyperGroup, TyperOption
from typer.main import get_command
from typer.testing import CliRunner

from bifrost.cli.app import app
from bifrost.config import Settings
from tests.conftest import DATA, Run

LOG = str(DATA / "logs" / "healthy.log")


def _walk(command: object, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], object]]:
    yield path, command
    if isinstance(command, TyperGroup):
        for name, sub in command.commands.items():
            yield from _walk(sub, (*path, name))


COMMANDS = dict(_walk(get_command(app), ()))


def _help(*path: str) -> str:
    result = CliRunner().invoke(app, [*path, "--help"], prog_name="bifrost", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    return result.output


def _options(path: tuple[str, ...]) -> list[TyperOption]:
    params = getattr(COMMANDS[path], "params", [])
    return [p for p in params if isinstance(p, TyperOption)]


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "bifrost")
def test_help_names_no_python_types_and_says_complete_sentences(path: tuple[str, ...]) -> None:
    text = _help(*path)
    assert "╭" not in text  # plain text, no boxes
    assert not re.search(r"<[a-z]", text), text  # no <bool>, <str>, <int range>, …
    assert "list[" not in text
    usage, first, *_ = text.split("\n\n")
    assert usage.startswith(f"Usage: {' '.join(('bifrost', *path))} ")
    assert first.strip().endswith("."), first
    if isinstance(COMMANDS[path], TyperGroup):  # each command's summary whole, never "…"
        assert "..." not in text.partition("\nCommands:\n")[2]


@pytest.mark.parametrize("path", list(COMMANDS), ids=lambda p: " ".join(p) or "bifrost")
def test_flags_take_no_value_and_values_have_an_uppercase_metavar(path: tuple[str, ...]) -> None:
    for option in _options(path):
        if option.is_flag:
            assert option.metavar is None, option.opts
        else:
            assert option.metavar, option.opts
            assert option.metavar == option.metavar.upper(), option.opts


# The one meaning of each short flag, in every command that has it.
SHORT_FLAGS = {
    "-f": "--format",
    "-q": "--quiet",
    "-v": "--verbose",
    "-V": "--version",
    "-n": "--no-store",
    "-m": "--model",
    "-F": "--follow",
    "-g": "--glob",
    "-j": "--jobs",
    "-p": "--port",
    "-w": "--workers",
    "-c": "--concurrency",
    "-l": "--level",
    "-e": "--regexp",
    "-t": "--template",
    "-C": "--context",
    "-N": "--line-number",  # as less -N: -n is --no-store
}


def test_a_short_flag_means_the_same_in_every_command() -> None:
    for path in COMMANDS:
        for option in _options(path):
            shorts = [o for o in option.opts if not o.startswith("--")]
            longs = [o for o in option.opts if o.startswith("--")]
            for short in shorts:
                assert SHORT_FLAGS.get(short) in longs, (path, short, longs)


@pytest.mark.parametrize(
    ("path", "short", "long"),
    [
        ((), "-V", "--version"),
        (("analyze",), "-q", "--quiet"),
        (("analyze",), "-f", "--format"),
        (("templates",), "-f", "--format"),
        (("export",), "-f", "--format"),
        (("watch",), "-F", "--follow"),
        (("history",), "-q", None),  # --query has no short flag: -q is quiet
        (("export",), "-q", None),
        (("watch",), "-f", None),  # --follow is -F: -f is format
    ],
)
def test_short_flags(path: tuple[str, ...], short: str, long: str | None) -> None:
    owners = [o for o in _options(path) if short in o.opts]
    assert [o for owner in owners for o in owner.opts if o.startswith("--")] == (
        [long] if long else []
    )
    if long:
        assert re.search(rf"^\s+{short}, {long}\b", _help(*path), re.MULTILINE)


def test_h_and_version() -> None:
    assert "-h, --help" in _help("analyze")
    version = CliRunner().invoke(app, ["-V"], prog_name="bifrost")
    assert version.exit_code == 0
    assert version.output.startswith("bifrost ")


def test_flag_ranges_are_the_settings_ranges() -> None:
    """A flag is checked where it is read, so an out-of-range value is a usage error."""
    for path, name, setting in [
        (("analyze",), "--top", "top"),
        (("analyze",), "--max-input-tokens", "max_input_tokens"),
    ]:
        (option,) = [o for o in _options(path) if name in o.opts]
        bounds = {
            attr: getattr(m, attr)
            for m in Settings.model_fields[setting].metadata
            for attr in ("ge", "le")
            if hasattr(m, attr)
        }
        assert (option.min, option.max) == (bounds["ge"], bounds["le"])


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (
            ["analyze", LOG, "--fail-on", "sometimes"],
            "--fail-on: must be one of warning, error, critical, never (got 'sometimes')",
        ),
        (
            ["analyze", LOG, "--format", "xml"],
            "--format: must be one of terminal, json, markdown, sarif, github, junit, "
            "github-summary, gitlab-codequality (got 'xml')",
        ),
        (
            ["analyze", LOG, "--llm", "gpt"],
            "--llm: must be one of ollama, bedrock, openai (got 'gpt')",
        ),
        (["analyze", LOG, "--top", "x"], "--top: must be an integer from 1 to 100 (got 'x')"),
        (["analyze", LOG, "-n", "--top", "0"], "--top: must be an integer from 1 to 100 (got '0')"),
        (["batch", LOG, "--jobs", "0"], "--jobs: must be an integer, at least 1 (got '0')"),
        (["serve", "--port", "99999"], "--port: must be an integer from 1 to 65535 (got '99999')"),
        (["history", "show", "abc"], "ID: must be an integer (got 'abc')"),
        (
            ["history", "--verdict", "bad"],
            "--verdict: must be one of ok, warning, unclear, failure (got 'bad')",
        ),
        (
            ["history", "--since", "yesterdayish"],
            "--since: must be 30m, 12h, 7d, 2w or a date like 2024-05-01 (got 'yesterdayish')",
        ),
        (["analyze", LOG, "--bogus"], "--bogus: no such option (see 'bifrost analyze -h')"),
        (["analyze", LOG, "--formt", "json"], "--formt: no such option; did you mean --format?"),
        (["analyze", LOG, "--top"], "--top: requires an argument"),
        (["analyze", "--no-color=true", LOG], "--no-color: does not take a value"),
        (["diff"], "missing LOG (usage: bifrost diff [OPTIONS] {LOG}...)"),
        (["nosuch"], "no such command 'nosuch' (see 'bifrost -h')"),
        (
            ["history", "show", "1", "2"],
            "got unexpected extra argument(s) (2) (see 'bifrost history show -h')",
        ),
        (["completion", "tcsh"], "SHELL: must be one of bash, zsh, fish (got 'tcsh')"),
    ],
)
def test_a_usage_error_is_one_line_and_exit_2(bifrost: Run, args: list[str], line: str) -> None:
    result = bifrost(*args)
    assert result.returncode == 2, result.stderr
    assert result.stderr == f"bifrost: error: {line}\n"
    assert result.stdout == ""


@pytest.mark.parametrize(
    ("shell", "words"),
    [("bash", "complete -o default -F"), ("zsh", "compdef"), ("fish", "complete")],
)
def test_completion_prints_the_script(bifrost: Run, shell: str, words: str) -> None:
    result = bifrost("completion", shell)
    assert result.returncode == 0, result.stderr
    assert words in result.stdout
    assert "bifrost" in result.stdout
    assert "_BIFROST_COMPLETE" in result.stdout


def test_the_scripts_complete_commands_and_choices(bifrost: Run) -> None:
    bash = {"_BIFROST_COMPLETE": "complete_bash", "COMP_WORDS": "bifrost ana", "COMP_CWORD": "1"}
    assert bifrost(env=bash).stdout.split() == ["analyze"]
    zsh = {
        "_BIFROST_COMPLETE": "complete_zsh",
        "_TYPER_COMPLETE_ARGS": "bifrost analyze --fail-on ",
    }
    assert "never" in bifrost(env=zsh).stdout
    fish = {
        "_BIFROST_COMPLETE": "complete_fish",
        "_TYPER_COMPLETE_FISH_ACTION": "get-args",
        "_TYPER_COMPLETE_ARGS": "bifrost completion ",
    }
    assert bifrost(env=fish).stdout.split() == ["bash", "zsh", "fish"]
