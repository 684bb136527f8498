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
BLOCK_LINES = 8
"""The most lines of a block shown under the one-line headline that heads it."""
AFTER_LINES = BLOCK_LINES + 2
"""Lines kept after an event: a blank line, a block, and the line that shows the block ended."""
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


def block_after(above: str | None, after: list[str]) -> int:
    """How many of the lines `after` a one-line headline belong to it: the detail block it
    heads, which says what the headline only names (`Issues:` then the broken links, composer's
    `Your requirements could not be resolved` then its indented `Problem 1` list).

    That is an indented block right below it or across one blank line; or, when the headline
    opens a paragraph (`above` is blank), the rest of that paragraph if it ends within
    `BLOCK_LINES` lines. Otherwise nothing: a line in a dense run of output heads no block.
    """
    skip = 1 if after and not after[0].strip() else 0
    indented = 0
    for line in after[skip : skip + BLOCK_LINES]:
        if not line.strip() or not line[0].isspace():
            break
        indented += 1
    if indented:
        return skip + indented
    if skip or above is None or above.strip():
        return 0
    for n, line in enumerate(after[: BLOCK_LINES + 1]):
        if not line.strip():
            return n
    return 0
