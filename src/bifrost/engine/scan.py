"""The streaming scan: blocks of raw lines in, per-template statistics and evidence out.

This is the hot path. Most lines of a real log repeat a shape already seen, so each block is
handled with C-implemented primitives: the block is split once, a *shape key* (the raw line
with its digits deleted) is made for every line by one `bytes.translate`, and lines are
counted per key by `collections.Counter`. Only a key never seen before goes through the slow
path — decode, format parsing, classification, masking, mining — once. Memory holds one entry
per shape and per template, never per line (unless the caller asks for per-line template ids).
"""

from __future__ import annotations

import bisect
import hashlib
from array import array
from collections import Counter
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import compress

from bifrost.engine import events, evidence, steps
from bifrost.engine.bursts import BUCKETS, bucket_shift, widen
from bifrost.engine.formats import (
    MERGED,
    PLAIN,
    LogFormat,
    merged_source,
    parse_any,
    sample_format,
)
from bifrost.engine.mask import mask
from bifrost.engine.metrics import MetricLog, ShapeReads, relevant
from bifrost.engine.miner import TemplateMiner
from bifrost.engine.read import Source, blocks, decode
from bifrost.engine.records import Record
from bifrost.engine.signatures import match
from bifrost.engine.vocabulary import is_trouble, looks_like_trouble, mentions_trouble
from bifrost.errors import InputError
from bifrost.i18n import DEFAULT_LANGUAGE, message
from bifrost.levels import LEVELS, RANK

_DIGITS = b"0123456789"
SAMPLE_LINES = 200
SAMPLE_BYTES = 1 << 20
_MAX_EVENT_LINES = 400
_OCCURRENCES = 3  # occurrences kept per troubled template, for evidence
_MAX_SOURCES = 64  # sources kept per template of a merged stream
_PREFIX_BYTES = 256  # enough of a line to hold its merged-stream prefix
_NO_LEVEL = -1
WINDOW_LINES = 200  # lines kept before a failing step's exit line, and at the end of an input
_WINDOW_LINE_CHARS = 4096  # a window keeps at most this much of each line
_MAX_WINDOWS = 8  # windows kept of each kind, the first ones: later failures often only
# report the first one again
_WRAPPER_GAP = 10  # a wrapper this close after the last window's end adds no window
_MAX_WRAPPERS = 1000
_METRIC_PASSES = 4  # shapes of metric lines in a block found by a pass each (see _note_metrics)


@dataclass
class Occurrence:
    """Where a template was seen, with the lines of its event and the lines just before it."""

    file: int
    line: int  # 1-based line of the template's own line
    start: int  # 1-based first line of `lines`
    lines: list[str]
    context: list[str]  # the lines just before `start`
    after: list[str] = field(default_factory=list)  # the lines just after the event
    command: tuple[int, str] | None = None  # (line, text) of the echoed command that printed it


@dataclass
class Window:
    """The last lines of a failing step (before its exit line), or of an input.

    The cause of a failure is usually printed there, often without any error word, so these
    lines are kept whatever they say; the scorer decides which of them matter.
    """

    file: int
    start: int  # 1-based line of `lines[0]`
    lines: list[str]
    templates: list[int]  # the template of each line (as numbered by the miner then)
    classes: bytes  # the event class of each line (see `events`)
    end: int | None  # 1-based line of the exit line or wrapper; None at the end of an input
    step_start: int  # 1-based first line of the step (1 when no step start was seen)
    exit: bool = False  # ends at a failing step's exit line (else at a wrapper, or the end)


