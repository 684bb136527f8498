"""Multi-line events: join stack traces and wrapped lines to the line that started them.

Each line shape gets one class byte (`classify`); a chunk's classes, one byte per line, form
a string that a compiled bytes regex reads in one pass (`spans`). The regex only stops at
bytes that can begin or continue a multi-line event, so runs of ordinary lines cost next
to nothing.

Classes (the letters, as bytes):

- `S` START: an ordinary line; it may start an event.
- `B` BLANK: ends an event, unless the trace goes on after it (see below).
- `I` INDENTED: starts with whitespace, or is a Ruby frame; continues the line above (frames,
  wrapped text).
- `T` TRACEBACK: Python's `Traceback (most recent call last):`.
- `C` CAUSE: `Caused by:`, `Suppressed:`, Python's chaining sentences.
- `X` EXCEPTION: `ValueError: bad`, `java.lang.IllegalStateException: x`.
- `H` HEADERLESS: an ordinary line the detected headed format did not parse.
- `G` FRAMES: a header that a block of frames follows: `goroutine 1 [running]:`,
  `runtime stack:`, Rust's `stack backtrace:`.
- `P` PANIC: Go `panic: …` / `fatal error: …`, Rust's one-line `thread 'x' panicked at …`.
- `R` RUST_PANIC: Rust's `thread 'x' panicked at src/main.rs:2:5:`; the message is next.
- `N` NOTE: a trace's trailer: `exit status 2`, Rust's `note: run with …`, `[signal …]`.

Grammar: an event is a line followed by at least one continuation:

- `I`, `H`, `N`, `C`, `G` continue any event; `X` continues the line above when lines that
  continue it follow (a log4j line, then the bare exception, then its frames), and ends a
  run of frames.
- `T` continues the `S`/`H` line right above it (`logger.exception(…)`); the traceback takes
  its frames and then the exception line, whatever it looks like.
- `P` and `R` always start an event; `R` takes the message line after it.
- Across blank lines a trace goes on only into `C` (and a `T` after a `C`: Python's chained
  exceptions) and into `G` (Go's goroutine dumps, whose unindented function lines each
  take their indented location line). So a blank line otherwise ends an event, and trailing
  blank lines are never part of one.
- An event longer than `MAX_EVENT_LINES` is split.
"""

from __future__ import annotations

import re

from bifrost.engine.records import Record

START = ord("S")
BLANK = ord("B")
INDENTED = ord("I")
TRACEBACK = ord("T")
CAUSE = ord("C")
EXCEPTION = ord("X")
HEADERLESS = ord("H")
FRAMES = ord("G")
PANIC = ord("P")
RUST_PANIC = ord("R")
NOTE = ord("N")

MAX_EVENT_LINES = 5000
"""Longer events are split, so one runaway trace cannot swallow a whole log."""

# One alternative per class, named by its letter; `lastgroup` gives the class.
_KINDS = re.compile(
    r"(?P<T>Traceback \(most recent call last\):)"
    r"|(?P<C>(?:Caused by|Caused|Suppressed):"
    r"|During handling of the above exception, another exception occurred"
    r"|The above exception was the direct cause of the following exception)"
    r"|(?P<G>goroutine \d+ (?:[^\[]*)\[[^\]]*\]:\s*$|runtime stack:\s*$|stack backtrace:\s*$)"
    r"|(?P<R>thread '[^']*' panicked at .*:\s*$)"
    r"|(?P<P>panic: |fatal error: |thread '[^']*' panicked at )"
    r"|(?P<N>exit status \d+\s*$|note: run with `RUST_BACKTRACE|note: Some details are omitted"
    r"|\[signal [A-Z]+)"
    r"|(?P<X>(?:[A-Za-z_$][\w$]*\.)*[A-Z][\w$]*(?:Error|Exception|Exit|Interrupt|Throwable)"
    r"(?::.*)?$)"
    r"|(?P<I>[^\s:]+:\d+:in [`'])"  # a Ruby frame, unindented: `lib/a.rb:15:in `eval'`
)


