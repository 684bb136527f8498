"""Several sources merged into one stream, each line prefixed with where it came from."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from bifrost.engine.formats.base import LogFormat
from bifrost.engine.records import Record

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


def merged(payload: Callable[[str], Record]) -> LogFormat:
    """`kubectl logs --prefix` and `docker compose logs`: each payload read by `payload`."""
    return LogFormat("merged", functools.partial(_parse_merged, payload=payload), marker=_MERGED)


def _parse_merged(line: str, payload: Callable[[str], Record]) -> Record | None:
    """The payload parsed on its own (each source may log in its own format); the source is
    the pod/container or compose service."""
    found = merged_source(line)
    if found is None:
        return None
    source, rest = found
    inner = payload(rest)
    return Record(inner.message, inner.timestamp, inner.level, source)
