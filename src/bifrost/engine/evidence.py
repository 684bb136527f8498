"""Evidence: which lines of an event a reader should see.

A 300-frame stack trace is not evidence; its exception line, its `Caused by:` lines and the
few frames nearest to each are. Each evidence item is a run of consecutive lines, so its
`line`/`end_line` cover exactly the lines it shows.
"""

from __future__ import annotations

import re

_FRAME = re.compile(
    r"^\s+(?:at |File \"|\.\.\. \d+ more|\d+: |[\w.$/<>]+\(.*\)$)|^\s*at "
    r"|^\s*(?:from )?\S+:\d+:in [`']"  # Ruby
)
_CAUSE = re.compile(
    r"^\s*(?:Caused by:|Caused:|Suppressed:|During handling|The above exception)"
    r"|^\s*[\w.$]+(?:Error|Exception|Exit|Interrupt|Fault)\b"
    r"|^\s*(?:panic:|goroutine \d+|thread '.*' panicked|Traceback \(most recent call last\))"
)
_FRAMES_AFTER_CAUSE = 3
_PYTHON_TAIL = 5  # the last two frames (file line + code line each) and the error


def select(lines: list[str], *, limit: int = 12) -> list[tuple[int, int]]:
    """The runs of `lines` worth showing, as (first, last) 0-based inclusive offsets.

    Short events are shown whole. In a long one: the first line, each cause or exception line
    with the few frames after it, and for a Python traceback its last frames and error.
    """
    if len(lines) <= limit:
        return [(0, len(lines) - 1)] if lines else []
    keep: set[int] = {0}
    frames_left = _FRAMES_AFTER_CAUSE
    for i, line in enumerate(lines):
        if i and _CAUSE.search(line) and not _FRAME.search(line):
            keep.add(i)
            frames_left = _FRAMES_AFTER_CAUSE
        elif _FRAME.search(line):
            if frames_left > 0:
                keep.add(i)
                frames_left -= 1
        elif i <= 2:
            keep.add(i)
    if "Traceback (most recent call last)" in lines[0]:  # Python: the raise is at the end
        keep.update(range(max(0, len(lines) - _PYTHON_TAIL), len(lines)))
    chosen = sorted(keep)[: limit * 2]
    return _runs(chosen)


def _runs(indices: list[int]) -> list[tuple[int, int]]:
    runs: list[tuple[int, int]] = []
    for i in indices:
        if runs and runs[-1][1] == i - 1:
            runs[-1] = (runs[-1][0], i)
        else:
            runs.append((i, i))
    return runs
