"""What every format shares: the `LogFormat` type, level words, and plain text, the
fallback that parses every line."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass

from bifrost.engine.records import Record
from bifrost.levels import Level, normalise_level


@dataclass(frozen=True, slots=True)
class LogFormat:
    """A named line grammar.

    `parse` returns None when the line does not fit (under a headed format, a continuation
    line). `marker`, when set, must match at least one sample line before `detect` considers
    the format at all: for formats whose lines alone look too much like plain text.
    `ordered` is False for snapshots (`kubectl describe`) whose sections come in a fixed order
    rather than in time: where a line sits says nothing about when it happened.
    """

    name: str
    parse: Callable[[str], Record | None]
    marker: re.Pattern[str] | None = None
    ordered: bool = True  # False for snapshots whose lines are not in time order


# Level words as logs write them, all known to `normalise_level`; longest alternative first.
_LEVEL_WORDS = (
    "TRACE|DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|ERR|FATAL|CRITICAL|CRIT|SEVERE|ALERT|"
    "EMERGENCY|EMERG|PANIC|FINEST|FINER|FINE|CONFIG|VERBOSE|DBG|INF|WRN|TRC"
)
LW = rf"(?P<level>(?:{_LEVEL_WORDS})\b)"  # a bare level word: upper case only
LWI = rf"(?P<level>(?i:{_LEVEL_WORDS})\b)"  # a delimited level word: any case

# Words that mean a level in free text only when they lead the line in an obvious way.
_OBVIOUS = "error|err|warning|warn|fatal|critical|crit|info|debug|trace|notice|failure|severe"
_PLAIN_LEVEL = re.compile(
    rf"\s*+(?:(?:##)?\[(?P<bracket>(?i:{_OBVIOUS}))\]"  # [error] msg, GitHub's ##[error]msg
    rf"|(?P<colon>(?i:{_OBVIOUS})|[EWFew]):(?:\s|$)"  # ERROR: / error: / E: (apt), e: (kotlinc)
    r"|(?P<upper>ERROR|WARNING|WARN|FATAL|CRITICAL|SEVERE|INFO|DEBUG|TRACE|NOTICE)\b"
    r"|(?P<letter>[EWF])\s"  # pytest's `E   assert …`
    r"|npm (?P<npm>ERR|WARN)!?\s"
    r"|(?P<build>BUILD FAILED|BUILD FAILURE)\b)"
)


# A compiler's or linter's diagnostic: `src/a.c:12:5: error: …`, `Main.hs:94:10: Warning:`,
# `psql:migrate.sql:3: NOTICE:`; and CMake's status lines (`-- Looking for pthread.h`).
_DIAGNOSTIC = re.compile(
    r"\s*+[^\s:]++(?::[^\s:]+)?(?::\d+){1,2}:\s*(?:fatal\s+)?"
    r"(?P<word>(?i:error|warning|notice|note|info))\b"
)
_CMAKE_STATUS = re.compile(r"-- [A-Z]")


def guess_level(text: str) -> Level | None:
    """The level a free-text line announces with a leading level word, if it obviously does."""
    m = _PLAIN_LEVEL.match(text)
    if m is None:
        diagnostic = _DIAGNOSTIC.match(text)
        if diagnostic is not None:
            return normalise_level(diagnostic["word"])
        return "info" if _CMAKE_STATUS.match(text) else None
    if m["build"]:
        return "error"
    word = m["bracket"] or m["colon"] or m["upper"] or m["letter"] or m["npm"]
    return normalise_level(word)


SYSLOG_SEVERITY: tuple[Level, ...] = (
    "critical",  # emerg
    "critical",  # alert
    "critical",  # crit
    "error",
    "warning",
    "notice",
    "info",
    "debug",
)


_BUNYAN_LEVEL: dict[int, Level] = {
    10: "trace",
    20: "debug",
    30: "info",
    40: "warning",
    50: "error",
    60: "critical",
}


def numeric_level(value: int) -> Level | None:
    """0–7 are syslog severities (journald PRIORITY); 10–60 are bunyan/pino levels."""
    if 0 <= value <= 7:
        return SYSLOG_SEVERITY[value]
    return _BUNYAN_LEVEL.get(value)


def plain(line: str) -> Record:
    return Record(message=line, level=guess_level(line))


PLAIN = LogFormat("plain", plain)
"""The fallback: every line parses, message is the line, level only if obvious."""


QUOTED = r'"(?:[^"\\]|\\.)*"'
"""A double-quoted value with backslash escapes (logfmt, klog)."""


def unquote(value: str) -> str:
    if not value.startswith('"'):
        return value
    if "\\" not in value:
        return value[1:-1]
    try:
        return str(json.loads(value))
    except ValueError:
        return value[1:-1]
