"""JSON lines: one object per line, its level, message and error found by key name."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from typing import Any

from bifrost.engine.formats.base import LogFormat, numeric_level
from bifrost.engine.records import Record
from bifrost.levels import Level, normalise_level

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
        return numeric_level(int(value)) if value.isdigit() else normalise_level(value)
    return numeric_level(int(value))


def json_lines(read: Callable[[str], Record]) -> LogFormat:
    """One JSON object per line; a Docker json-file line's `log` payload is read by `read`."""
    return LogFormat("json", functools.partial(_parse_json, read=read))


def _parse_json(line: str, read: Callable[[str], Record]) -> Record | None:
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
        inner = read(obj["log"].rstrip("\r\n"))
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
