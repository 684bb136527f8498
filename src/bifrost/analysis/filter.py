"""`filter`: a log narrowed by what Bifrost understands of it — levels, events, timestamps,
templates, sources — for the CLI and the API alike.

The options arrive as people type them (`FilterOptions`) and become the engine's `Criteria`
here, with one clear error for each that cannot be read. `--around F1` needs the findings of
the last stored analysis of the same content.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import TYPE_CHECKING

from bifrost.config import Settings
from bifrost.engine.filter import (
    Criteria,
    FilterStats,
    Line,
    LineFilter,
    Repeated,
    TimeBound,
    dedupe,
    stats_of,
)
from bifrost.engine.read import Source, blocks, open_sources
from bifrost.errors import UsageError
from bifrost.levels import Level
from bifrost.store.records import NotFound
from bifrost.times import parse_log_time

if TYPE_CHECKING:
    from bifrost.report import Report
    from bifrost.store.database import Store

__all__ = [
    "FilterOptions",
    "FilterStats",
    "Filtering",
    "Line",
    "Repeated",
    "Source",
    "around_finding",
    "criteria_of",
    "dedupe",
    "first_lines",
    "line_record",
    "open_sources",
    "prepare_filter",
    "stats_of",
    "stats_record",
]


@dataclass(frozen=True)
class FilterOptions:
    """The filter as asked for, before any of it is checked."""

    level: Level | None = None
    since: str | None = None
    until: str | None = None
    pattern: str | None = None
    exclude: str | None = None
    templates: list[str] = field(default_factory=list)
    exclude_templates: list[str] = field(default_factory=list)
    source: str | None = None
    context: int = 0

    @property
    def needs_template_ids(self) -> bool:
        """Whether template ids decide what is kept (then they must be final)."""
        return bool(self.templates or self.exclude_templates)


def criteria_of(options: FilterOptions, ranges: tuple[tuple[int, int, int], ...] = ()) -> Criteria:
    """The engine's criteria; a time or a regex that cannot be read is a usage error."""
    return Criteria(
        level=options.level,
        since=_bound("since", options.since),
        until=_bound("until", options.until),
        pattern=_regex("regexp", options.pattern),
        exclude=_regex("exclude", options.exclude),
        templates=frozenset(options.templates),
        exclude_templates=frozenset(options.exclude_templates),
        source=options.source,
        ranges=ranges,
        context=options.context,
    )


def _bound(option: str, text: str | None) -> TimeBound | None:
    if not text:  # an empty form field: no bound
        return None
    moment, dated = parse_log_time(option, text)
    return TimeBound(moment, dated)


def _regex(option: str, text: str | None) -> re.Pattern[str] | None:
    if not text:  # an empty form field: nothing to match (nor to hide everything with)
        return None
    try:
        return re.compile(text)
    except re.error as exc:
        raise UsageError.said(
            "usage.bad_pattern", option=option, text=repr(text), reason=exc
        ) from None


@dataclass
class Filtering:
    """A filter ready to stream the lines its inputs keep."""

    line_filter: LineFilter
    sources: list[Source]
    settings: Settings
    live: bool  # standard input: read once, as it comes

    def lines(self) -> Iterator[Line]:
        return self.line_filter.lines(self.sources, self.settings.chunk_bytes, live=self.live)


def prepare_filter(
    sources: list[Source],
    criteria: Criteria,
    settings: Settings,
    *,
    final_ids: bool,
    describe: bool,
) -> Filtering:
    """The filter, with the inputs read once first when `final_ids` (template ids then are
    those of `bifrost templates`; an input that cannot be read fails here, before any line
    is shown). Standard input is never read twice: its ids are those mined so far.
    `describe`: give each line its event's time and source (for records and counts)."""
    line_filter = LineFilter(criteria, max_line_bytes=settings.max_line_bytes, describe=describe)
    live = any(source.path is None and source.data is None for source in sources)
    if final_ids and not live:
        line_filter.learn(sources, settings.chunk_bytes)
    return Filtering(line_filter, sources, settings, live)


def first_lines(
    source: Source, options: FilterOptions, settings: Settings, limit: int
) -> tuple[list[Line], bool]:
    """The first `limit` lines a stored input keeps (a page's worth), and whether it keeps
    more; template ids as `bifrost templates` shows them."""
    criteria = criteria_of(options)
    filtering = prepare_filter([source], criteria, settings, final_ids=True, describe=False)
    lines = list(islice(filtering.lines(), limit + 1))
    return lines[:limit], len(lines) > limit


def finding_ranges(report: Report, finding: str, name: str) -> tuple[tuple[int, int, int], ...]:
    """The lines of a finding's evidence (of input 0), as the engine's line ranges."""
    ids = [f.id for f in report.findings]
    if not ids:
        raise NotFound.said("filter.no_findings", name=name, finding=finding)
    found = next((f for f in report.findings if f.id.lower() == finding.lower()), None)
    if found is None:
        raise NotFound.said(
            "filter.no_finding", name=name, finding=finding, findings=", ".join(ids)
        )
    if not found.evidence:
        return ((0, found.first_seen.line, found.last_seen.line),)
    return tuple((0, e.line, e.end_line) for e in found.evidence)


def content_hash(source: Source, settings: Settings) -> str:
    """The hash an analysis of this input is stored under (`Report.input.sha256`)."""
    digest = hashlib.sha256()
    for block in blocks(source, settings.chunk_bytes, settings.max_line_bytes):
        digest.update(block)
    source.rewind()
    return digest.hexdigest()


async def around_finding(
    sources: list[Source], finding: str, settings: Settings, store: Store
) -> tuple[tuple[int, int, int], ...]:
    """The line ranges of `finding` (`F1`) in the last stored analysis of the one input."""
    # The history loads here, not with this module: only --around needs it.
    from bifrost.store.repository import latest_report_for_content  # noqa: PLC0415

    if len(sources) != 1 or (sources[0].path is None and sources[0].data is None):
        raise UsageError.said("filter.around_one_file")
    source = sources[0]
    digest = await asyncio.to_thread(content_hash, source, settings)
    report = await latest_report_for_content(store, digest)
    if report is None:
        raise NotFound.said("filter.no_analysis", name=source.name)
    return finding_ranges(report, finding, source.name)


def line_record(line: Line, names: list[str] | None, count: int | None = None) -> dict[str, object]:
    """A line as `--format jsonl` writes it: `file` with several inputs (`names`), `context`
    on context lines, `count` on the first line of a deduplicated event."""
    record: dict[str, object] = {} if names is None else {"file": names[line.file]}
    record |= {
        "line": line.number,
        "level": line.level,
        "time": line.time,
        "template_id": line.template_id,
        "source": line.source,
        "text": line.text,
    }
    if not line.matched:
        record["context"] = True
    if count is not None:
        record["count"] = count
    return record


def stats_record(stats: FilterStats) -> dict[str, object]:
    """The counts of `--stats` as one JSON object."""
    return {
        "events": stats.events,
        "lines": stats.lines,
        "levels": dict(stats.levels.most_common()),
        "templates": [
            {"template_id": t, "events": n, "example": stats.examples[t]}
            for t, n in stats.templates.most_common()
        ],
        "sources": dict(stats.sources.most_common()),
        "minutes": dict(sorted(stats.minutes.items())),
        "minutes_cut": stats.minutes_cut,
    }
