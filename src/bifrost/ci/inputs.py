"""What both CI steps share: the logs the pipeline names, and one analysis of them."""

from __future__ import annotations

import asyncio
import glob
import os
import subprocess
from pathlib import Path

from bifrost.analysis import Memory, analyze_and_store
from bifrost.config import Settings, load_settings
from bifrost.i18n import DEFAULT_LANGUAGE, message
from bifrost.i18n.reports import localized
from bifrost.render.locations import Workspace
from bifrost.report import Report

__all__ = [
    "analyse",
    "asked_language",
    "input_settings",
    "log_paths",
    "no_log",
    "repository_files",
    "workspace",
]

_INPUT_SETTINGS = ("fail_on", "top", "lang", "llm", "model", "base_url")


def input_settings() -> Settings:
    """The settings (file, `BIFROST_*`) with the pipeline's inputs on top: `INPUT_FAIL_ON`,
    `INPUT_TOP`, `INPUT_LANG`, `INPUT_LLM`, `INPUT_MODEL`, `INPUT_BASE_URL`. An empty input is
    no input: a CI gives an input that was not set as an empty string."""
    inputs = {name: os.environ.get(f"INPUT_{name.upper()}") or None for name in _INPUT_SETTINGS}
    return load_settings(**inputs)


def asked_language() -> str:
    """The language asked for, for an error that comes before the settings are read."""
    return os.environ.get("INPUT_LANG") or os.environ.get("BIFROST_LANG") or DEFAULT_LANGUAGE


def log_paths(patterns: str) -> list[str]:
    """The files the patterns match (globs, one a line, from the current folder; `**` spans
    folders), in order and each once."""
    found: list[str] = []
    for pattern in (line.strip() for line in patterns.splitlines()):
        for match in sorted(glob.glob(pattern, recursive=True)) if pattern else []:
            if Path(match).is_file() and match not in found:
                found.append(match)
    return found


def no_log(patterns: str, lang: str) -> str:
    """Why there is nothing to analyse: no pattern given, or no file matches them."""
    given = [line.strip() for line in patterns.splitlines() if line.strip()]
    if not given:
        return message("ci.no_log", lang)
    return message("ci.no_match", lang, patterns=", ".join(given))


def analyse(paths: list[str], settings: Settings) -> Report:
    """The Report of the logs, in the settings' language; the LLM only when one is configured.

    Nothing is stored and nothing is cached: a CI runner is thrown away after the job.
    """
    memory = Memory(store=False, use_cache=False)
    outcome = asyncio.run(analyze_and_store(paths, settings, memory))
    return localized(outcome.report, settings.lang)


def workspace(variable: str) -> Workspace:
    """The checkout: the CI's own variable for it, else the folder the step runs in; with the
    files git tracks there."""
    root = Path(os.environ.get(variable) or ".").resolve()
    return Workspace.of(root, repository_files(root))


def repository_files(root: Path) -> list[str]:
    """The files git tracks in the checkout at `root`, relative to it; none without git."""
    try:
        listed = subprocess.run(
            ["git", "-C", str(root), "ls-files", "-z"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [name for name in listed.decode("utf-8", "replace").split("\0") if name]
