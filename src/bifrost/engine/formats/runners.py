"""Lines a runner wrapped with its own prefix (GitHub Actions, Kubernetes' CRI): the payload is
read on its own, in whatever format it has (`payload`, the caller's per-line reader)."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from bifrost.engine.formats.base import LogFormat
from bifrost.engine.records import Record
from bifrost.levels import normalise_level

# `gh run view --log` puts the job and step names in front: `build\tRun tests\t<ts> …`.
_GITHUB = re.compile(
    r"(?:(?P<job>[^\t]+)\t(?P<step>[^\t]+)\t)?(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z)(?: |$)"
)
_GITHUB_MARKER = re.compile(r"##\[(?P<level>error|warning|notice|debug)\]")
_CRI = re.compile(
    r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) std(?:out|err) [FP] ?"
)


Payload = Callable[[str], Record]
"""Reads a payload line in whatever format it has."""


def _parse_wrapped(timestamp: str, text: str, payload: Payload) -> Record:
    """A line some runner prefixed with its own timestamp: parse the payload on its own.

    An indented payload is a continuation (a stack frame): it stays as written.
    """
    marker = _GITHUB_MARKER.match(text)
    if marker is not None:
        return Record(text[marker.end() :], timestamp, normalise_level(marker["level"]))
    if text[:1].isspace():
        return Record(text, timestamp)
    inner = payload(text)
    return Record(inner.message, inner.timestamp or timestamp, inner.level, inner.source)


def github_actions(payload: Payload) -> LogFormat:
    """GitHub Actions job log: `2022-05-07T08:49:38.2847211Z message`, `##[error]` markers."""
    return LogFormat("github-actions", functools.partial(_parse_github, payload=payload))


def cri(payload: Payload) -> LogFormat:
    """Kubernetes node container log (CRI): `<ts> stdout|stderr F|P message`."""
    return LogFormat("cri", functools.partial(_parse_cri, payload=payload))


def _parse_github(line: str, payload: Payload) -> Record | None:
    m = _GITHUB.match(line)
    if m is None:
        return None
    record = _parse_wrapped(m["ts"], line[m.end() :], payload)
    if m["step"] and record.source is None:
        return Record(record.message, record.timestamp, record.level, m["step"])
    return record


def _parse_cri(line: str, payload: Payload) -> Record | None:
    m = _CRI.match(line)
    if m is None:
        return None
    return _parse_wrapped(m["ts"], line[m.end() :], payload)
