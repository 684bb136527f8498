"""A level first: Python's `logging` default (`ERROR:name:msg`) and Maven (`[ERROR] msg`)."""

from __future__ import annotations

import re

from bifrost.engine.formats.base import LW, LogFormat
from bifrost.engine.records import Record
from bifrost.levels import normalise_level

_PYTHON = re.compile(rf"{LW}:(?:(?P<source>[\w.<>-]+):|\s+)(?P<msg>.*)")
_MAVEN = re.compile(r"\[(?P<level>INFO|ERROR|WARNING|WARN|DEBUG|FATAL)\](?: (?P<msg>.*))?")


def _parse_python(line: str) -> Record | None:
    """Python logging's default `ERROR:root:msg` (and uvicorn's `INFO:     msg`)."""
    if not line[:1].isupper():
        return None
    m = _PYTHON.match(line)
    if m is None:
        return None
    return Record(m["msg"], None, normalise_level(m["level"]), m["source"])


def _parse_maven(line: str) -> Record | None:
    """Maven: `[INFO] msg`; the message keeps its indentation (wrapped test output)."""
    if not line.startswith("["):
        return None
    m = _MAVEN.match(line)
    if m is None:
        return None
    return Record(m["msg"] or "", None, normalise_level(m["level"]))


PYTHON = LogFormat("python", _parse_python)
MAVEN = LogFormat("maven", _parse_maven)
