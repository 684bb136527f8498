"""Log levels, normalised, ordered from least to most severe."""

from __future__ import annotations

from typing import Literal

Level = Literal["trace", "debug", "info", "notice", "warning", "error", "critical"]

LEVELS: tuple[Level, ...] = ("trace", "debug", "info", "notice", "warning", "error", "critical")
RANK: dict[str, int] = {name: i for i, name in enumerate(LEVELS)}

_ALIASES: dict[str, Level] = {
    "trace": "trace",
    "trc": "trace",
    "finest": "trace",
    "finer": "trace",
    "verbose": "trace",
    "debug": "debug",
    "dbg": "debug",
    "d": "debug",
    "fine": "debug",
    "config": "debug",
    "info": "info",
    "inf": "info",
    "i": "info",
    "information": "info",
    "informational": "info",
    "notice": "notice",
    "note": "notice",
    "warning": "warning",
    "warn": "warning",
    "wrn": "warning",
    "w": "warning",
    "error": "error",
    "err": "error",
    "e": "error",
    "severe": "error",
    "failure": "error",
    "critical": "critical",
    "crit": "critical",
    "fatal": "critical",
    "f": "critical",
    "panic": "critical",
    "emerg": "critical",
    "emergency": "critical",
    "alert": "critical",
}


def normalise_level(word: str) -> Level | None:
    """Map a level word as logs write it (`WARN`, `E`, `Fatal`, `SEVERE`) to a `Level`."""
    return _ALIASES.get(word.strip().lower())
