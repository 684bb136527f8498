"""syslog: RFC 3164 (`May  1 10:00:00 host tag[pid]: msg`) and RFC 5424 lines."""

from __future__ import annotations

import re

from bifrost.engine.formats.base import SYSLOG_SEVERITY, LogFormat
from bifrost.engine.records import Record
from bifrost.levels import normalise_level

_MONTHS = "Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec"
_SYSLOG_TAG = r"(?P<tag>[^\s:\[(]+(?:\([^)\s]*\))?(?: [\d.]+)?)(?:\[(?P<pid>\d+)\])?: ?"
_RFC3164 = re.compile(
    rf"(?:<(?P<pri>\d{{1,3}})>)?(?P<ts>(?:{_MONTHS}) [ \d]\d \d\d:\d\d:\d\d) "
    rf"(?P<host>\S+) +(?:-- )?{_SYSLOG_TAG}(?P<msg>.*)"
)
_RFC3339_SYSLOG = re.compile(
    r"(?:<(?P<pri>\d{1,3})>)?(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)) "
    rf"(?P<host>[\w.-]+) {_SYSLOG_TAG}(?P<msg>.*)"
)
_RFC5424 = re.compile(
    r"<(?P<pri>\d{1,3})>1 (?P<ts>\S+) (?P<host>\S+) (?P<tag>\S+) \S+ \S+ "
    r"(?:-|(?:\[(?:[^\]\\]|\\.)*\])+)(?: \ufeff?(?P<msg>.*))?"
)


def _parse_syslog(line: str) -> Record | None:
    if not line:
        return None
    first = line[0]
    m = None
    if first == "<" and ">1 " in line[:7]:
        m = _RFC5424.match(line)
    elif first.isdigit() or first == "<":
        m = _RFC3339_SYSLOG.match(line)
        if m is not None and normalise_level(m["host"]) is not None:
            return None  # `<ts> INFO logger: msg` is a timestamped line, not syslog
    if m is None and (first == "<" or first.isupper()):
        m = _RFC3164.match(line)
    if m is None:
        return None
    pri = m["pri"]
    tag = m["tag"]
    return Record(
        message=m["msg"] or "",
        timestamp=m["ts"],
        level=SYSLOG_SEVERITY[int(pri) % 8] if pri else None,
        source=None if tag == "-" else tag,
    )


SYSLOG = LogFormat("syslog", _parse_syslog)
