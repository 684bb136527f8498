"""Watch: a live log, line by line — say so when a new kind of error appears or one bursts.

The batch engine works on large blocks; a live stream cannot wait for one. Watch keeps the
same pieces — shape cache, format parsing, masking, the miner, the trouble vocabulary and the
known signatures — and decides per line, which is cheap because almost every line repeats a
shape already seen. A storm is reported once: a template is announced when it first appears,
and again only if it bursts (many occurrences in a short window) after a quiet cool-down.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from bifrost.engine.formats import LogFormat, detect
from bifrost.engine.mask import mask
from bifrost.engine.miner import TemplateMiner
from bifrost.engine.read import decode
from bifrost.engine.records import Record
from bifrost.engine.scan import parse
from bifrost.engine.signatures import Signature, match
from bifrost.engine.vocabulary import is_mild, is_trouble
from bifrost.levels import RANK
from bifrost.report import Evidence, Finding, InputInfo, Position, Report, Stats

_DIGITS = str.maketrans("", "", "0123456789")
_SAMPLE_LINES = 20


@dataclass(frozen=True)
class Alert:
    """One thing worth telling the watcher now."""

    kind: str  # "new" (a template never seen before) or "burst"
    line: int
    text: str  # the line as written
    template: str
    title: str
    signature: Signature | None
    count: int  # occurrences so far
    template_index: int


@dataclass
class _Seen:
    template: int
    troubled: bool
    signature: Signature | None


@dataclass
class Watcher:
    """Feed it lines; it returns the alerts they cause. `clock` is injectable for tests."""

    burst_count: int = 20  # this many occurrences …
    burst_window_s: float = 10.0  # … within this many seconds is a burst
    cooldown_s: float = 60.0  # a template is announced at most once per cool-down
    clock: Callable[[], float] = time.monotonic
    miner: TemplateMiner = field(default_factory=TemplateMiner)
    lines: int = 0
    _format: LogFormat | None = None
    _sample: list[str] = field(default_factory=list)
    _shapes: dict[str, _Seen] = field(default_factory=dict)
    _counts: dict[int, int] = field(default_factory=dict)
    _recent: dict[int, deque[float]] = field(default_factory=dict)
    _announced: dict[int, float] = field(default_factory=dict)

    def feed(self, raw: bytes) -> list[Alert]:
        """One line (without its line break)."""
        self.lines += 1
        text = decode(raw)
        if self._format is None and len(self._sample) < _SAMPLE_LINES:
            self._sample.append(text)
        seen = self._shapes.get(text.translate(_DIGITS))
        if seen is None:
            seen = self._learn(text)
        if not seen.troubled:
            return []
        index = self.miner.find(seen.template)
        count = self._counts[index] = self._counts.get(index, 0) + 1
        now = self.clock()
        window = self._recent.setdefault(index, deque())
        window.append(now)
        while window and now - window[0] > self.burst_window_s:
            window.popleft()
        kind = None
        if count == 1:
            kind = "new"
        elif len(window) >= self.burst_count and now - self._announced[index] > self.cooldown_s:
            kind = "burst"
        if kind is None:
            return []
        self._announced[index] = now
        template = self.miner.templates[index].text
        title = seen.signature.title if seen.signature else template
        return [Alert(kind, self.lines, text, template, title, seen.signature, count, index)]

    def summary(self) -> list[tuple[str, int]]:
        """The troubled templates seen, most frequent first, with their counts."""
        texts = {i: self.miner.templates[i].text for i in self._counts}
        return sorted(((texts[i], n) for i, n in self._counts.items()), key=lambda x: -x[1])

    def _learn(self, text: str) -> _Seen:
        if self._format is None:
            self._format = detect(self._sample)
        record = parse(self._format, text) or Record(message=text)
        message = record.message.strip()
        level = RANK[record.level] if record.level else -1
        signature = match(message)
        troubled = (is_trouble(message, level) or signature is not None) and not (
            is_mild(message) and signature is None
        )
        seen = _Seen(self.miner.add(mask(message)), troubled, signature)
        self._shapes[text.translate(_DIGITS)] = seen
        return seen


def alert_report(alert: Alert, watcher: Watcher) -> Report:
    """A one-finding Report for an alert, so that an LLM can explain it like any analysis."""
    signature = alert.signature
    where = Position(line=alert.line)
    finding = Finding(
        id="F1",
        title=alert.title,
        severity=signature.severity if signature else "error",
        category=signature.id if signature else "log.error",
        score=1.0,
        template_id=watcher.miner.templates[watcher.miner.find(alert.template_index)].id,
        template=alert.template,
        count=alert.count,
        first_seen=where,
        last_seen=where,
        evidence=[Evidence(line=alert.line, end_line=alert.line, text=alert.text)],
        explanation=signature.explanation if signature else None,
        suggestion=signature.suggestion if signature else None,
        signature=signature.id if signature else None,
    )
    return Report(
        input=InputInfo(name="<watch>", lines=watcher.lines, bytes=0, sha256=""),
        stats=Stats(lines=watcher.lines, events=watcher.lines, templates=1, levels={}, elapsed_s=0),
        verdict="failure",
        findings=[finding],
        summary=alert.title,
    )


def watch(lines: Iterable[bytes], watcher: Watcher, on_alert: Callable[[Alert], None]) -> None:
    """Feed every line to the watcher, passing each alert on as soon as it happens."""
    for raw in lines:
        for alert in watcher.feed(raw.rstrip(b"\r\n")):
            on_alert(alert)
