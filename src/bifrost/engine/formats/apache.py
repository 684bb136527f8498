"""Apache's error log: `[Sun Dec 04 04:47:44 2005] [error] msg`."""

from __future__ import annotations

import re

from bifrost.engine.formats.base import LogFormat
from bifrost.engine.records import Record
from bifrost.levels import normalise_level

_APACHE = re.compile(
    r"\[(?P<ts>[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d(?:\.\d+)? \d{4})\] "
    r"\[(?:(?P<source>[\w-]+):)?(?P<level>\w+)\] (?:\[pid \d+(?::tid \d+)?\] )?(?P<msg>.*)"
)


def _parse_apache(line: str) -> Record | None:
    """Apache httpd error log, 2.2 and 2.4 (`[module:level] [pid …]`) styles."""
    if not line.startswith("["):
        return None
    m = _APACHE.match(line)
    if m is None:
        return None
    return Record(m["msg"], m["ts"], normalise_level(m["level"]), m["source"])


APACHE = LogFormat("apache", _parse_apache)