def classify(line: str, record: Record | None) -> int:
    """The class byte of one line shape.

    `record` is the line parsed under the detected format; when present its message is what
    gets classified (a runner's timestamp prefix must not hide a frame's indentation). None
    means the line did not fit a headed format, so an ordinary-looking line is `H`.
    """
    text = line if record is None else record.message
    if not text or text.isspace():
        return BLANK
    if text[0].isspace():
        return INDENTED
    m = _KINDS.match(text)
    if m is not None and m.lastgroup is not None:
        return ord(m.lastgroup)
    return HEADERLESS if record is None else START


_TB = rb"TI*+[SXH]?"
_GB = rb"G(?:[SXH]?I)*+"
_UNIT = rb"(?:I++X?|X(?=I)|[HN]|B*+C(?:B*+" + _TB + rb")?|B*+" + _GB + rb")"
# A match begins at the first non-S, non-B byte of an event (which lets the regex engine
# skip ordinary lines quickly); whether the line above belongs to it is decided in `spans`.
_EVENT = re.compile(
    rb"[^SB](?:(?<=T)I*+[SXH]?|(?<=G)(?:[SXH]?I)*+|(?<=R)[SXH]?|(?<=I)I*+X?"
    rb"|(?<=C)(?:B*+" + _TB + rb")?|)" + _UNIT + rb"*+"
)
_JOINS_ANY = frozenset((INDENTED, HEADERLESS, NOTE, CAUSE, FRAMES))


def spans(classes: bytes) -> list[tuple[int, int]]:
    """The multi-line events of a chunk as 0-based inclusive `(start, end)` line pairs."""
    found: list[tuple[int, int]] = []
    for m in _EVENT.finditer(classes):
        start, end = m.start(), m.end() - 1
        if start and classes[start - 1] != BLANK:
            first, above = classes[start], classes[start - 1]
            if (
                first in _JOINS_ANY
                or (first == EXCEPTION and end > start)
                or (first == TRACEBACK and above in (START, HEADERLESS))
            ):
                start -= 1
        if start == end:
            continue
        if found and start <= found[-1][1]:
            start = found.pop()[0]
        found.append((start, end))
    if all(end - start < MAX_EVENT_LINES for start, end in found):
        return found
    capped: list[tuple[int, int]] = []
    for start, end in found:
        for piece in range(start, end + 1, MAX_EVENT_LINES):
            last = min(piece + MAX_EVENT_LINES - 1, end)
            if last > piece:
                capped.append((piece, last))
    return capped


_HEADLINES = frozenset((START, EXCEPTION, CAUSE, PANIC, RUST_PANIC, HEADERLESS))


def is_headline(cls: int) -> bool:
    """Whether a line of this class can stand for an event on its own.

    Frames, blanks and a trace's boilerplate (`Traceback (most recent call last):`,
    `goroutine 1 [running]:`, `exit status 2`) cannot; the exception line can.
    """
    return cls in _HEADLINES


# An exception named at the start of an indented line: test runners (Jest, Mocha, RSpec) print
# the error of a failed test indented under its name.
_INDENTED_EXCEPTION = re.compile(r"\s+(?:[A-Za-z_$][\w$]*\.)*[A-Z][\w$]*(?:Error|Exception)(?::|$)")


def stands_out(cls: int, line: str) -> bool:
    """Whether a line can stand for an event on its own (`is_headline`), or is an exception
    named on an indented line, which reports trouble wherever it sits."""
    return is_headline(cls) or (cls == INDENTED and _INDENTED_EXCEPTION.match(line) is not None)


def last_start(classes: bytes) -> int:
    """Where the chunk's last event starts.

    The next chunk may still continue it (more frames, a chained exception after a blank
    line), so a streaming reader holds the lines from here on back. Events are capped, so
    looking at the last two caps' worth of lines is enough.
    """
    end = len(classes.rstrip(b"B"))
    if end == 0:
        return 0
    offset = max(0, end - 2 * MAX_EVENT_LINES)
    found = spans(classes[offset:end])
    if found and found[-1][1] == end - offset - 1:
        return offset + found[-1][0]
    return end - 1
