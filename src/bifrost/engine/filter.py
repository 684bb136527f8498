"""Filtering: a log narrowed to the events that meet some criteria, streamed in constant memory.

The unit is the event (`events`): a stack trace is kept or dropped whole with the line that
started it. The scanner's shape cache does the work (`scan.Block`): the format, class, level
and template of each line shape are found once, so a level filter looks at a dict per line
and decodes only the lines it keeps. Criteria that need a line's own words (a regex, its
timestamp, its source) are checked only on the events the cheap criteria left.

Template ids are those of `bifrost templates` once `learn` has read the whole input first
(shapes are mined in the same order); on a stream they are those of the templates mined so
far. Memory grows with the shapes and templates, never with the lines: context is a bounded
window, `dedupe` keeps one event per template, `FilterStats` one count per minute for at
most `MAX_MINUTES` minutes.

On a live stream the format is told from the lines of the first read (all that had arrived):
the first lines must not wait for `SAMPLE_LINES` lines that may take minutes to come. The
last events read are held back until more lines come or the input ends, as a stack trace may
go on.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import compress
from typing import NamedTuple

from bifrost.engine import events
from bifrost.engine.formats import LogFormat, sample_format
from bifrost.engine.mask import mask
from bifrost.engine.miner import TemplateMiner
from bifrost.engine.read import Source, blocks, decode
from bifrost.engine.scan import SAMPLE_BYTES, SAMPLE_LINES, Block, parse, read_shape
from bifrost.engine.timestamps import moment
from bifrost.levels import LEVELS, RANK, Level

MAX_MINUTES = 10_080
"""Per-minute counts kept (a week); later minutes are counted in the totals only."""
MAX_KEPT_LINES = 200
"""Lines of an event `dedupe` keeps to show for its template."""
_NO_LEVEL = -1
# Events that have no level word but are plainly failures: a traceback, a panic.
_FAILING_CLASSES = frozenset((events.TRACEBACK, events.PANIC, events.RUST_PANIC))


@dataclass(frozen=True)
class TimeBound:
    """A moment to compare the log's timestamps with; without a date, only the time of day."""

    moment: datetime
    dated: bool

    def before(self, other: tuple[datetime, bool]) -> bool:
        """Whether this bound comes before the moment `other` (a `timestamps.moment`)."""
        if self.dated and other[1]:
            return self.moment < other[0]
        return self.moment.time() < other[0].time()


@dataclass(frozen=True)
class Criteria:
    """What an event must be to be kept; every criterion given must hold."""

    level: Level | None = None  # this level or above
    since: TimeBound | None = None
    until: TimeBound | None = None
    pattern: re.Pattern[str] | None = None  # a line of the event matches
    exclude: re.Pattern[str] | None = None  # no line of the event matches
    templates: frozenset[str] = frozenset()  # a line of the event has one of these templates
    exclude_templates: frozenset[str] = frozenset()  # no line of the event has one of these
    source: str | None = None  # a pod, container or service of a merged stream
    ranges: tuple[tuple[int, int, int], ...] = ()  # (input, first, last line): the event meets one
    context: int = 0  # lines shown before and after each event kept


class Line(NamedTuple):
    """One line of the output: kept (`matched`), or shown as context around a kept event."""

    file: int  # which input, from 0
    number: int  # 1-based, in its input
    text: str
    level: Level | None  # the event's level
    time: str | None  # the event's timestamp, as written (when the filter describes lines)
    template_id: str  # the line's own template
    source: str | None  # the event's source (merged streams; when it describes lines)
    matched: bool
    head: bool  # the first line of its event


