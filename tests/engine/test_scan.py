"""The streaming scan: counts, positions, events and evidence, whatever the block size."""

from pathlib import Path

import pytest

from bifrost.engine.read import open_sources
from bifrost.engine.scan import Scan, Scanner

JAVA_LOG = """\
2024-05-01 10:00:00.001 INFO [main] c.e.App - starting
2024-05-01 10:00:00.002 INFO [main] c.e.App - request 1 ok
2024-05-01 10:00:00.003 ERROR [main] c.e.App - request failed
java.lang.IllegalStateException: pool closed
\tat com.example.Pool.get(Pool.java:42)
\tat com.example.App.handle(App.java:7)
Caused by: java.net.ConnectException: Connection refused
\tat java.base/sun.nio.ch.Net.connect(Net.java:579)
\t... 2 more
2024-05-01 10:00:00.004 INFO [main] c.e.App - request 2 ok
2024-05-01 10:00:01.004 ERROR [main] c.e.App - request failed
java.lang.IllegalStateException: pool closed
\tat com.example.Pool.get(Pool.java:42)
2024-05-01 10:00:02.004 INFO [main] c.e.App - request 3 ok
"""


def scan_text(tmp_path: Path, text: str, block_bytes: int = 1 << 20, **kw: object) -> Scan:
    log = tmp_path / "app.log"
    log.write_text(text)
    return Scanner(**kw).scan(open_sources([str(log)]), block_bytes)  # type: ignore[arg-type]


def by_text(scan: Scan, fragment: str) -> list[int]:
    return [i for i in scan.stats if fragment in scan.template_text(i)]


def test_counts_positions_and_levels(tmp_path: Path) -> None:
    scan = scan_text(tmp_path, JAVA_LOG)
    assert scan.lines == 14
    assert scan.levels == {"info": 4, "error": 2}
    (failed,) = by_text(scan, "request failed")
    stats = scan.stats[failed]
    assert stats.count == 2
    assert (stats.first, stats.last) == ((0, 3), (0, 11))
    assert stats.trouble
    assert scan.format_name == "timestamped"


@pytest.mark.parametrize(("text", "lines"), [("0", 1), ("12", 1), ("step 1\n42", 2)])
def test_a_last_line_of_digits_without_a_line_break_is_counted(
    tmp_path: Path, text: str, lines: int
) -> None:
    assert scan_text(tmp_path, text).lines == lines


def test_a_stack_trace_is_one_event_kept_whole_as_evidence(tmp_path: Path) -> None:
    scan = scan_text(tmp_path, JAVA_LOG)
    (failed,) = by_text(scan, "request failed")
    first, second = scan.stats[failed].occurrences
    assert (first.start, first.line, len(first.lines)) == (3, 3, 7)
    assert first.lines[-1] == "\t... 2 more"
    assert first.context[-1].endswith("request 1 ok")
    assert (second.start, len(second.lines)) == (11, 3)
    assert scan.events == 14 - 6 - 2  # the continuation lines join their event


@pytest.mark.parametrize("block_bytes", [64, 200, 4096])
def test_results_do_not_depend_on_the_block_size(tmp_path: Path, block_bytes: int) -> None:
    whole = scan_text(tmp_path, JAVA_LOG * 20)
    pieces = scan_text(tmp_path, JAVA_LOG * 20, block_bytes=block_bytes)
    assert pieces.lines == whole.lines
    assert pieces.events == whole.events
    summary = {whole.template_text(i): (s.count, s.first, s.last) for i, s in whole.stats.items()}
    again = {pieces.template_text(i): (s.count, s.first, s.last) for i, s in pieces.stats.items()}
    assert again == summary
    (failed,) = by_text(pieces, "request failed")
    assert len(pieces.stats[failed].occurrences[0].lines) == 7  # the trace was not cut


def test_line_templates_are_kept_on_request(tmp_path: Path) -> None:
    scan = scan_text(tmp_path, JAVA_LOG, keep_line_templates=True)
    assert scan.line_templates is not None
    assert len(scan.line_templates) == 14
    assert scan.template_text(scan.line_templates[2]) == scan.template_text(scan.line_templates[10])


def test_several_files_number_their_own_lines(tmp_path: Path) -> None:
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    a.write_text("ok 1\nok 2\n")
    b.write_text("ERROR broken pipe\n")
    scan = Scanner().scan(open_sources([str(a), str(b)]), 1 << 20)
    assert scan.line_files == [2, 1]
    (broken,) = by_text(scan, "broken pipe")
    assert scan.stats[broken].first == (1, 1)


def test_mixed_formats_are_parsed_line_by_line(tmp_path: Path) -> None:
    text = (
        '{"level":"error","msg":"payment failed","ts":"2024-05-01T10:00:00Z"}\n'
        'time=2024-05-01T10:00:01Z level=warn msg="slow query"\n'
        "plain text line\n"
    )
    scan = scan_text(tmp_path, text)
    assert scan.levels == {"error": 1, "warning": 1}
    assert by_text(scan, "payment failed")
    assert scan.timestamp(0, "time=2024-05-01T10:00:01Z level=warn msg=x") == (
        "2024-05-01T10:00:01Z"
    )


def test_long_lines_are_cut_for_mining(tmp_path: Path) -> None:
    scan = scan_text(tmp_path, "x" * 5000 + " ERROR\nshort\n", max_line_bytes=300)
    assert max(len(scan.template_text(i)) for i in scan.stats) <= 300


def test_progress_is_told_every_byte_read(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text(JAVA_LOG * 50)
    told: list[int] = []
    Scanner().scan(open_sources([str(log)]), 512, told.append)
    assert len(told) > 10
    assert sum(told) == log.stat().st_size


def test_histograms_count_troubled_lines_per_stretch(tmp_path: Path) -> None:
    lines = [f"ERROR db timeout {i}" if i % 7 == 0 else f"INFO ok {i}" for i in range(20_000)]
    log = tmp_path / "h.log"
    log.write_text("\n".join(lines) + "\n")
    scan = Scanner().scan(open_sources([str(log)]), 4096)
    (timeout,) = by_text(scan, "db timeout")
    expected = [0] * 64
    for number, line in enumerate(lines, start=1):
        if line.startswith("ERROR"):
            expected[number >> scan.histogram_shift] += 1
    assert scan.stats[timeout].histogram == expected