@dataclass
class TemplateStats:
    """Everything the scorer needs to know about one template, gathered while streaming."""

    index: int
    count: int = 0
    level: int = _NO_LEVEL
    headline: bool = False  # can stand for an event on its own (not a stack frame, not blank)
    trouble: bool = False  # error-ish by level or vocabulary: worth keeping evidence for
    first: tuple[int, int] | None = None  # (file, line)
    last: tuple[int, int] | None = None
    last_text: str = ""
    occurrences: list[Occurrence] = field(default_factory=list)  # the first few, in order
    histogram: list[int] | None = None  # occurrences per stretch of lines (bursts.BUCKETS)
    sources: set[str] = field(default_factory=set)  # pods/services of a merged stream
    masked: str = ""  # the masked message of the template's first line shape
    role: int = steps.NONE  # the structural role of that shape (see `steps`)
    command: bool = False  # that shape is an echoed command (`$ make`)

    @property
    def occurrence(self) -> Occurrence | None:
        """The first occurrence: the one evidence starts with."""
        return self.occurrences[0] if self.occurrences else None


@dataclass
class Scan:
    """The result of scanning every input: templates with their statistics, and totals."""

    miner: TemplateMiner
    stats: dict[int, TemplateStats]
    sources: list[Source]
    formats: list[LogFormat | None]  # per input; None for an empty one
    lines: int = 0
    events: int = 0
    levels: Counter[str] = field(default_factory=Counter)
    sha256: str = ""
    line_templates: array[int] | None = None  # per input line, when asked for
    line_files: list[int] = field(default_factory=list)  # lines per file
    histogram_shift: int = 4  # histogram buckets are 2**shift lines wide
    failures: list[Window] = field(default_factory=list)  # before exits and wrappers, in order
    ends: list[Window] = field(default_factory=list)  # the last lines of each input
    wrappers: list[tuple[int, int]] = field(default_factory=list)  # (file, line), in order
    headers: list[tuple[int, int]] = field(default_factory=list)  # (file, line), in order
    metrics: MetricLog = field(default_factory=MetricLog)  # a training run's curves

    def template_text(self, index: int) -> str:
        return self.miner.templates[self.miner.find(index)].text

    def template_id(self, index: int) -> str:
        return self.miner.templates[self.miner.find(index)].id

    def file_name(self, file: int) -> str | None:
        """The name of input `file` where a Report names it: only when there are several."""
        return self.sources[file].name if len(self.sources) > 1 else None

    def timestamp(self, file: int, line: str) -> str | None:
        """The timestamp written on a line of input `file`, if its format has one."""
        log_format = self.formats[file]
        record = parse(log_format, line) if log_format else None
        return record.timestamp if record else None

    @property
    def format_name(self) -> str | None:
        names = sorted({f.name for f in self.formats if f is not None})
        return ", ".join(names) if names else None


