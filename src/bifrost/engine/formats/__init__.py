"""Log formats: detect what an input is written in and split each line into a `Record`.

Nothing is configured. `detect` tries every format on the first lines and keeps the one that
parses most of them. A format with a header (a timestamp, a level, a JSON object) returns
None for a line without it: such a line — a stack frame, a wrapped message — continues the
event above it, which is the events stage's business. Plain text is the fallback and parses
every line.

Parsers are pure functions of the line: the engine calls them once per line shape, not per
line. Each is a cheap first-character test in front of one or a few precompiled regexes.

One module per family of formats; this one holds the registry (`FORMATS`), `detect` and
`parse_any`, the per-line reader that runner and merged-stream formats use for their payload.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bifrost.engine.formats import json_lines, kubectl, merged, runners
from bifrost.engine.formats.apache import APACHE
from bifrost.engine.formats.base import _LEVEL_WORDS, PLAIN, LogFormat, guess_level, plain
from bifrost.engine.formats.klog import KLOG
from bifrost.engine.formats.level_first import MAVEN, PYTHON
from bifrost.engine.formats.logfmt import LOGFMT
from bifrost.engine.formats.loghub import LOGHUB_BGL, LOGHUB_HDFS
from bifrost.engine.formats.merged import merged_source
from bifrost.engine.formats.nccl import NCCL
from bifrost.engine.formats.syslog import SYSLOG
from bifrost.engine.formats.timestamped import TIMESTAMPED
from bifrost.engine.records import Record

__all__ = [
    "APACHE",
    "CRI",
    "FORMATS",
    "GITHUB_ACTIONS",
    "JSON",
    "KLOG",
    "KUBECTL",
    "LOGFMT",
    "LOGHUB_BGL",
    "LOGHUB_HDFS",
    "MAVEN",
    "MERGED",
    "NCCL",
    "PLAIN",
    "PYTHON",
    "SAMPLE_LINES",
    "SYSLOG",
    "TIMESTAMPED",
    "_LEVEL_WORDS",
    "LogFormat",
    "common_indent",
    "detect",
    "guess_level",
    "merged_source",
    "parse_any",
]

SAMPLE_LINES = 200
"""How many non-blank lines of the sample `detect` looks at."""

_MIN_EXPLAINED = 0.8
"""A headed format must account for this share of the sample: lines it parses plus lines that
look like continuations (indented, stack traces). Otherwise the input is plain text, and its
unparsed lines would wrongly glue onto the events above them."""


def parse_any(line: str) -> Record:
    """The line under the first format it fits, else as plain text.

    For inputs that mix formats (detected as plain) and for payloads wrapped by a runner
    (Docker json-file, GitHub Actions, CRI), whose format is per line.
    """
    for fmt in _ANY:
        record = fmt.parse(line)
        if record is not None:
            return record
    return plain(line)


JSON = json_lines.json_lines(parse_any)
GITHUB_ACTIONS = runners.github_actions(parse_any)
CRI = runners.cri(parse_any)
KUBECTL = kubectl.kubectl(parse_any)
MERGED = merged.merged(parse_any)

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


def sample_format(sample: Sequence[str]) -> tuple[str, LogFormat]:
    """The indent the sample's lines share (`common_indent`) and, without it, their format."""
    indent = common_indent(sample)
    return indent, detect([line.removeprefix(indent) for line in sample])


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