class LineFilter:
    """Streams the lines of inputs that meet `criteria` (see the module docstring)."""

    def __init__(
        self, criteria: Criteria, *, max_line_bytes: int = 64 << 10, describe: bool = True
    ) -> None:
        self.criteria = criteria
        # Each event's time and source are read (a parse of its first line) only when shown
        # or asked about: for plain text they would cost more than the rest of the filter.
        self.describe = describe or bool(criteria.source or criteria.since or criteria.until)
        self.max_line_bytes = max_line_bytes
        self.miner = TemplateMiner()
        self._format: LogFormat | None = None
        self._indent = ""
        self._template: dict[bytes, int] = {}
        self._ids: dict[int, str] = {}  # template ids, until the miner learns a new shape
        self._class: dict[bytes, int] = {}
        self._level: dict[bytes, int] = {}  # the level of the shape (failing classes: error)
        self._minimum = RANK[criteria.level] if criteria.level else _NO_LEVEL
        self._at_level: dict[bytes, bool] = {}  # the shape is at the level asked for
        self._last_time: tuple[datetime, bool] | None = None
        self._recent: deque[tuple[int, bytes, bytes]] = deque(maxlen=criteria.context)
        self._shown = 0  # the last line number shown of the current input
        self._owed = 0  # context is owed up to this line number

    def learn(self, sources: list[Source], block_bytes: int) -> None:
        """Mine every line shape of the inputs first, so that template ids are final. The
        inputs are then as if unread: `lines` counts, limits and warns about them again."""
        for source in sources:
            for _ in self._chunks(source, block_bytes, live=False):
                pass
            source.rewind()

    def lines(
        self, sources: list[Source], block_bytes: int, *, live: bool = False
    ) -> Iterator[Line]:
        """The lines kept, and their context, input after input; `live` for endless input."""
        for file, source in enumerate(sources):
            self._last_time, self._shown, self._owed = None, 0, 0
            self._recent.clear()
            for block, classes, line_no in self._chunks(source, block_bytes, live=live):
                yield from self._select(block, classes, file, line_no)

    def template_id(self, key: bytes) -> str:
        index = self.miner.find(self._template[key])
        found = self._ids.get(index)
        if found is None:
            found = self._ids[index] = self.miner.templates[index].id
        return found

    def _chunks(
        self, source: Source, block_bytes: int, *, live: bool
    ) -> Iterator[tuple[Block, bytes, int]]:
        """Blocks of whole events with their lines' classes and the lines before them. The
        last events of a block are held back: the next block may continue them."""
        self._format = None
        line_no, pending = 0, b""
        for data in blocks(source, block_bytes, self.max_line_bytes, live=live):
            found, pending = self._complete(pending + data, final=False, live=live)
            if found is not None:
                yield found[0], found[1], line_no
                line_no += len(found[0].keys)
        if pending:
            found, _ = self._complete(pending, final=True, live=live)
            if found is not None:
                yield found[0], found[1], line_no

    def _complete(
        self, data: bytes, *, final: bool, live: bool
    ) -> tuple[tuple[Block, bytes] | None, bytes]:
        """As the scanner's `_feed`: the complete events of `data`, and the bytes held back."""
        block = Block(data)
        keys = block.keys
        if self._format is None:
            enough = 1 if live else SAMPLE_LINES
            if len(keys) < enough and len(data) < SAMPLE_BYTES and not final:
                return None, data
            sample = [self._text(line) for line in block.lines[:SAMPLE_LINES]]
            self._indent, self._format = sample_format(sample)
        self._learn(block)
        classes = bytes(map(self._class.__getitem__, keys))
        cut = len(keys)
        if not final:
            cut = events.last_start(classes[: events.last_start(classes)])
        if cut == 0 and len(keys) < events.MAX_EVENT_LINES:
            return None, data
        tail = b""
        if 0 < cut < len(keys):
            tail = block.cut(cut)
            classes = classes[:cut]
        return (block, classes), tail

    def _learn(self, block: Block) -> None:
        """The slow path, once per never-seen shape, in input order (as the scanner mines)."""
        new = [key for key in set(block.keys) if key not in self._template]
        if not new:
            return
        assert self._format is not None
        self._ids.clear()
        first = block.first_indices()
        new.sort(key=first.__getitem__)
        for key in new:
            text = self._text(block.lines[first[key]]).removeprefix(self._indent)
            cls, record = read_shape(self._format, text)
            self._template[key] = self.miner.add(mask(record.message.strip()))
            self._class[key] = cls
            level = RANK[record.level] if record.level else _NO_LEVEL
            if level == _NO_LEVEL and cls in _FAILING_CLASSES:
                level = RANK["error"]
            self._level[key] = level
            self._at_level[key] = level >= self._minimum

    def _text(self, line: bytes) -> str:
        return decode(line[: self.max_line_bytes])

    def _select(self, block: Block, classes: bytes, file: int, line_no: int) -> Iterator[Line]:
        """The kept events of one block, with their context."""
        keys, criteria = block.keys, self.criteria
        spans = events.spans(classes)
        starts = [start for start, _ in spans]
        candidates: Iterable[int] = range(len(keys))
        if self._minimum != _NO_LEVEL:  # any line of the level makes its event's level
            candidates = compress(range(len(keys)), map(self._at_level.__getitem__, keys))
        if criteria.ranges:
            candidates = (i for i in candidates if _in_ranges(criteria.ranges, file, line_no + i))
        covered = -1
        for i in candidates:
            if i <= covered:
                continue
            start = end = i
            k = bisect.bisect_right(starts, i) - 1
            if k >= 0 and spans[k][0] <= i <= spans[k][1]:
                start, end = spans[k]
            covered = end
            kept = self._event(block, file, line_no, start, end)
            if kept is None:
                continue
            if criteria.context:
                yield from self._owed_context(block, file, line_no, line_no + start)
                yield from self._context_before(block, file, line_no, start)
                self._shown = line_no + end + 1
                self._owed = self._shown + criteria.context
            yield from kept
        if criteria.context:
            yield from self._owed_context(block, file, line_no, line_no + len(keys))
            tail = range(max(0, len(keys) - criteria.context), len(keys))
            self._recent.extend((line_no + i + 1, block.lines[i], keys[i]) for i in tail)

    def _event(
        self, block: Block, file: int, line_no: int, start: int, end: int
    ) -> list[Line] | None:
        """The lines of the event `start`..`end` of the block when it meets the criteria."""
        criteria, keys = self.criteria, block.keys[start : end + 1]
        ids = [self.template_id(key) for key in keys]
        if criteria.templates and criteria.templates.isdisjoint(ids):
            return None
        if not criteria.exclude_templates.isdisjoint(ids):
            return None
        texts = [self._text(line) for line in block.lines[start : end + 1]]
        if criteria.pattern is not None and not any(map(criteria.pattern.search, texts)):
            return None
        if criteria.exclude is not None and any(map(criteria.exclude.search, texts)):
            return None
        assert self._format is not None
        record = parse(self._format, texts[0].removeprefix(self._indent)) if self.describe else None
        timestamp = record.timestamp if record else None
        source = record.source if record else None
        if criteria.source is not None and not _same_source(criteria.source, source):
            return None
        if criteria.since is not None or criteria.until is not None:
            when = moment(timestamp) or self._last_time
            self._last_time = when
            if when is None:
                return None
            if criteria.since is not None and not _at_or_after(when, criteria.since):
                return None
            if criteria.until is not None and criteria.until.before(when):
                return None
        rank = max(map(self._level.__getitem__, keys))
        level = LEVELS[rank] if rank != _NO_LEVEL else None
        return [
            Line(
                file, line_no + start + j + 1, text, level, timestamp, ids[j], source, True, j == 0
            )
            for j, text in enumerate(texts)
        ]

    def _context_before(self, block: Block, file: int, line_no: int, start: int) -> Iterator[Line]:
        first = max(self._shown + 1, line_no + start + 1 - self.criteria.context)
        for number, raw, key in list(self._recent):
            if number >= first:
                yield self._context_line(file, number, raw, key)
        for i in range(max(0, first - line_no - 1), start):
            yield self._context_line(file, line_no + i + 1, block.lines[i], block.keys[i])

    def _owed_context(self, block: Block, file: int, line_no: int, stop: int) -> Iterator[Line]:
        """The lines after the last kept event still owed as context, up to line `stop`."""
        last = min(self._owed, stop)
        for number in range(max(self._shown + 1, line_no + 1), last + 1):
            i = number - line_no - 1
            yield self._context_line(file, number, block.lines[i], block.keys[i])
        self._shown = max(self._shown, last)

    def _context_line(self, file: int, number: int, raw: bytes, key: bytes) -> Line:
        rank = self._level[key]
        level = LEVELS[rank] if rank != _NO_LEVEL else None
        text = self._text(raw)
        return Line(file, number, text, level, None, self.template_id(key), None, False, True)


