"""NCCL's `host:pid:tid [rank] NCCL INFO msg` lines."""

from __future__ import annotations

import re

from bifrost.engine.formats.base import LogFormat
from bifrost.engine.records import Record
from bifrost.levels import normalise_level

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


NCCL = LogFormat("nccl", _parse_nccl)
