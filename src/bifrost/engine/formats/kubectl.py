"""`kubectl describe` and `kubectl get events` output; other lines (a recording's `kubectl logs`)
are read by `payload`."""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from bifrost.engine.formats.base import LogFormat
from bifrost.engine.records import Record
from bifrost.levels import Level

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


def kubectl(payload: Callable[[str], Record]) -> LogFormat:
    """`kubectl describe` / `kubectl get events`; a snapshot, not in time order."""
    return LogFormat(
        "kubectl",
        functools.partial(_parse_kubectl, payload=payload),
        marker=_K8S_MARKER,
        ordered=False,
    )


def _parse_kubectl(line: str, payload: Callable[[str], Record]) -> Record:
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
    return payload(line)