def _in_ranges(ranges: tuple[tuple[int, int, int], ...], file: int, index: int) -> bool:
    """Whether line `index + 1` of input `file` is in one of the ranges."""
    return any(f == file and first <= index + 1 <= last for f, first, last in ranges)


def _same_source(wanted: str, source: str | None) -> bool:
    """`trainer-3` names the pod `trainer-3/main` as well as the service `trainer-3`."""
    return source is not None and (source == wanted or source.startswith(wanted + "/"))


def _at_or_after(when: tuple[datetime, bool], bound: TimeBound) -> bool:
    if bound.dated and when[1]:
        return when[0] >= bound.moment
    return when[0].time() >= bound.moment.time()


@dataclass
class Repeated:
    """The first event of a template among the lines kept, and how many events it had."""

    lines: list[Line]
    count: int = 1


def dedupe(lines: Iterable[Line]) -> list[Repeated]:
    """One event per template (the template of the event's first line), with its count, in
    the order the templates first appeared. Context lines are left out: they stand for
    nothing that repeats."""
    kept: dict[str, Repeated] = {}
    current: Repeated | None = None
    for line in lines:
        if not line.matched:
            current = None
            continue
        if line.head:
            current = kept.get(line.template_id)
            if current is not None:
                current.count += 1
                current = None
                continue
            current = kept[line.template_id] = Repeated([])
        if current is not None and len(current.lines) < MAX_KEPT_LINES:
            current.lines.append(line)
    return list(kept.values())


@dataclass
class FilterStats:
    """Counts of the events kept: by level, template, source and minute of the log's time."""

    lines: int = 0
    events: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    templates: Counter[str] = field(default_factory=Counter)
    examples: dict[str, str] = field(default_factory=dict)  # a line of each template
    sources: Counter[str] = field(default_factory=Counter)
    minutes: Counter[str] = field(default_factory=Counter)
    minutes_cut: bool = False  # more minutes than `MAX_MINUTES` were seen

    def add(self, line: Line) -> None:
        if not line.matched:
            return
        self.lines += 1
        if not line.head:
            return
        self.events += 1
        self.levels[line.level or "none"] += 1
        self.templates[line.template_id] += 1
        self.examples.setdefault(line.template_id, line.text)
        if line.source is not None:
            self.sources[line.source] += 1
        when = moment(line.time)
        if when is not None:
            minute = f"{when[0]:%Y-%m-%d %H:%M}" if when[1] else f"{when[0]:%H:%M}"
            if minute in self.minutes or len(self.minutes) < MAX_MINUTES:
                self.minutes[minute] += 1
            else:
                self.minutes_cut = True


def stats_of(lines: Iterable[Line]) -> FilterStats:
    stats = FilterStats()
    for line in lines:
        stats.add(line)
    return stats
