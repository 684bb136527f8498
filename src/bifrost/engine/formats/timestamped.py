"""A timestamp, then a level, a logger or both: most application logs."""

from __future__ import annotations

import re

from bifrost.engine.formats.base import LW, LWI, LogFormat
from bifrost.engine.records import Record
from bifrost.levels import normalise_level

_TS = (
    r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d)?(?:[.,]\d+)?(?: ?(?:Z|UTC|[+-]\d\d(?::?\d\d)?))?"
    r"|\d{4}/\d\d/\d\d[ T]\d\d:\d\d:\d\d(?:[.,]\d+)?"  # Go log, nginx
    r"|\d\d/\d\d/\d\d \d\d:\d\d:\d\d"  # Spark's log4j default
    r"|\d\d-[A-Z][a-z]{2}-\d{4} \d\d:\d\d:\d\d(?:[.,]\d+)?"  # Tomcat
    r"|1\d{9}(?:\d{3}|\d{6}|\d{9})?(?:\.\d+)?"  # epoch s/ms/µs/ns
    r"|\d\d:\d\d:\d\d(?:[.,]\d+)?"  # time of day (logback's default)
)
_TS_HEAD = re.compile(rf"(?:\[(?P<bts>{_TS})\]|(?P<ts>{_TS}))(?=\s|$)(?P<gap> ?)\s*")
_LOGGER = r"(?P<source>[A-Za-z_$][\w$-]*(?:\.[\w$-]+)+|[\w$]*[_$][\w$]*|root)"


def _patterns(*patterns: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for p in patterns)


# What may follow the timestamp, most specific first, by the first character after it.
# Groups: level, source, msg.
_AFTER_TS: dict[str, tuple[re.Pattern[str], ...]] = {
    "-": _patterns(
        # Zookeeper: `- INFO  [thread:Class@774] - msg`
        rf"-\s+{LW}\s+\[(?P<source>.*?)\] - (?P<msg>.*)",
        # Python: `- name - ERROR - msg`, `- ERROR - msg`
        rf"-\s+(?P<source>\S+)\s+-\s+{LWI}\s+-\s(?P<msg>.*)",
        rf"-\s+{LWI}\s+-\s(?P<msg>.*)",
    ),
    "[": _patterns(
        # logback: `[main] ERROR com.x.Y - msg`
        rf"\[[^\]]*\]\s+{LW}\s+(?P<source>[\w.$]+)\s+-\s(?P<msg>.*)",
        # nginx: `[error] 123#0: *1 msg`
        rf"\[{LWI}\]\s+(?P<source>\d+#\d+):\s(?P<msg>.*)",
        # `[ERROR] logger: msg`, `[ERROR] msg`
        rf"\[{LWI}\]\s+(?:{_LOGGER}:\s)?(?P<msg>.*)",
    ),
    # loguru: `| ERROR    | __main__:main:5 - msg`
    "|": _patterns(rf"\|\s*{LWI}\s*\|\s*(?:(?P<source>\S+)\s+-\s)?(?P<msg>.*)"),
    "a": _patterns(
        # Flask: `ERROR in app: msg`
        rf"{LW} in (?P<source>[\w.]+): (?P<msg>.*)",
        # Spring Boot: `ERROR 12345 --- [main] c.e.Foo : msg`
        rf"{LW}\s+\d+\s+---\s+(?:\[[^\]]*\]\s*)+(?P<source>\S+)\s+:\s(?P<msg>.*)",
        # log4j/Hadoop: `ERROR [main] c.e.Foo - msg`, `INFO [main] org.x.Y: msg`
        rf"{LW}\s+\[[^\]]*\]\s+(?P<source>[\w.$]+)(?::\s?| - )(?P<msg>.*)",
        rf"{LW}\s+\[(?P<source>[^\]]*)\]\s+(?P<msg>.*)",
        # Monolog: `production.ERROR: msg`
        rf"(?P<source>\w+)\.{LW}: (?P<msg>.*)",
        # `ERROR logger: msg`, `ERROR logger - msg`
        rf"{LW}\s+{_LOGGER}(?::| -)\s(?P<msg>.*)",
        # `ERROR: msg`, `error: msg`, `ERROR msg`, `ERROR - msg`
        rf"{LWI}:\s*(?P<msg>.*)",
        rf"{LW}(?:\s+-)?(?:\s+(?P<msg>.*))?$",
    ),
}
# Spark logs `%c{1}`, a bare class name: `INFO Remoting: msg`.
_AFTER_SPARK_TS = re.compile(rf"{LW} (?P<source>[\w.$]+): (?P<msg>.*)")


def _parse_timestamped(line: str) -> Record | None:
    """`<timestamp> [<level>] [<source>] message` in the common shapes."""
    if not line or not (line[0].isdigit() or line[0] == "["):
        return None
    head = _TS_HEAD.match(line)
    if head is None:
        return None
    timestamp = head["ts"] or head["bts"]
    pos, start = head.end("gap"), head.end()
    first = line[start : start + 1]
    m = None
    if timestamp[2] == "/":
        m = _AFTER_SPARK_TS.match(line, start)
    if m is None:
        for pattern in _AFTER_TS.get("a" if first.isalpha() else first, ()):
            m = pattern.match(line, start)
            if m is not None:
                break
    if m is None:
        # No level: the rest, indentation kept, so continuation lines still look indented.
        return Record(message=line[pos:], timestamp=timestamp)
    return Record(
        message=m["msg"] or "",
        timestamp=timestamp,
        level=normalise_level(m["level"]),
        source=m.groupdict().get("source"),
    )


TIMESTAMPED = LogFormat("timestamped", _parse_timestamped)
