"""Log formats: detect what an input is written in and split each line into a `Record`.

Nothing is configured. `detect` tries every format on the first lines and keeps the one that
parses most of them. A format with a header (a timestamp, a level, a JSON object) returns
None for a line without it: such a line — a stack frame, a wrapped message — continues the
event above it, which is the events stage's business. Plain text is the fallback and parses
every line.

Parsers are pure functions of the line: the engine calls them once per line shape, not per
line. Each is a cheap first-character test in front of one or a few precompiled regexes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bifrost.engine.records import Record
from bifrost.levels import Level, normalise_level

SAMPLE_LINES = 200
"""How many non-blank lines of the sample `detect` looks at."""

_MIN_EXPLAINED = 0.8
"""A headed format must account for this share of the sample: lines it parses plus lines that
look like continuations (indented, stack traces). Otherwise the input is plain text, and its
unparsed lines would wrongly glue onto the events above them."""


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


# --------------------------------------------------------------------------- levels

# Level words as logs write them, all known to `normalise_level`; longest alternative first.
_LEVEL_WORDS = (
    "TRACE|DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|ERR|FATAL|CRITICAL|CRIT|SEVERE|ALERT|"
    "EMERGENCY|EMERG|PANIC|FINEST|FINER|FINE|CONFIG|VERBOSE|DBG|INF|WRN|TRC"
)
_LW = rf"(?P<level>(?:{_LEVEL_WORDS})\b)"  # a bare level word: upper case only
_LWI = rf"(?P<level>(?i:{_LEVEL_WORDS})\b)"  # a delimited level word: any case

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


_SYSLOG_SEVERITY: tuple[Level, ...] = (
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


def _numeric_level(value: int) -> Level | None:
    """0–7 are syslog severities (journald PRIORITY); 10–60 are bunyan/pino levels."""
    if 0 <= value <= 7:
        return _SYSLOG_SEVERITY[value]
    return _BUNYAN_LEVEL.get(value)


def _plain(line: str) -> Record:
    return Record(message=line, level=guess_level(line))


PLAIN = LogFormat("plain", _plain)
"""The fallback: every line parses, message is the line, level only if obvious."""


# --------------------------------------------------------------------------- json

# Key names per role, best first. A dotted name also finds the nested form `{"log": {"level": …}}`.
_JSON_KEYS: dict[str, tuple[str, ...]] = {
    "time": ("time", "ts", "timestamp", "@timestamp", "time_local", "asctime", "datetime", "@t"),
    "level": ("level", "lvl", "severity", "levelname", "log.level", "loglevel", "@l", "PRIORITY"),
    "message": ("msg", "message", "MESSAGE", "log", "event", "text", "@m"),
    "source": (
        "logger",
        "name",
        "caller",
        "source",
        "component",
        "logger_name",
        "log.logger",
        "SYSLOG_IDENTIFIER",
    ),
    "error": ("error", "err", "exc_info", "exception", "stack", "stacktrace", "stack_trace"),
}
_JSON_TYPES: dict[str, type | tuple[type, ...]] = {
    "time": (str, int, float),
    "level": (str, int, float),
    "message": str,
    "source": str,
    "error": (str, dict, list),
}
_JSON_ROLE: dict[str, tuple[str, int]] = {
    key: (role, rank) for role, keys in _JSON_KEYS.items() for rank, key in enumerate(keys)
}
_JSON_PARENTS = frozenset(key.partition(".")[0] for key in _JSON_ROLE if "." in key)


def _json_fields(obj: dict[str, Any]) -> dict[str, tuple[int, str, Any]]:
    """role -> (rank, key, value) of the best key present for each role, in one pass."""
    found: dict[str, tuple[int, str, Any]] = {}

    def offer(key: str, value: Any) -> bool:
        hit = _JSON_ROLE.get(key)
        if hit is None:
            return False
        role, rank = hit
        if not isinstance(value, _JSON_TYPES[role]) or isinstance(value, bool):
            return False
        if role not in found or rank < found[role][0]:
            found[role] = (rank, key, value)
        return True

    for key, value in obj.items():
        if not offer(key, value) and key in _JSON_PARENTS and isinstance(value, dict):
            for sub, sub_value in value.items():
                offer(f"{key}.{sub}", sub_value)
    return found


def _without(obj: dict[str, Any], keys: Sequence[str]) -> dict[str, Any]:
    """A copy of `obj` without the (possibly dotted) keys already used."""
    rest = dict(obj)
    for key in keys:
        if key in rest:
            del rest[key]
            continue
        head, _, tail = key.partition(".")
        inner = {k: v for k, v in rest[head].items() if k != tail}
        if inner:
            rest[head] = inner
        else:
            del rest[head]
    return rest


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _error_text(value: Any) -> str:
    """An error field as one string: `Type: message | stack`, so the miner sees all of it."""
    if isinstance(value, str):
        return value.rstrip()
    if isinstance(value, dict):
        kind = value.get("type") or value.get("kind") or value.get("class")
        text = value.get("message") or value.get("msg")
        stack = value.get("stack_trace") or value.get("stacktrace") or value.get("stack")
        head = ": ".join(str(p) for p in (kind, text) if p)
        parts = [p for p in (head, str(stack).rstrip() if stack else "") if p]
        if parts:
            return " | ".join(parts)
    return _compact(value)


def _json_level(value: Any) -> Level | None:
    if isinstance(value, str):
        return _numeric_level(int(value)) if value.isdigit() else normalise_level(value)
    return _numeric_level(int(value))


def _parse_json(line: str) -> Record | None:
    payload = line.strip()
    if not payload.startswith("{"):
        return None
    try:
        obj = json.loads(payload)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to be a log line
        return None
    if not isinstance(obj, dict):
        return None
    fields = _json_fields(obj)
    time = fields.get("time")
    timestamp = None if time is None else str(time[2])
    if isinstance(obj.get("log"), str) and "stream" in obj:
        # Docker json-file: the payload is a line of some other format.
        inner = parse_any(obj["log"].rstrip("\r\n"))
        return Record(inner.message, inner.timestamp or timestamp, inner.level, inner.source)
    level, message, source, error = (fields.get(r) for r in ("level", "message", "source", "error"))
    if message is not None:
        text = message[2].rstrip()
    else:
        used = [field[1] for field in (time, level, source, error) if field is not None]
        rest = _without(obj, used)
        text = _compact(rest) if rest else ""
    if error is not None:
        error_text = _error_text(error[2])
        text = f"{text} | {error_text}" if text else error_text
    return Record(
        message=text,
        timestamp=timestamp,
        level=None if level is None else _json_level(level[2]),
        source=None if source is None else source[2],
    )


# --------------------------------------------------------------------------- logfmt

_QUOTED = r'"(?:[^"\\]|\\.)*"'
# A `key=value` pair, or anything else (which makes the line not logfmt).
_LOGFMT_TOKEN = re.compile(rf'([\w.@/-]+)=({_QUOTED}|[^\s"]*)(?=\s|$)|\S+')
_LOGFMT_KEYS: dict[str, tuple[str, ...]] = {
    "time": ("time", "ts", "t", "timestamp"),
    "level": ("level", "lvl", "severity", "at"),
    "message": ("msg", "message"),
    "source": ("logger", "caller", "source", "component", "module"),
    "error": ("err", "error"),
}
_LOGFMT_ROLE: dict[str, tuple[str, int]] = {
    key: (role, rank) for role, keys in _LOGFMT_KEYS.items() for rank, key in enumerate(keys)
}


def _unquote(value: str) -> str:
    if not value.startswith('"'):
        return value
    if "\\" not in value:
        return value[1:-1]
    try:
        return str(json.loads(value))
    except ValueError:
        return value[1:-1]


def _parse_logfmt(line: str) -> Record | None:
    if "=" not in line:
        return None
    pairs: list[tuple[str, str]] = []
    found: dict[str, tuple[int, str, str]] = {}
    for m in _LOGFMT_TOKEN.finditer(line):
        key, value = m.group(1, 2)
        if key is None:
            return None
        pairs.append((key, value))
        hit = _LOGFMT_ROLE.get(key)
        if hit is not None and (hit[0] not in found or hit[1] < found[hit[0]][0]):
            found[hit[0]] = (hit[1], key, value)
    if len(pairs) < 2 or found.keys() <= {"source"}:
        return None
    time, level, message, source, error = (
        found.get(role) for role in ("time", "level", "message", "source", "error")
    )
    if message is not None:
        text = _unquote(message[2])
    else:
        # No msg key (Heroku router lines): the other pairs, as written, are the message.
        used = {field[1] for field in (time, level) if field is not None}
        text = " ".join(f"{k}={v}" for k, v in pairs if k not in used)
    if error is not None:
        error_text = _unquote(error[2])
        text = f"{text} | {error_text}" if text else error_text
    return Record(
        message=text,
        timestamp=None if time is None else _unquote(time[2]),
        level=None if level is None else normalise_level(_unquote(level[2])),
        source=None if source is None else _unquote(source[2]),
    )


# --------------------------------------------------------------------------- klog

_KLOG = re.compile(
    r"(?P<level>[IWEF])(?P<ts>\d{4} \d\d:\d\d:\d\d\.\d+)\s+\d+ (?P<source>[^\s:\]]+:\d+)\] "
    r"(?P<msg>.*)"
)
_KLOG_STRUCTURED = re.compile(rf"(?P<msg>{_QUOTED})(?P<rest>.*)")
_KLOG_ERROR = re.compile(rf"(?:^|\s)err(?:or)?=(?P<value>{_QUOTED}|\S+)")


def _parse_klog(line: str) -> Record | None:
    if not line or line[0] not in "IWEF":
        return None
    m = _KLOG.match(line)
    if m is None:
        return None
    message = m["msg"]
    structured = _KLOG_STRUCTURED.fullmatch(message)
    if structured is not None:
        # Kubernetes structured logging: `"msg" key="value" …`; keep msg and err.
        message = _unquote(structured["msg"])
        error = _KLOG_ERROR.search(structured["rest"])
        if error is not None:
            message = f"{message} | {_unquote(error['value'])}"
    return Record(
        message=message,
        timestamp=m["ts"],
        level=normalise_level(m["level"]),
        source=m["source"],
    )


# --------------------------------------------------------------------------- syslog

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
        level=_SYSLOG_SEVERITY[int(pri) % 8] if pri else None,
        source=None if tag == "-" else tag,
    )


# --------------------------------------------------------------------------- Loghub headers

_BGL = re.compile(
    r"(?:-|[A-Z]+) \d{10} \d{4}\.\d\d\.\d\d \S+ "
    r"(?P<ts>\d{4}-\d\d-\d\d-\d\d\.\d\d\.\d\d\.\d{6}) \S+ \S+ (?P<source>\S+) "
    r"(?P<level>[A-Z]+) ?(?P<msg>.*)"
)
_HDFS = re.compile(r"(?P<ts>\d{6} \d{6}) \d+ (?P<level>[A-Z]+) (?P<source>[\w.$]+): ?(?P<msg>.*)")


def _parse_bgl(line: str) -> Record | None:
    """Blue Gene/L RAS log: `- epoch date node time node type component LEVEL msg`."""
    m = _BGL.match(line)
    if m is None:
        return None
    return Record(m["msg"], m["ts"], normalise_level(m["level"]), m["source"])


def _parse_hdfs(line: str) -> Record | None:
    """HDFS DataNode log: `yyMMdd HHmmss pid LEVEL component: msg`."""
    if not line[:1].isdigit():
        return None
    m = _HDFS.match(line)
    if m is None:
        return None
    return Record(m["msg"], m["ts"], normalise_level(m["level"]), m["source"])


# --------------------------------------------------------------------------- Apache

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


# --------------------------------------------------------------------------- timestamped

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
        rf"-\s+{_LW}\s+\[(?P<source>.*?)\] - (?P<msg>.*)",
        # Python: `- name - ERROR - msg`, `- ERROR - msg`
        rf"-\s+(?P<source>\S+)\s+-\s+{_LWI}\s+-\s(?P<msg>.*)",
        rf"-\s+{_LWI}\s+-\s(?P<msg>.*)",
    ),
    "[": _patterns(
        # logback: `[main] ERROR com.x.Y - msg`
        rf"\[[^\]]*\]\s+{_LW}\s+(?P<source>[\w.$]+)\s+-\s(?P<msg>.*)",
        # nginx: `[error] 123#0: *1 msg`
        rf"\[{_LWI}\]\s+(?P<source>\d+#\d+):\s(?P<msg>.*)",
        # `[ERROR] logger: msg`, `[ERROR] msg`
        rf"\[{_LWI}\]\s+(?:{_LOGGER}:\s)?(?P<msg>.*)",
    ),
    # loguru: `| ERROR    | __main__:main:5 - msg`
    "|": _patterns(rf"\|\s*{_LWI}\s*\|\s*(?:(?P<source>\S+)\s+-\s)?(?P<msg>.*)"),
    "a": _patterns(
        # Flask: `ERROR in app: msg`
        rf"{_LW} in (?P<source>[\w.]+): (?P<msg>.*)",
        # Spring Boot: `ERROR 12345 --- [main] c.e.Foo : msg`
        rf"{_LW}\s+\d+\s+---\s+(?:\[[^\]]*\]\s*)+(?P<source>\S+)\s+:\s(?P<msg>.*)",
        # log4j/Hadoop: `ERROR [main] c.e.Foo - msg`, `INFO [main] org.x.Y: msg`
        rf"{_LW}\s+\[[^\]]*\]\s+(?P<source>[\w.$]+)(?::\s?| - )(?P<msg>.*)",
        rf"{_LW}\s+\[(?P<source>[^\]]*)\]\s+(?P<msg>.*)",
        # Monolog: `production.ERROR: msg`
        rf"(?P<source>\w+)\.{_LW}: (?P<msg>.*)",
        # `ERROR logger: msg`, `ERROR logger - msg`
        rf"{_LW}\s+{_LOGGER}(?::| -)\s(?P<msg>.*)",
        # `ERROR: msg`, `error: msg`, `ERROR msg`, `ERROR - msg`
        rf"{_LWI}:\s*(?P<msg>.*)",
        rf"{_LW}(?:\s+-)?(?:\s+(?P<msg>.*))?$",
    ),
}
# Spark logs `%c{1}`, a bare class name: `INFO Remoting: msg`.
_AFTER_SPARK_TS = re.compile(rf"{_LW} (?P<source>[\w.$]+): (?P<msg>.*)")


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


# --------------------------------------------------------------------------- CI, runners

# `gh run view --log` puts the job and step names in front: `build\tRun tests\t<ts> …`.
_GITHUB = re.compile(
    r"(?:(?P<job>[^\t]+)\t(?P<step>[^\t]+)\t)?(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z)(?: |$)"
)
_GITHUB_MARKER = re.compile(r"##\[(?P<level>error|warning|notice|debug)\]")
_CRI = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) std(?:out|err) [FP] ?"
)


def _parse_wrapped(timestamp: str, text: str) -> Record:
    """A line some runner prefixed with its own timestamp: parse the payload on its own.

    An indented payload is a continuation (a stack frame): it stays as written.
    """
    marker = _GITHUB_MARKER.match(text)
    if marker is not None:
        return Record(text[marker.end() :], timestamp, normalise_level(marker["level"]))
    if text[:1].isspace():
        return Record(text, timestamp)
    inner = parse_any(text)
    return Record(inner.message, inner.timestamp or timestamp, inner.level, inner.source)


def _parse_github(line: str) -> Record | None:
    """GitHub Actions job log: `2022-05-07T08:49:38.2847211Z message`, `##[error]` markers."""
    m = _GITHUB.match(line)
    if m is None:
        return None
    record = _parse_wrapped(m["ts"], line[m.end() :])
    if m["step"] and record.source is None:
        return Record(record.message, record.timestamp, record.level, m["step"])
    return record


def _parse_cri(line: str) -> Record | None:
    """Kubernetes node container log (CRI): `<ts> stdout|stderr F|P message`."""
    m = _CRI.match(line)
    if m is None:
        return None
    return _parse_wrapped(m["ts"], line[m.end() :])


# --------------------------------------------------------------------------- level-first

_PYTHON = re.compile(rf"{_LW}:(?:(?P<source>[\w.<>-]+):|\s+)(?P<msg>.*)")
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


# --------------------------------------------------------------------------- NCCL

_NCCL = re.compile(
    r"(?P<source>[\w.-]+:\d+:\d+) \[(?P<rank>\d+)\] NCCL (?P<level>INFO|WARN|ERROR|TRACE) "
    r"(?P<msg>.*)"
)


def _parse_nccl(line: str) -> Record | None:
    """NCCL's debug output (`NCCL_DEBUG=INFO`): `host:pid:tid [rank] NCCL INFO msg`. Its INFO
    lines say `cannot open shared object file` when an optional plugin is absent, which is
    normal; only its WARN lines report trouble."""
    if " NCCL " not in line:
        return None
    m = _NCCL.match(line)
    if m is None:
        return None
    return Record(m["msg"], None, normalise_level(m["level"]), m["source"])


# --------------------------------------------------------------------------- kubectl

_K8S_MARKER = re.compile(
    r"(?:NAMESPACE\s+)?LAST SEEN\s+TYPE\s+REASON"
    r"|Events:"
    r"|Namespace:\s+\S"
    r"|\s+Type\s+Reason\s+Age\s+From\s+Message"
    r"|\s*Type:\s+(?:Normal|Warning)\s*$"
)
# `kubectl describe`: `  Warning  FailedScheduling  3m (x2 over 5m)  default-scheduler  msg`
_K8S_DESCRIBE_EVENT = re.compile(
    r"\s++(?P<type>Normal|Warning)\s{2,}(?P<reason>\S+)\s{2,}.+?\s{2,}(?P<source>\S.*?)"
    r"(?:\s{2,}(?P<msg>.*))?"
)
# `kubectl get events [-A]`: `2m   Warning   BackOff   pod/x   Back-off restarting …`
_K8S_GET_EVENT = re.compile(
    r"(?:\S+\s{2,})?\S+(?: \(x\d+ over \S+\))?\s{2,}(?P<type>Normal|Warning)\s{2,}"
    r"(?P<reason>\S+)\s{2,}(?P<source>\S+)\s{2,}(?P<msg>.*)"
)
_K8S_TYPE = re.compile(r"\s*+Type:\s+(?P<type>Normal|Warning)\s*")
_K8S_FIELD = re.compile(r"\s*+(?P<key>[A-Z][\w-]*(?: [A-Z][\w-]*)*):(?:\s+(?P<value>\S.*?))?\s*")
_K8S_LEVEL: dict[str, Level] = {"Normal": "info", "Warning": "warning"}


def _parse_kubectl(line: str) -> Record:
    """`kubectl describe` / `kubectl get events` output; anything else (the `kubectl logs` of a
    recording) in its own format.

    An event row becomes `Reason: message` with its object (or reporting component) as
    source; a `Key:   value` field becomes `Key: value`, without the alignment padding.
    """
    m = _K8S_DESCRIBE_EVENT.fullmatch(line) or _K8S_GET_EVENT.fullmatch(line)
    if m is not None:
        message = f"{m['reason']}: {m['msg']}" if m["msg"] else m["reason"]
        return Record(message, None, _K8S_LEVEL[m["type"]], m["source"])
    m = _K8S_TYPE.fullmatch(line)
    if m is not None:
        return Record(f"Type: {m['type']}", None, _K8S_LEVEL[m["type"]])
    m = _K8S_FIELD.fullmatch(line)
    if m is not None:
        value = m["value"]
        return Record(f"{m['key']}: {value}" if value else f"{m['key']}:")
    return parse_any(line)


# --------------------------------------------------------------------------- registry

JSON = LogFormat("json", _parse_json)
LOGFMT = LogFormat("logfmt", _parse_logfmt)
KLOG = LogFormat("klog", _parse_klog)
SYSLOG = LogFormat("syslog", _parse_syslog)
LOGHUB_BGL = LogFormat("loghub-bgl", _parse_bgl)
LOGHUB_HDFS = LogFormat("loghub-hdfs", _parse_hdfs)
APACHE = LogFormat("apache", _parse_apache)
GITHUB_ACTIONS = LogFormat("github-actions", _parse_github)
CRI = LogFormat("cri", _parse_cri)
TIMESTAMPED = LogFormat("timestamped", _parse_timestamped)
PYTHON = LogFormat("python", _parse_python)
MAVEN = LogFormat("maven", _parse_maven)
NCCL = LogFormat("nccl", _parse_nccl)
KUBECTL = LogFormat("kubectl", _parse_kubectl, marker=_K8S_MARKER, ordered=False)

# Several sources merged into one stream, each line prefixed with where it came from:
# `kubectl logs --prefix` (`[pod/trainer-0/main] …`) and `docker compose logs` (`api-1  | …`).
_MERGED = re.compile(
    r"\[pod/(?P<pod>[^/\]\s]+)/(?P<container>[^\]\s]+)\] "
    r"|(?P<service>[a-zA-Z0-9][\w.-]*)\s+\| "
)


def merged_source(line: str) -> tuple[str, str] | None:
    """`(source, rest)` for a line with a merged-stream prefix, else None."""
    m = _MERGED.match(line)
    if m is None:
        return None
    source = f"{m['pod']}/{m['container']}" if m["pod"] else m["service"]
    return source, line[m.end() :]


def _parse_merged(line: str) -> Record | None:
    """The payload parsed on its own (each source may log in its own format); the source is
    the pod/container or compose service."""
    found = merged_source(line)
    if found is None:
        return None
    source, rest = found
    inner = parse_any(rest)
    return Record(inner.message, inner.timestamp, inner.level, source)


MERGED = LogFormat("merged", _parse_merged, marker=_MERGED)

FORMATS: tuple[LogFormat, ...] = (
    MERGED,
    JSON,
    LOGFMT,
    KLOG,
    SYSLOG,
    LOGHUB_BGL,
    LOGHUB_HDFS,
    APACHE,
    GITHUB_ACTIONS,
    CRI,
    TIMESTAMPED,
    PYTHON,
    MAVEN,
    NCCL,
    KUBECTL,
)
"""Every format but plain, most specific first: on equal scores the earlier one wins."""

_ANY: tuple[LogFormat, ...] = tuple(fmt for fmt in FORMATS if fmt.marker is None)


def parse_any(line: str) -> Record:
    """The line under the first format it fits, else as plain text.

    For inputs that mix formats (detected as plain) and for payloads wrapped by a runner
    (Docker json-file, GitHub Actions, CRI), whose format is per line.
    """
    for fmt in _ANY:
        record = fmt.parse(line)
        if record is not None:
            return record
    return _plain(line)


# Lines a headed format leaves unparsed that are still its own: stack frames, wrapped text,
# trace headers and the exception line that ends a trace.
_CONTINUATION_LIKE = re.compile(
    r"\s"
    r"|Traceback \(most recent call last\):"
    r"|(?:Caused by|Suppressed|Caused):"
    r"|During handling of the above exception"
    r"|The above exception was the direct cause"
    r"|goroutine \d+ |panic: |fatal error: |exit status \d|\[signal |created by "
    r"|[\w./*()\[\]-]+\(.*\)$"  # a Go frame's function line: `main.main()`
    r"|thread '[^']*' panicked at |stack backtrace:|note: "
    r"|(?:[A-Za-z_$][\w$]*\.)*[A-Z][\w$]*(?:Error|Exception|Exit|Interrupt)(?::|$)"
)


def common_indent(sample: Sequence[str]) -> str:
    """The leading whitespace every non-blank line of the sample shares: a log pasted into an
    issue or an e-mail is often indented as a whole, and reads as if it were not."""
    lines = [line for line in sample if line.strip()]
    if not lines:
        return ""
    shortest = min(len(line) - len(line.lstrip()) for line in lines)
    prefix = lines[0][:shortest]
    while prefix and not all(line.startswith(prefix) for line in lines):
        prefix = prefix[:-1]
    return prefix


def detect(sample: Sequence[str]) -> LogFormat:
    """The format that parses the largest share of the sample's first non-blank lines.

    A candidate must parse at least one line, and the lines it parses together with the
    unparsed lines that look like continuations must make up most of the sample: a log with
    a few timestamped lines among free text is plain text. Ties go to the earlier (more
    specific) format; when nothing qualifies, plain text.
    """
    lines = [line for line in sample if line.strip()][:SAMPLE_LINES]
    if not lines:
        return PLAIN
    best, best_parsed = PLAIN, 0
    for fmt in FORMATS:
        if fmt.marker is not None and not any(fmt.marker.match(line) for line in lines):
            continue
        parsed = continuation = 0
        for line in lines:
            if fmt.parse(line) is not None:
                parsed += 1
            elif _CONTINUATION_LIKE.match(line):
                continuation += 1
        if parsed > best_parsed and parsed + continuation >= _MIN_EXPLAINED * len(lines):
            best, best_parsed = fmt, parsed
    return best
