"""The headers of Loghub's BGL and HDFS logs."""

from __future__ import annotations

import re

from bifrost.engine.formats.base import LogFormat
from bifrost.engine.records import Record
from bifrost.levels import normalise_level

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


LOGHUB_BGL = LogFormat("loghub-bgl", _parse_bgl)
LOGHUB_HDFS = LogFormat("loghub-hdfs", _parse_hdfs)
