"""Training metrics read off a log's lines, with no configuration: loss, learning rate, grad
norm, accuracy, throughput and memory, by step and epoch.

Trainers print them in a handful of shapes, nearly all of them `key: value` or `key=value`
pairs: Hugging Face Trainer's dicts (`{'loss': 0.52, 'learning_rate': 5e-05, 'epoch': 0.4}`),
JSON lines, `step=100 loss=0.52 lr=3e-4`, `iter 100: loss 4.2345` (nanoGPT), Keras (`Epoch
3/10` then `… - loss: 0.21 - accuracy: 0.93`), Lightning's progress bars (`Epoch 2:
45%|…| 450/1000 [00:12<00:15, v_num=0, train_loss=0.231]`) and scalars named like
`train/loss=0.5`. A key is known by what it names, not by one trainer's spelling
(`classify`).

The scanner hands over only lines of a shape whose first line held a metric (`relevant`),
so a log without any costs nothing; and of each shape, only every `weight`-th line once it
was seen often (`weight_of`), so a run of a million steps costs little more than one of a
thousand. Memory is bounded: each series keeps at most `MAX_POINTS` points, thinned evenly
as the run goes on (every second one dropped, then every fourth …), and only the first
`MAX_SERIES` series are followed.
"""

from __future__ import annotations

import functools
import heapq
import math
import re
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bifrost.report import Metric, MetricPoint

MAX_SERIES = 12
MAX_POINTS = 256
READ_IN_FULL = 128  # lines of one shape read before every second one is skipped, and so on
_TEXT_CHARS = 300  # of a line kept as evidence
READ_CHARS = 2048  # of a line read for metrics: trainers print short lines, and a long line
# of pairs would cost milliseconds each

HINT = re.compile(
    r"loss|learning.rate|\blr\b|grad.?norm|epoch|\bstep|\biter|samples?.per.s|tokens?.per.s"
    r"|(?:samples?|tokens?|toks?)/s|throughput|\bmem|accuracy|\bacc\b|perplexity|\bppl\b",
    re.IGNORECASE,
)
"""A line worth reading for metrics; most lines of most logs are not."""
_HINT_WORDS = re.compile(  # HINT's words without its word boundaries, on lowered text: a
    r"loss|learning.rate|lr|grad.?norm|epoch|step|iter|samples?.per.s|tokens?.per.s"  # 25th
    r"|samples?/s|tokens?/s|toks?/s|throughput|mem|accuracy|acc|perplexity|ppl"  # of the time
)

_NUMBER = (
    r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
    r"|[-+]?(?:[nN]a[nN]|[iI]nf(?:inity)?|INF(?:INITY)?)\b"
)
_PAIR = re.compile(  # case-sensitive, and its key greedy: twice as fast as the alternative
    rf"""(?<![\w./-])['"]?(?P<key>[A-Za-z][\w./-]*)['"]?\s*[:=]\s*['"]?(?:tensor\()?"""
    rf"(?P<value>{_NUMBER})(?:\s*(?P<unit>[KMGT]i?B|[KMG]\b))?"
)
_SPACED = re.compile(  # `iter 100: loss 4.2345`, `step 500: train loss 2.12, val loss 2.23`
    r"(?<![\w./-])(?:(?P<split>train(?:ing)?|val(?:id(?:ation)?)?|eval(?:uation)?|test)[ _])?"
    r"(?P<name>loss|lr|learning rate|grad norm|ppl|perplexity|acc(?:uracy)?)"
    rf"\s+(?P<value>{_NUMBER})",
    re.IGNORECASE,
)
_RATE = re.compile(
    r"(?P<value>\d+(?:\.\d+)?)\s*(?P<unit>samples?|tokens?|toks?|images?|imgs?)\s*/\s*s(?:ec)?\b"
    r"(?!['\"]?\s*[:=])",  # `tokens/s=4215` is a key and its value, read as a pair
    re.IGNORECASE,
)
_EPOCH = re.compile(r"\bepoch\s*[\[(]?\s*(?P<n>\d+)(?:\s*/\s*(?P<of>\d+))?", re.IGNORECASE)
_STEP = re.compile(
    r"\b(?:global[_ ]step|step|iter(?:ation)?)\s*[\[(:=]?\s*(?P<n>\d+)(?:\s*/\s*(?P<of>\d+))?",
    re.IGNORECASE,
)
_BAR = re.compile(r"\d+%\|[^|]*\|\s*(?P<n>\d+)/(?P<of>\d+)")  # a tqdm bar: `45%|████▌ | 450/1000`
_TOTAL = re.compile(
    r"(?P<what>num[_ ]epochs|max[_ ]epochs|total optimization steps|max[_ ]steps|total[_ ]steps)"
    r"\s*[=:]\s*(?P<n>[\d,]+)",
    re.IGNORECASE,
)
_TIME = re.compile(r"(?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:[.,](?P<f>\d+))?")
_DATE = re.compile(r"(\d{4}-\d\d-\d\d)[T ]$")  # just before the time
_UNIT_MIB = {"k": 1 / 1024, "m": 1.0, "g": 1024.0, "t": 1024.0**2}

