"""Filtering: events kept whole, each criterion, context, dedupe and counts, whatever the block
size; template ids as the scanner's."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

import pytest

from bifrost.engine import filter as filtering
from bifrost.engine.filter import Criteria, Line, LineFilter, TimeBound, dedupe, stats_of
from bifrost.engine.read import Source
from bifrost.engine.scan import Scanner
from tests.conftest import DATA

APP_LOG = (DATA / "logs" / "api-traceback.log").read_text(encoding="utf-8")


def source(text: str) -> Source:
    return Source(name="app.log", path=None, data=text.encode())


def run(
    text: str, criteria: Criteria | None = None, *, block_bytes: int = 1 << 20, learn: bool = False
) -> list[Line]:
    line_filter = LineFilter(criteria or Criteria())
    if learn:
        line_filter.learn([source(text)], block_bytes)
    return list(line_filter.lines([source(text)], block_bytes))


def numbers(lines: list[Line]) -> list[int]:
    return [line.number for line in lines]


def at(text: str) -> TimeBound:
    if ":" in text and "-" not in text:
        return TimeBound(datetime.fromisoformat(f"1900-01-01T{text}").replace(tzinfo=UTC), False)
    return TimeBound(datetime.fromisoformat(text).replace(tzinfo=UTC), True)


def test_no_criteria_keeps_every_line_as_written() -> None:
    lines = run(APP_LOG)
    assert [line.text for line in lines] == APP_LOG.splitlines()
    assert all(line.matched for line in lines)


@pytest.mark.parametrize("block_bytes", [64, 1 << 20])
def test_a_level_keeps_multi_line_events_whole(block_bytes: int) -> None:
    lines = run(APP_LOG, Criteria(level="error"), block_bytes=block_bytes)
    assert numbers(lines) == [4, 5, 6, 7, 8, 11]
    assert {line.level for line in lines} == {"error"}
    assert [line.head for line in lines] == [True, False, False, False, False, True]
    assert lines[3].time == "2024-05-01 10:03:04"  # a frame carries its event's time


def test_warning_and_above() -> None:
    assert numbers(run(APP_LOG, Criteria(level="warning"))) == [3, 4, 5, 6, 7, 8, 11]


def test_a_bare_traceback_is_an_error() -> None:
    text = (
        "starting\n"
        "\n"
        "Traceback (most recent call last):\n"
        '  File "a.py", line 1, in <module>\n'
        "KeyError: 'x'\n"
        "done\n"
    )
    lines = run(text, Criteria(level="error"))
    assert [line.text for line in lines] == text.splitlines()[2:5]


@pytest.mark.parametrize(
    ("since", "until", "kept"),
    [
        ("10:02", "10:04:05", [3, 4, 5, 6, 7, 8, 9]),
        ("10:05", None, [11, 12]),
        (None, "10:01:02", [1, 2]),
        ("2024-05-01 10:04", "2024-05-01 10:05", [9, 10]),
    ],
)
def test_since_and_until_by_the_logs_own_time(
    since: str | None, until: str | None, kept: list[int]
) -> None:
    criteria = Criteria(since=at(since) if since else None, until=at(until) if until else None)
    assert numbers(run(APP_LOG, criteria)) == kept


def test_a_dated_bound_is_a_date_too() -> None:
    assert run(APP_LOG, Criteria(since=at("2024-05-02 00:00"))) == []
    assert numbers(run(APP_LOG, Criteria(until=at("2024-04-30 23:00")))) == []


@pytest.mark.parametrize(
    "text",
    [
        # syslog: a date without a year
        "May  1 10:01:00 host app[1]: one\nMay  1 10:02:30 host app[1]: two\n"
        "May  1 10:03:00 host app[1]: three\n",
        # JSON lines with epoch seconds (10:01:00, 10:02:30, 10:03:00 UTC)
        "\n".join(
            json.dumps({"ts": ts, "level": "info", "msg": msg})
            for ts, msg in ((1714557660, "one"), (1714557750, "two"), (1714557780, "three"))
        )
        + "\n",
        # a time of day alone (logback)
        "10:01:00.001 [main] INFO  c.App - one\n10:02:30.000 [main] INFO  c.App - two\n"
        "10:03:00.000 [main] INFO  c.App - three\n",
    ],
)
def test_time_ranges_across_formats(text: str) -> None:
    lines = run(text, Criteria(since=at("10:02"), until=at("10:02:59")))
    assert len(lines) == 1
    assert "two" in lines[0].text


def test_lines_without_a_time_take_the_time_above() -> None:
    text = "2024-05-01 10:00:00 INFO a\nplain words\n2024-05-01 11:00:00 INFO b\n"
    assert numbers(run(text, Criteria(since=at("10:00"), until=at("10:30")))) == [1, 2]


def test_a_regex_keeps_whole_events_with_a_matching_line() -> None:
    lines = run(APP_LOG, Criteria(pattern=re.compile("bad input|refused")))
    assert numbers(lines) == [4, 5, 6, 7, 8, 11]


def test_exclude_hides_whole_events() -> None:
    lines = run(APP_LOG, Criteria(level="error", exclude=re.compile("ValueError")))
    assert numbers(lines) == [11]


def test_template_ids_are_those_of_the_scanner() -> None:
    scanner = Scanner(keep_line_templates=True)
    scan = scanner.scan([source(APP_LOG)], 1 << 20)
    assert scan.line_templates is not None
    expected = [scan.template_id(i) for i in scan.line_templates]
    assert [line.template_id for line in run(APP_LOG, learn=True)] == expected


def test_template_and_exclude_template() -> None:
    ok = next(line for line in run(APP_LOG, learn=True) if "request ok" in line.text)
    kept = run(APP_LOG, Criteria(templates=frozenset({ok.template_id})), learn=True)
    assert numbers(kept) == [9, 10, 12]
    rest = run(APP_LOG, Criteria(exclude_templates=frozenset({ok.template_id})), learn=True)
    assert numbers(rest) == [1, 2, 3, 4, 5, 6, 7, 8, 11]


def test_source_of_a_merged_stream() -> None:
    text = (
        "[pod/trainer-3/main] 2024-05-01 10:00:00 ERROR step 1 failed\n"
        "[pod/trainer-1/main] 2024-05-01 10:00:01 ERROR step 1 failed\n"
        "[pod/trainer-3/main] 2024-05-01 10:00:02 INFO step 2 ok\n"
    ) * 2
    lines = run(text, Criteria(source="trainer-3"))
    assert numbers(lines) == [1, 3, 4, 6]
    assert {line.source for line in lines} == {"trainer-3/main"}
    assert numbers(run(text, Criteria(source="trainer-3", level="error"))) == [1, 4]


@pytest.mark.parametrize("block_bytes", [64, 1 << 20])
def test_context_around_kept_events_without_repeats(block_bytes: int) -> None:
    lines = run(APP_LOG, Criteria(level="error", context=1), block_bytes=block_bytes)
    assert numbers(lines) == [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    assert [n for n, line in zip(numbers(lines), lines, strict=True) if not line.matched] == [
        3,
        9,
        10,
        12,
    ]


def test_ranges_keep_the_events_they_touch() -> None:
    lines = run(APP_LOG, Criteria(ranges=((0, 6, 6), (0, 12, 12))))
    assert numbers(lines) == [4, 5, 6, 7, 8, 12]


def test_dedupe_counts_events_per_template() -> None:
    repeated = dedupe(run(APP_LOG, Criteria(level="info"), learn=True))
    counts = {entry.lines[0].text.split("api: ")[1]: entry.count for entry in repeated}
    assert counts["request ok in 12 ms"] == 3
    assert counts["request failed"] == 1
    failed = next(e for e in repeated if "request failed" in e.lines[0].text)
    assert len(failed.lines) == 5  # the whole event, once


def test_stats_count_events_by_level_template_source_and_minute() -> None:
    stats = stats_of(run(APP_LOG, learn=True))
    assert (stats.events, stats.lines) == (8, 12)
    assert stats.levels == {"info": 4, "error": 2, "warning": 1, "debug": 1}
    assert max(stats.templates.values()) == 3
    assert stats.minutes["2024-05-01 10:04"] == 2
    assert sum(stats.minutes.values()) == 8


def test_per_minute_counts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(filtering, "MAX_MINUTES", 3)
    stats = stats_of(run(APP_LOG))
    assert len(stats.minutes) == 3
    assert stats.minutes_cut
    assert stats.events == 8


def test_the_same_lines_whatever_the_block_size() -> None:
    text = APP_LOG * 20
    criteria = Criteria(level="warning", context=2)
    assert run(text, criteria, block_bytes=50) == run(text, criteria)
