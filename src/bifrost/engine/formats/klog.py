"""klog: Kubernetes components' `I0501 10:00:00.000000 1 file.go:12] msg` lines."""

from __future__ import annotations

import re

from bifrost.engine.formats.base import QUOTED, LogFormat, unquote
from bifrost.engine.records import Record
from bifrost.levels import normalise_level

_KLOG = re.compile(
    r"(?P<level>[IWEF])(?P<ts>\d{4} \d\d:\d\d:\d\d\.\d+)\s+\d+ (?P<source>[^\s:\]]+:\d+)\] "
    r"(?P<msg>.*)"
)
_KLOG_STRUCTURED = re.compile(rf"(?P<msg>{QUOTED})(?P<rest>.*)")
_KLOG_ERROR = re.compile(rf"(?:^|\s)err(?:or)?=(?P<value>{QUOTED}|\S+)")


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
        message = unquote(structured["msg"])
        error = _KLOG_ERROR.search(structured["rest"])
        if error is not None:
            message = f"{message} | {unquote(error['value'])}"
    return Record(
        message=message,
        timestamp=m["ts"],
        level=normalise_level(m["level"]),
        source=m["source"],
    )


KLOG = LogFormat("klog", _parse_klog)