KINDS = ("loss", "val_loss", "lr", "grad_norm", "accuracy", "perplexity", "throughput", "memory")
"""What a series measures; the detectors (`curves`) know what to expect of each."""
_EVALUATION = re.compile(r"^(?:val|valid|validation|eval|test)(?:[_/.-]|$)|[_/.-](?:val|eval)_")
_PROGRESS_KEYS = {"epoch", "step", "global_step", "iter", "iteration", "it"}


_LR = re.compile(r"lr[-_]")
_GRAD_NORM = re.compile(r"grad(?:ient)?[_-]?norm|^gnorm$")
_ACCURACY = re.compile(r"(?:^|_)acc(?:uracy)?(?:_|$)")
_THROUGHPUT = re.compile(
    r"(?:samples?|tokens?|toks?|images?)_?(?:per_?s(?:ec(?:ond)?)?|/s)|throughput"
)
_MEMORY = re.compile(r"(?:^|_)mem(?:ory)?(?:_|$)|memory_(?:allocated|reserved)")
_LEAF = re.compile(r"[/.]")


@functools.lru_cache(maxsize=1024)
def classify(key: str) -> str | None:
    """The kind of metric a key names (`train/loss` → loss, `eval_loss` → val_loss,
    `learning_rate` → lr), or None for anything else (`v_num`, `runtime`)."""
    name = key.lower().strip("'\"")
    leaf = _LEAF.split(name)[-1]
    evaluation = bool(_EVALUATION.search(name))
    if "loss" in leaf:
        return "val_loss" if evaluation else "loss"
    if leaf in {"lr", "learning_rate", "learning-rate"} or _LR.match(leaf):
        return "lr"
    if _GRAD_NORM.search(leaf):
        return "grad_norm"
    if _ACCURACY.search(leaf):
        return "accuracy"
    if leaf in {"ppl", "perplexity"} or leaf.endswith("_ppl") or leaf.endswith("perplexity"):
        return "perplexity"
    if _THROUGHPUT.search(leaf) or _THROUGHPUT.search(name):
        return "throughput"
    if _MEMORY.search(leaf):
        return "memory"
    return None


@dataclass(frozen=True)
class Point:
    """One value of a series, and where the log wrote it."""

    index: int  # 1-based: the how-manieth value of its series
    value: float
    file: int
    line: int
    text: str
    step: int | None = None
    epoch: float | None = None
    progress: float | None = None  # 0–1 of the run, when the log says how long it will be

    @property
    def finite(self) -> bool:
        return math.isfinite(self.value)

    def where(self) -> str:
        """`step 1200`, `epoch 3` or `line 57`: the best name the log gives this moment."""
        if self.step is not None:
            return f"step {self.step}"
        if self.epoch is not None:
            return f"epoch {self.epoch:g}"
        return f"line {self.line}"


