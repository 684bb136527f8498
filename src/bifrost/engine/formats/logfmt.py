"""logfmt: `key=value` pairs, as Go services and Heroku write them."""

from __future__ import annotations

import re

from bifrost.engine.formats.base import QUOTED, LogFormat, unquote
from bifrost.engine.records import Record
from bifrost.levels import normalise_level

# A `key=value` pair, or anything else (which makes the line not logfmt).
_LOGFMT_TOKEN = re.compile(rf'([\w.@/-]+)=({QUOTED}|[^\s"]*)(?=\s|$)|\S+')
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
        text = unquote(message[2])
    else:
        # No msg key (Heroku router lines): the other pairs, as written, are the message.
        used = {field[1] for field in (time, level) if field is not None}
        text = " ".join(f"{k}={v}" for k, v in pairs if k not in used)
    if error is not None:
        error_text = unquote(error[2])
        text = f"{text} | {error_text}" if text else error_text
    return Record(
        message=text,
        timestamp=None if time is None else unquote(time[2]),
        level=None if level is None else normalise_level(unquote(level[2])),
        source=None if source is None else unquote(source[2]),
    )


LOGFMT = LogFormat("logfmt", _parse_logfmt)