class Scanner:
    """Feeds blocks of lines through the shape cache; see the module docstring."""

    def __init__(
        self,
        *,
        context_lines: int = 3,
        max_line_bytes: int = 64 << 10,
        keep_line_templates: bool = False,
        miner: TemplateMiner | None = None,
    ) -> None:
        self.context_lines = context_lines
        self.max_line_bytes = max_line_bytes
        self.miner = miner if miner is not None else TemplateMiner()  # shared: `bifrost diff`
        self._template: dict[bytes, int] = {}
        self._class: dict[bytes, int] = {}
        self._level: dict[bytes, int] = {}
        self._trouble: set[bytes] = set()
        self._unplaced: set[bytes] = set()  # learnt, but not yet counted
        self._is_troubled: dict[bytes, bool] = {}
        self._zero_sensitive: set[bytes] = set()  # harmless so far only because of a zero
        self._shift = 4  # histogram buckets are 2**shift lines wide
        self._stats: dict[int, TemplateStats] = {}
        self._levels: Counter[int] = Counter()
        self._lines = 0
        self._events = 0
        self._line_templates = array("l") if keep_line_templates else None
        self._format: LogFormat | None = None
        self._indent = ""  # the indentation every line of a pasted log shares, removed
        self._role: dict[bytes, int] = {}
        self._has_role: dict[bytes, bool] = {}
        self._role_keys: set[bytes] = set()
        self._recent: list[bytes] = []  # the last lines counted, at most WINDOW_LINES
        self._step_start = 1
        self._failures: list[Window] = []
        self._kept: Counter[bool] = Counter()  # windows kept, by `exit`
        self._ends: list[Window] = []
        self._wrappers: list[tuple[int, int]] = []
        self._headers: list[tuple[int, int]] = []
        self._metrics = MetricLog()
        self._metric_keys: dict[bytes, ShapeReads] = {}  # shapes that hold training metrics
        self._is_metric: dict[bytes, bool] = {}

    def scan(
        self,
        sources: list[Source],
        block_bytes: int,
        progress: Callable[[int], None] | None = None,
    ) -> Scan:
        """Scan every input in turn; line numbers restart at 1 in each.

        `progress` is told the size of each block as it is read (for a progress bar).
        """
        formats: list[LogFormat | None] = []
        line_files: list[int] = []
        with _Digest() as digest:
            for file_index, source in enumerate(sources):
                self._format = None
                self._recent = []
                self._step_start = 1
                before = self._lines
                line_no = 0
                pending = b""
                for block in blocks(source, block_bytes, self.max_line_bytes):
                    digest.update(block)
                    if progress is not None:
                        progress(len(block))
                    line_no, pending = self._feed(pending + block, file_index, line_no)
                if pending:
                    self._feed(pending, file_index, line_no, final=True)
                formats.append(self._format)
                line_files.append(self._lines - before)
                if self._lines > before:
                    self._ends.append(self._window(file_index, self._lines - before + 1, []))
                self._check_not_empty(source, len(sources))
        if self._lines == 0:
            raise InputError.said("input.empty")
        return Scan(
            miner=self.miner,
            stats=self._merged_stats(),
            sources=sources,
            formats=formats,
            lines=self._lines,
            events=self._events,
            levels=Counter({LEVELS[k]: v for k, v in self._levels.items() if k != _NO_LEVEL}),
            sha256=digest.hexdigest,
            line_templates=self._line_templates,
            line_files=line_files,
            histogram_shift=self._shift,
            failures=self._failures,
            ends=self._ends,
            wrappers=self._wrappers,
            headers=self._headers,
            metrics=self._metrics,
        )

    def _check_not_empty(self, source: Source, inputs: int) -> None:
        if source.bytes_read:
            return
        if inputs == 1:
            key = "input.truncated" if source.truncated else "input.empty_file"
            raise InputError.said(key, name=source.name)
        skipped = "warning.truncated_skipped" if source.truncated else "warning.empty_skipped"
        source.warnings.append(message(skipped, DEFAULT_LANGUAGE, name=source.name))

    def _feed(
        self, data: bytes, file: int, line_no: int, *, final: bool = False
    ) -> tuple[int, bytes]:
        """Scan the complete events of a block; return the new line count and the held-back tail.

        The tail from the last event start is held back (unless `final`) so that a stack
        trace cut by the block boundary is seen whole with the next block.
        """
        block = Block(data)
        keys = block.keys
        if self._format is None:
            if len(keys) < SAMPLE_LINES and len(data) < SAMPLE_BYTES and not final:
                return line_no, data  # too little to tell the format from: read on
            sample = [self._text(line) for line in block.lines[:SAMPLE_LINES]]
            self._indent, self._format = sample_format(sample)
        first = self._learn(block)
        classes = bytes(map(self._class.__getitem__, keys))
        cut = len(keys)
        if not final:  # the last event may go on, and whether the one before it ends where it
            # seems to can depend on the line after it (an exception line joins only when
            # frames follow): hold both back
            cut = events.last_start(classes[: events.last_start(classes)])
        if cut == 0 and len(keys) < events.MAX_EVENT_LINES:
            return line_no, data  # one event still going on: wait for more of it
        tail = b""
        if 0 < cut < len(keys):
            tail = block.cut(cut)
            classes = classes[:cut]
            first = None
        self._count(block, classes, first, file, line_no)
        return line_no + len(block.keys), tail

    def _text(self, line: bytes) -> str:
        return decode(line[: self.max_line_bytes])

    def _learn(self, block: Block) -> dict[bytes, int] | None:
        """The slow path, once per never-seen shape. Returns first indices if anything was new."""
        known = self._template
        new = [k for k in set(block.keys) if k not in known]
        if not new:
            return None
        assert self._format is not None
        first = block.first_indices()
        new.sort(key=first.__getitem__)  # in input order: mining must not depend on hashing
        self._unplaced.update(new)
        for key in new:
            text = self._text(block.lines[first[key]]).removeprefix(self._indent)
            cls, record = read_shape(self._format, text)
            message = record.message.strip()
            masked = mask(message)
            index = self.miner.add(masked)
            known[key] = index
            self._class[key] = cls
            level = RANK[record.level] if record.level else _NO_LEVEL
            self._level[key] = level
            role = steps.role(message)
            self._is_metric[key] = relevant(text)
            if self._is_metric[key]:
                self._metric_keys[key] = ShapeReads()
            stats = self._stats.get(index)
            if stats is None:
                stats = self._stats[index] = TemplateStats(
                    index=index, masked=masked, role=role, command=steps.is_command(message)
                )
            self._has_role[key] = role != steps.NONE
            if role != steps.NONE:
                self._role[key] = role
                self._role_keys.add(key)
            stats.level = max(stats.level, level)
            if events.stands_out(cls, text):
                stats.headline = True
                if is_trouble(message, level) or match(message) is not None:
                    self._mark_troubled(key)
                elif level >= RANK["warning"] or mentions_trouble(message):
                    # `0 errors`: harmless only because of a number, which the shape key does
                    # not see; `3 errors` has the same shape. Each line decides (see _count).
                    self._zero_sensitive.add(key)
            self._is_troubled[key] = key in self._trouble
        return first

    def _mark_troubled(self, key: bytes) -> None:
        self._stats[self._template[key]].trouble = True
        self._trouble.add(key)
        self._is_troubled[key] = True
        self._zero_sensitive.discard(key)

    def _promote_nonzero(self, block: Block) -> dict[bytes, int]:
        """A shape seen harmless (`0 failed`) becomes troubled at its first line that is not;
        returns those shapes with that line's index in the block."""
        sensitive = self._zero_sensitive.intersection(block.keys)
        promoted: dict[bytes, int] = {}
        for i, key in enumerate(block.keys):
            if not sensitive:
                break
            if key in sensitive and looks_like_trouble(self._text(block.lines[i])):
                self._mark_troubled(key)
                sensitive.discard(key)
                promoted[key] = i
        return promoted

    def _count(
        self,
        block: Block,
        classes: bytes,
        first: dict[bytes, int] | None,
        file: int,
        line_no: int,
    ) -> None:
        keys = block.keys
        counts = Counter(keys)
        template, level, stats = self._template, self._level, self._stats
        for key, n in counts.items():
            stats[template[key]].count += n
            self._levels[level[key]] += n
        self._lines += len(keys)
        spans = events.spans(classes)
        self._events += len(keys) - classes.count(events.BLANK) - sum(e - s for s, e in spans)
        if self._line_templates is not None:
            self._line_templates.extend(map(template.__getitem__, keys))
        if any(key in counts for key in self._role_keys):  # few keys: cheaper than isdisjoint
            self._note_steps(block, file, line_no)
        if self._metric_keys and not self._metric_keys.keys().isdisjoint(counts):
            self._note_metrics(block, counts, file, line_no)
        self._remember_recent(block)
        unplaced = self._unplaced.intersection(counts)
        if unplaced:  # shapes counted for the first time: their template may be new too
            first = first or block.first_indices()
            for key in unplaced:
                entry = stats[template[key]]
                position = (file, line_no + first[key] + 1)
                if entry.first is None or position < entry.first:
                    entry.first = position
            self._unplaced -= unplaced
        promoted = self._promote_nonzero(block) if self._zero_sensitive else {}
        troubled = self._trouble.intersection(counts)
        if not troubled:
            return
        hits = list(compress(range(len(keys)), map(self._is_troubled.__getitem__, keys)))
        if promoted:  # lines of a promoted shape before its first non-zero line stay harmless
            hits = [i for i in hits if i >= promoted.get(keys[i], 0)]
        hit_keys = list(map(keys.__getitem__, hits))
        last = dict(zip(hit_keys, hits, strict=True))
        self._note_positions(hit_keys, hits, line_no + len(keys), line_no)
        if self._format is MERGED:
            self._note_sources(block, hits, hit_keys)
        starts = [s for s, _ in spans]
        earliest = dict(zip(reversed(hit_keys), reversed(hits), strict=True))
        for key in sorted(troubled, key=earliest.__getitem__):  # in input order: deterministic
            entry = stats[template[key]]
            position = (file, line_no + last[key] + 1)
            if entry.last is None or position > entry.last:
                entry.last = position
                entry.last_text = self._text(block.lines[last[key]])
            if len(entry.occurrences) < _OCCURRENCES:
                self._capture(
                    entry, key, earliest[key], last[key], block, spans, starts, file, line_no
                )

    def _note_metrics(self, block: Block, counts: Counter[bytes], file: int, line_no: int) -> None:
        """Hand the lines that hold training metrics to the metric log in order, fewer of
        each shape as it repeats (see `metrics.ShapeReads`). The lines of each shape are found
        by a pass in C per shape when there are few shapes (a training log has one or two),
        else by one pass in Python."""
        keys = block.keys
        present = [key for key in counts if key in self._metric_keys]
        if len(present) <= _METRIC_PASSES:
            where = {
                key: list(compress(range(len(keys)), map(key.__eq__, keys))) for key in present
            }
        else:
            where = {key: [] for key in present}
            for i in compress(range(len(keys)), map(self._is_metric.__getitem__, keys)):
                where[keys[i]].append(i)
        reads = [
            (positions[j], weight)
            for key, positions in where.items()
            for j, weight in self._metric_keys[key].plan(len(positions))
        ]
        for i, weight in sorted(reads):
            text = self._text(block.lines[i]).removeprefix(self._indent)
            self._metrics.feed(file, line_no + i + 1, text, weight)

    def _note_steps(self, block: Block, file: int, line_no: int) -> None:
        """Follow the steps of a build log; keep the window before each failing step's exit
        line and before each wrapper (see `steps`)."""
        keys = block.keys
        for i in compress(range(len(keys)), map(self._has_role.__getitem__, keys)):
            role, line = self._role[keys[i]], line_no + i + 1
            if role == steps.STEP_START:
                self._step_start = line
                continue
            if role == steps.HEADER:
                if len(self._headers) < _MAX_WRAPPERS:
                    self._headers.append((file, line))
                continue
            failed = role == steps.STEP_END and steps.failed(self._text(block.lines[i]))
            if role == steps.WRAPPER or failed:
                if len(self._wrappers) < _MAX_WRAPPERS:
                    self._wrappers.append((file, line))
                last = self._failures[-1] if self._failures else None
                close = (
                    last is not None
                    and last.file == file
                    and line - (last.end or 0) <= (_WRAPPER_GAP)
                )
                if self._kept[failed] < _MAX_WINDOWS and (failed or not close):
                    before = block.lines[max(0, i - WINDOW_LINES) : i]
                    self._failures.append(self._window(file, line, before, end=line, exit=failed))
                    self._kept[failed] += 1
            if role == steps.STEP_END:
                self._step_start = line + 1

    def _window(
        self,
        file: int,
        stop: int,
        before: list[bytes],
        *,
        end: int | None = None,
        exit: bool = False,
    ) -> Window:
        """The lines of the current step before line `stop` (1-based), at most WINDOW_LINES:
        `before` (from the current block) after the lines remembered from earlier blocks."""
        lines = before
        if len(lines) < WINDOW_LINES:
            lines = self._recent[max(0, len(self._recent) - WINDOW_LINES + len(lines)) :] + lines
        start = stop - len(lines)
        if self._step_start > start:
            lines = lines[self._step_start - start :]
            start = self._step_start
        keys = [line.translate(None, _DIGITS) for line in lines]
        return Window(
            file=file,
            start=start,
            lines=[self._text(line[:_WINDOW_LINE_CHARS]) for line in lines],
            templates=[self._template[key] for key in keys],
            classes=bytes(self._class[key] for key in keys),
            end=end,
            step_start=self._step_start,
            exit=exit,
        )

    def _remember_recent(self, block: Block) -> None:
        """Keep the last lines counted (a block's own lines stay unsplit): a window may reach
        back into earlier blocks."""
        lines = block.last_lines(WINDOW_LINES)
        if len(lines) >= WINDOW_LINES:
            self._recent = lines
        else:
            self._recent = (self._recent + lines)[-WINDOW_LINES:]

    def _note_sources(self, block: Block, hits: list[int], hit_keys: list[bytes]) -> None:
        """Which pods or services each troubled template came from (a bounded set)."""
        stats, template = self._stats, self._template
        for i, key in zip(hits, hit_keys, strict=True):
            entry = stats[template[key]]
            if len(entry.sources) < _MAX_SOURCES:
                found = merged_source(decode(block.lines[i][:_PREFIX_BYTES]))
                if found is not None:
                    entry.sources.add(found[0])

    def _note_positions(
        self, hit_keys: list[bytes], hits: list[int], end: int, line_no: int
    ) -> None:
        """Add troubled lines to their templates' histograms (see `bursts`)."""
        shift = bucket_shift(end, self._shift)
        if shift != self._shift:
            for entry in self._stats.values():
                if entry.histogram is not None:
                    entry.histogram = widen(entry.histogram, shift - self._shift)
            self._shift = shift
        stats, template = self._stats, self._template
        first_bucket = (line_no + 1) >> shift
        last_bucket = (end) >> shift
        start = 0
        for bucket in range(first_bucket, last_bucket + 1):  # a block spans few buckets
            stop = bisect.bisect_left(hits, ((bucket + 1) << shift) - line_no - 1, lo=start)
            for key, n in Counter(hit_keys[start:stop]).items():
                entry = stats[template[key]]
                if entry.histogram is None:
                    entry.histogram = [0] * BUCKETS
                entry.histogram[bucket] += n
            start = stop

    def _capture(
        self,
        entry: TemplateStats,
        key: bytes,
        i: int,
        last: int,
        block: Block,
        spans: list[tuple[int, int]],
        starts: list[int],
        file: int,
        line_no: int,
    ) -> None:
        """Keep the first few occurrences of a troubled shape, each in a different event."""
        while True:
            occurrence = self._occurrence(block.lines, spans, starts, i, file, line_no)
            entry.occurrences.append(occurrence)
            after = occurrence.start - line_no - 1 + len(occurrence.lines)
            if len(entry.occurrences) >= _OCCURRENCES or last < after:
                return
            i = block.keys.index(key, after)

    def _occurrence(
        self,
        lines: list[bytes],
        spans: list[tuple[int, int]],
        starts: list[int],
        i: int,
        file: int,
        line_no: int,
    ) -> Occurrence:
        start = end = i
        k = bisect.bisect_right(starts, i) - 1
        if k >= 0 and spans[k][0] <= i <= spans[k][1]:
            start, end = spans[k]
        end = min(end, start + _MAX_EVENT_LINES - 1)
        context_start = max(0, start - self.context_lines)
        return Occurrence(
            file=file,
            line=line_no + i + 1,
            start=line_no + start + 1,
            lines=[self._text(line) for line in lines[start : end + 1]],
            context=[self._text(line) for line in lines[context_start:start]],
            after=[self._text(line) for line in lines[end + 1 : end + 1 + evidence.AFTER_LINES]],
        )

    def _merged_stats(self) -> dict[int, TemplateStats]:
        """Fold the statistics of templates the miner merged into the survivor's."""
        merged: dict[int, TemplateStats] = {}
        for index, entry in sorted(self._stats.items()):
            root = self.miner.find(index)
            into = merged.get(root)
            if into is None:
                entry.index = root
                merged[root] = entry
                continue
            into.count += entry.count
            into.level = max(into.level, entry.level)
            into.headline |= entry.headline
            into.trouble |= entry.trouble
            if entry.first and (into.first is None or entry.first < into.first):
                into.first = entry.first
            if entry.last and (into.last is None or entry.last > into.last):
                into.last, into.last_text = entry.last, entry.last_text or into.last_text
            both = sorted(into.occurrences + entry.occurrences, key=lambda o: (o.file, o.line))
            into.occurrences = both[:_OCCURRENCES]
            into.sources |= entry.sources
            if entry.histogram is not None:
                mine = into.histogram or [0] * BUCKETS
                into.histogram = [a + b for a, b in zip(mine, entry.histogram, strict=True)]
        return merged