@dataclass
class Series:
    """One metric over the run, thinned to at most `MAX_POINTS` points (the last one and the
    first non-finite one are always known)."""

    key: str
    kind: str
    count: int = 0
    points: list[Point] = field(default_factory=list)
    last: Point | None = None
    first_non_finite: Point | None = None
    before_non_finite: Point | None = None  # the last finite point before it
    non_finite: int = 0
    _stride: int = 1
    _kept_at: int = 0  # the index of the last point kept

    def add(self, point: Point, weight: int = 1) -> None:
        """Add a value that stands for `weight` lines of the log (see `weight_of`)."""
        self.count += weight
        if not point.finite:
            self.non_finite += weight
            if self.first_non_finite is None:
                self.first_non_finite = point
                self.before_non_finite = self.last
        self.last = point
        if self.points and point.index - self._kept_at < self._stride:
            return
        self._kept_at = point.index
        self.points.append(point)
        if len(self.points) >= MAX_POINTS:
            self.points = self.points[::2]
            self._stride *= 2
            self._kept_at = self.points[-1].index

    def kept(self) -> list[Point]:
        """The kept points and the last one, in order."""
        if self.last is not None and (not self.points or self.points[-1] is not self.last):
            return [*self.points, self.last]
        return list(self.points)

    def numbers(self) -> list[Point]:
        """The kept points that are numbers (not NaN or infinite): what a trend is read from."""
        return [p for p in self.kept() if p.finite]


@dataclass(frozen=True, order=True)
class Gap:
    """The time between two metric lines read one after the other, `lines` lines apart in
    the log (more than one when lines in between were skipped, or are no metrics)."""

    lost: float  # first: the gaps kept are those that lost most (as the run went then)
    seconds: float
    lines: int
    before: Point = field(compare=False)
    after: Point = field(compare=False)

    @property
    def per_line(self) -> float:
        return self.seconds / self.lines

    def excess(self, usual: float) -> float:
        """How much longer it took than its lines usually take: the time lost to a hang."""
        return self.seconds - (self.lines - 1) * usual


@dataclass
class MetricLog:
    """Every metric of one run, fed line by line (`feed`) in the order of the log."""

    series: dict[str, Series] = field(default_factory=dict)
    epoch: float | None = None
    epochs_total: int | None = None
    steps_total: int | None = None
    gaps: list[float] = field(default_factory=list)  # thinned like a series' points
    slowest: list[Gap] = field(default_factory=list)  # a heap of the `_SLOWEST` slowest gaps
    _usual: float = 0.0  # the median of `gaps`, brought up to date now and then
    _last_time: tuple[float, Point] | None = None
    _gap_stride: int = 1
    _gap_count: int = 0

    def feed(self, file: int, line: int, text: str, weight: int = 1) -> None:
        """Read one line, which stands for `weight` lines of its shape: its values join their
        series; a line that only says where the run is (`Epoch 3/10`, `Total optimization
        steps = 1,000`) updates that."""
        text = text[:READ_CHARS]
        total = _total(text)
        if total is not None:
            n = int(total["n"].replace(",", ""))
            if "epoch" in total["what"].lower():
                self.epochs_total = n
            else:
                self.steps_total = n
            return
        values, step, epoch = _values(text)
        if epoch is not None or step is not None:
            self._note_totals(text)
        if epoch is None:
            epoch = self.epoch
        else:
            self.epoch = epoch
        if not _training(values, step, epoch):
            return
        progress = self._progress(step, epoch)
        kept = text[:_TEXT_CHARS]
        first: Point | None = None
        for key, (kind, value) in values.items():
            series = self.series.get(key)
            if series is None:
                if len(self.series) >= MAX_SERIES:
                    continue
                series = self.series[key] = Series(key=key, kind=kind)
            point = Point(series.count + weight, value, file, line, kept, step, epoch, progress)
            series.add(point, weight)
            first = first or point
        if first is not None:
            self._note_time(text, first, weight)

    def _note_totals(self, text: str) -> None:
        """`Epoch 3/10`, `Step 120/1000`: how long the run will be."""
        for pattern in (_EPOCH, _STEP):
            said = pattern.search(text)
            if said is not None and said["of"]:
                if pattern is _EPOCH:
                    self.epochs_total = int(said["of"])
                else:
                    self.steps_total = int(said["of"])

    def _progress(self, step: int | None, epoch: float | None) -> float | None:
        if step is not None and self.steps_total:
            return min(step / self.steps_total, 1.0)
        if epoch is not None and self.epochs_total:
            return min(epoch / self.epochs_total, 1.0)
        return None

    def _note_time(self, text: str, point: Point, weight: int) -> None:
        seconds = _seconds(text)
        if seconds is None:
            return
        if self._last_time is not None:
            previous_s, previous = self._last_time
            gap = seconds - previous_s
            if gap < 0 and previous_s % 86400 >= _LATE and seconds % 86400 < _EARLY:
                gap += 86400  # a time of day alone, past midnight
            if gap >= 0:
                apart = point.line - previous.line if point.file == previous.file else weight
                lines = max(apart, 1)
                lost = gap - (lines - 1) * self._usual
                self._note_gap(Gap(lost, gap, lines, previous, point))
        self._last_time = (seconds, point)

    def _note_gap(self, gap: Gap) -> None:
        """Keep the slowest gaps, and the usual time from one metric line to the next (a gap
        across lines that were skipped is shared among them)."""
        if len(self.slowest) < _SLOWEST:
            heapq.heappush(self.slowest, gap)
        elif gap > self.slowest[0]:
            heapq.heapreplace(self.slowest, gap)
        self._gap_count += 1
        if (self._gap_count - 1) % self._gap_stride == 0:
            self.gaps.append(gap.per_line)
        if self._gap_count < _USUAL_EVERY or self._gap_count % _USUAL_EVERY == 0:
            self._usual = statistics.median(self.gaps)
            if len(self.gaps) >= MAX_POINTS:
                self.gaps = self.gaps[::2]
                self._gap_stride *= 2

    def shown(self) -> list[Series]:
        """The series worth showing: those with a few values at least, in order of first use."""
        return [s for s in self.series.values() if s.count >= MIN_SHOWN]