def parse(log_format: LogFormat, text: str) -> Record | None:
    """The line under the input's format; a mixed input (plain text) tries every format."""
    return parse_any(text) if log_format is PLAIN else log_format.parse(text)


def read_shape(log_format: LogFormat, text: str) -> tuple[int, Record]:
    """The event class of a line shape (see `events`) and its record: every line gets one,
    as plain text when the input's format does not fit it."""
    parsed = parse(log_format, text)
    return events.classify(text, parsed), parsed or PLAIN.parse(text) or Record(message=text)


class Block:
    """One block of raw lines and their shape keys; the lines are split only when needed."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._end = len(data)  # where the lines counted end (see `cut`)
        shapes = data.translate(None, _DIGITS)
        if data[-1:] not in (b"\n", b"\r") and shapes[-1:] in (b"\n", b"\r", b""):
            shapes += b"\n"  # a last line of digits alone, unterminated, would leave no key
        self.keys = shapes.splitlines()
        self._lines: list[bytes] | None = None

    @property
    def lines(self) -> list[bytes]:
        if self._lines is None:
            self._lines = self._data.splitlines()
        return self._lines

    def cut(self, end: int) -> bytes:
        """Keep only the first `end` lines; return the raw bytes of the others."""
        count = len(self.keys) - end
        self.keys = self.keys[:end]
        data = self._data
        if self._lines is not None or b"\r" in data:
            tail = self.lines[end:]
            self._lines = self.lines[:end]
            return b"\n".join(tail) + b"\n"
        offset = len(data) - 1  # blocks end with a line break; only `\n` ones here
        for _ in range(count):
            offset = data.rfind(b"\n", 0, offset)
        self._end = offset + 1
        return data[offset + 1 :]

    def last_lines(self, count: int) -> list[bytes]:
        """The last `count` lines, splitting only those when the block is not split yet."""
        if self._lines is not None or b"\r" in self._data:
            return self.lines[-count:]
        data, end = self._data, self._end
        offset = end - 1
        for _ in range(count):
            offset = data.rfind(b"\n", 0, offset)
            if offset < 0:
                break
        return data[offset + 1 : end].splitlines()

    def first_indices(self) -> dict[bytes, int]:
        keys = self.keys
        return dict(zip(reversed(keys), range(len(keys) - 1, -1, -1), strict=True))


class _Digest:
    """SHA-256 of the input, computed on a second thread (hashlib releases the GIL)."""

    def __init__(self) -> None:
        self._hash = hashlib.sha256()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bifrost-sha256")
        self._pending: Future[None] | None = None
        self.hexdigest = ""

    def update(self, data: bytes) -> None:
        if self._pending is not None:
            self._pending.result()
        self._pending = self._pool.submit(self._hash.update, data)

    def __enter__(self) -> _Digest:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pending is not None:
            self._pending.result()
        self._pool.shutdown()
        self.hexdigest = self._hash.hexdigest()