MIN_SHOWN = 3
_SLOWEST = 8
_USUAL_EVERY = 32  # gaps between updates of the usual gap (every gap before the first 32)
_LATE, _EARLY = 18 * 3600, 6 * 3600  # a time of day that went back across midnight


def relevant(text: str) -> bool:
    """Whether a line holds a metric, or says where a run is: the test a shape of line passes
    once (on its first line) for its lines to be read."""
    text = text[:READ_CHARS]
    if _HINT_WORDS.search(text.lower()) is None or HINT.search(text) is None:
        return False
    if _total(text) is not None:
        return True
    values, step, epoch = _values(text)
    return _training(values, step, epoch) or (not values and epoch is not None)


def _training(values: dict[str, tuple[str, float]], step: int | None, epoch: float | None) -> bool:
    """Whether values look like a training run's: one lone value (`memory:1024` of a
    scheduler, `loss: 5%` of a network log) is not, two or one at a step or epoch are."""
    return bool(values) and (len(values) >= 2 or step is not None or epoch is not None)


def weight_of(seen: int) -> int:
    """Read the `seen`-th line of a shape when `seen` is a multiple of this: every line at
    first, then every second one after `2 * READ_IN_FULL`, every fourth after twice as
    many, and so on; the line read stands for the ones skipped."""
    return 1 << max(0, (seen // READ_IN_FULL).bit_length() - 1)


@dataclass
class ShapeReads:
    """How many lines of one shape were seen, and the count at the last one read."""

    seen: int = 0
    read: int = 0

    def plan(self, more: int) -> list[tuple[int, int]]:
        """Which of the next `more` lines of the shape to read, as (0-based occurrence,
        weight) pairs (see `weight_of`); the work is per line read, not per line seen."""
        reads: list[tuple[int, int]] = []
        start, end = self.seen + 1, self.seen + more
        count = start
        while count <= end:
            weight = weight_of(count)
            last = min(end, 2 * READ_IN_FULL * weight - 1)  # the last count with this weight
            first = -(-count // weight) * weight  # the first multiple of weight from count
            for read in range(first, last + 1, weight):
                reads.append((read - start, read - self.read))
                self.read = read
            count = last + 1
        self.seen = end
        return reads


def values_of(text: str) -> dict[str, float]:
    """The metric values a line shows, by key (`{'loss': nan}` → {"loss": nan})."""
    return {key: value for key, (_, value) in _values(text)[0].items()}


def _values(text: str) -> tuple[dict[str, tuple[str, float]], int | None, float | None]:
    """The metric values of a line by key, and the step and epoch it names."""
    values: dict[str, tuple[str, float]] = {}
    step: int | None = None
    epoch: float | None = None
    for pair in _PAIR.finditer(text):
        key = pair["key"]
        name = key.lower()
        if name in _PROGRESS_KEYS:
            number = _number(pair["value"])
            if math.isfinite(number):
                if name == "epoch":
                    epoch = number
                else:
                    step = int(number)
            continue
        kind = classify(key)
        if kind is None:
            continue
        value = _number(pair["value"])
        if kind == "memory" and pair["unit"]:
            value *= _UNIT_MIB.get(pair["unit"][0].lower(), 1.0)
        values.setdefault(key, (kind, value))
    lowered = text.lower()  # each search below runs only where its words are: a third the time
    for spaced in _SPACED.finditer(text) if " " in text else ():
        name = spaced["name"].lower().replace(" ", "_")
        key = f"{spaced['split'].lower()}_{name}" if spaced["split"] else name
        if (kind := classify(key)) is not None:
            values.setdefault(key, (kind, _number(spaced["value"])))
    for rate in _RATE.finditer(text) if "/s" in text else ():
        unit = rate["unit"].lower().rstrip("s")
        unit = "token" if unit.startswith("tok") else "image" if unit.startswith("im") else unit
        values.setdefault(f"{unit}s/s", ("throughput", float(rate["value"])))
    if epoch is None and "epoch" in lowered and (said := _EPOCH.search(text)) is not None:
        epoch = float(said["n"])
    if (
        step is None
        and ("step" in lowered or "iter" in lowered)
        and (said := _STEP.search(text)) is not None
    ):
        step = int(said["n"])
    if step is None and epoch is None and "%|" in text and (bar := _BAR.search(text)):
        step = int(bar["n"])  # a bar over the whole run (Hugging Face's), not over an epoch
    return values, step, epoch


def _total(text: str) -> re.Match[str] | None:
    """`Num Epochs = 3`, `Total optimization steps = 1,000`: how long the run will be."""
    lowered = text.lower()
    return _TOTAL.search(text) if "epochs" in lowered or "steps" in lowered else None


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:  # `nan`, `-inf`, `Infinity` in any case
        lowered = text.lower().lstrip("+")
        return float(lowered.replace("infinity", "inf"))


def _seconds(text: str) -> float | None:
    """The moment a line was written, in seconds (from its date when it has one, else from
    midnight), or None when it shows no time."""
    found = _TIME.search(text)
    if found is None:
        return None
    seconds = float(int(found["h"]) * 3600 + int(found["m"]) * 60 + int(found["s"]))
    if found["f"]:
        seconds += float("0." + found["f"])
    date = _DATE.search(text, max(0, found.start() - 11), found.start())
    if date is not None:
        try:
            day = datetime.fromisoformat(date[1])
        except ValueError:
            return None
        seconds += day.toordinal() * 86400
    return seconds


def report_metrics(log: MetricLog, file_name: Callable[[int], str | None]) -> list[Metric]:
    """The series worth showing, as the Report holds them (with their thinned points)."""
    return [_metric(series, file_name) for series in log.shown()]


def _metric(series: Series, file_name: Callable[[int], str | None]) -> Metric:
    kept = series.kept()
    finite = [p.value for p in kept if p.finite]
    first, last = kept[0], kept[-1]
    return Metric(
        key=series.key,
        kind=series.kind,  # type: ignore[arg-type]  # one of KINDS, by `classify`
        count=series.count,
        non_finite=series.non_finite,
        first=_finite(first.value),
        last=_finite(last.value),
        min=min(finite) if finite else None,
        max=max(finite) if finite else None,
        first_line=first.line,
        last_line=last.line,
        points=[
            MetricPoint(
                index=p.index,
                value=_finite(p.value),
                line=p.line,
                file=file_name(p.file),
                step=p.step,
                epoch=p.epoch,
            )
            for p in kept
        ],
    )


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None
