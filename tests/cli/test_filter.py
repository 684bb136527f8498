"""`bifrost filter`: each option on hand-written logs, streaming standard input, and the errors
(one line, exit 2)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bifrost.analysis.filter import Line
from bifrost.cli.filter import LinesFormat, _Show
from tests.cli.conftest import Launcher
from tests.conftest import DATA, Run

APP_LOG = (DATA / "logs" / "api-traceback.log").read_text(encoding="utf-8")
LINES = APP_LOG.splitlines()


@pytest.fixture
def log(tmp_path: Path) -> str:
    path = tmp_path / "app.log"
    path.write_text(APP_LOG)
    return str(path)


def records(output: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in output.splitlines()]


def test_level_keeps_a_stack_trace_whole(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "--level", "error")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [*LINES[3:8], LINES[10]]


def test_line_numbers(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "-l", "warning", "-N")
    assert result.stdout.splitlines()[:2] == [f"3:{LINES[2]}", f"4:{LINES[3]}"]


def test_since_and_until(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "--since", "10:04", "--until", "2024-05-01 10:05:07")
    assert result.stdout.splitlines() == LINES[8:11]


def test_regex_and_exclude(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "-e", "timeout|refused|bad input", "--exclude", "ValueError")
    assert result.stdout.splitlines() == [LINES[10]]


def test_nothing_kept_exits_1(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "-e", "no such words")
    assert (result.returncode, result.stdout, result.stderr) == (1, "", "")


def test_jsonl_fields(bifrost: Run, log: str) -> None:
    rows = records(bifrost("filter", log, "--level", "error", "-f", "jsonl").stdout)
    assert set(rows[0]) == {"line", "level", "time", "template_id", "source", "text"}
    assert [r["line"] for r in rows] == [4, 5, 6, 7, 8, 11]
    assert rows[2] == {
        "line": 6,
        "level": "error",
        "time": "2024-05-01 10:03:04",
        "template_id": rows[2]["template_id"],
        "source": None,
        "text": LINES[5],
    }


@pytest.mark.parametrize("path", ["healthy.log", "merged-pods.log", "service-crash.log"])
def test_template_ids_are_those_of_bifrost_templates(bifrost: Run, path: str) -> None:
    log = str(DATA / "logs" / path)
    templates = records(bifrost("templates", log, "-f", "jsonl").stdout)
    lines = records(bifrost("filter", log, "-f", "jsonl").stdout)
    assert [r["template_id"] for r in lines] == [r["template_id"] for r in templates]


def test_template_and_exclude_template(bifrost: Run, log: str) -> None:
    counts = json.loads(bifrost("templates", log, "-f", "json").stdout)
    ok = next(t["template_id"] for t in counts if "request ok" in str(t["template"]))
    assert bifrost("filter", log, "-t", ok).stdout.splitlines() == [LINES[i] for i in (8, 9, 11)]
    rest = bifrost("filter", log, "--exclude-template", ok, "-l", "info").stdout.splitlines()
    assert rest == [LINES[0], *LINES[2:8], LINES[10]]


def test_dedupe_collapses_a_template_into_one_event_with_its_count(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "--dedupe", "-e", "request")
    assert result.stdout.splitlines() == [
        f"×1 {LINES[2]}",
        f"×1 {LINES[3]}",
        *LINES[4:8],
        f"×3 {LINES[8]}",
    ]


def test_context_marks_context_lines_as_grep_does(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "-l", "error", "-C", "1", "-N")
    assert result.stdout.splitlines() == [
        f"3-{LINES[2]}",
        *(f"{n}:{LINES[n - 1]}" for n in range(4, 9)),
        f"9-{LINES[8]}",
        f"10-{LINES[9]}",
        f"11:{LINES[10]}",
        f"12-{LINES[11]}",
    ]


def test_source_of_a_merged_stream(bifrost: Run) -> None:
    log = str(DATA / "logs" / "merged-pods.log")
    rows = records(bifrost("filter", log, "-f", "jsonl").stdout)
    source = next(str(r["source"]) for r in rows if r["source"])
    kept = records(bifrost("filter", log, "--source", source, "-f", "jsonl").stdout)
    assert kept
    assert {r["source"] for r in kept if r["text"] and not str(r["text"])[0].isspace()} == {source}
    assert len(kept) < len(rows)


def test_stats(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "--stats", "-f", "jsonl")
    stats = json.loads(result.stdout)
    assert (stats["events"], stats["lines"]) == (8, 12)
    assert stats["levels"] == {"info": 4, "error": 2, "warning": 1, "debug": 1}
    assert stats["minutes"]["2024-05-01 10:04"] == 2
    text = bifrost("filter", log, "--stats").stdout
    assert text.startswith("8 events kept (12 lines)")


def test_around_a_finding_of_the_last_analysis(bifrost: Run, log: str) -> None:
    analysed = bifrost("analyze", log, "-f", "json")
    assert analysed.returncode == 1, analysed.stderr
    first = json.loads(analysed.stdout)["findings"][0]
    evidence = first["evidence"][0]
    result = bifrost("filter", log, "--around", "F1", "-N")
    assert result.returncode == 0, result.stderr
    shown = [int(line.split(":")[0]) for line in result.stdout.splitlines()]
    assert shown[0] <= evidence["line"] <= evidence["end_line"] <= shown[-1]
    wider = bifrost("filter", log, "--around", "f1", "-C", "1", "-N").stdout.splitlines()
    assert wider[0].startswith(f"{shown[0] - 1}-")


def test_around_needs_an_analysis(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "--around", "F1")
    assert result.returncode == 2
    assert result.stderr == (
        f"bifrost: error: {log}: no stored analysis of this log; run bifrost analyze {log} first\n"
    )


def test_around_a_finding_that_is_not_there(bifrost: Run, log: str) -> None:
    bifrost("analyze", log)
    result = bifrost("filter", log, "--around", "F9")
    assert result.returncode == 2
    assert "has no finding F9 (it has F1, " in result.stderr


def test_a_bad_since_says_the_forms_it_accepts(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "--since", "yesterday")
    assert result.returncode == 2
    assert result.stderr == (
        "bifrost: error: --since: cannot read the time 'yesterday': use a time of day "
        "(10:02 or 10:02:30) or a date and time (2024-05-01, 2024-05-01 10:02, "
        "2024-05-01T10:02:30Z)\n"
    )
    korean = bifrost("filter", log, "--until", "25:00", env={"BIFROST_LANG": "ko"})
    assert korean.returncode == 2
    assert korean.stderr.startswith("bifrost: error: --until: 시각 '25:00'을(를) 읽을 수 없습니다")


def test_a_bad_regex_is_a_usage_error(bifrost: Run, log: str) -> None:
    result = bifrost("filter", log, "-e", "(unclosed")
    assert result.returncode == 2
    assert result.stderr.startswith("bifrost: error: --regexp: '(unclosed' is not a regular")


def test_missing_file(bifrost: Run, tmp_path: Path) -> None:
    result = bifrost("filter", str(tmp_path / "nope.log"), "-l", "error")
    assert result.returncode == 2
    assert result.stderr == f"bifrost: error: {tmp_path / 'nope.log'}: no such file\n"


def test_standard_input(bifrost: Run) -> None:
    result = bifrost("filter", "--level", "error", stdin=APP_LOG)
    assert result.stdout.splitlines() == [*LINES[3:8], LINES[10]]


PRODUCER = """\
import itertools, sys
for i in itertools.count():
    level = "ERROR" if i % 5 == 0 else "INFO"
    sys.stdout.write(f"2024-05-01 10:00:{i % 60:02d} {level} worker: job {i} done\\n")
    sys.stdout.flush()
"""


def test_endless_input_streams_until_the_reader_stops(launcher: Launcher) -> None:
    """An endless producer | filter | a reader that takes 3 lines and goes away."""
    producer = subprocess.Popen(
        [sys.executable, "-c", PRODUCER], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
    )
    try:
        assert producer.stdout is not None
        process = launcher.start(
            "filter", "--level", "error", stdin=producer.stdout, stdout=subprocess.PIPE
        )
        producer.stdout.close()  # the filter holds the pipe now
        assert process.stdout is not None
        taken = [process.stdout.readline().decode() for _ in range(3)]
        process.stdout.close()
        assert process.wait(timeout=60) == 141
    finally:
        producer.kill()
        producer.wait()
    assert [line.split()[-2] for line in taken] == ["0", "5", "10"]
    assert all(" ERROR " in line for line in taken)


def test_levels_are_coloured_on_a_terminal() -> None:
    buffer = io.StringIO()
    out = Console(file=buffer, force_terminal=True, color_system="standard")
    show = _Show(format=LinesFormat.text, names=None, numbers=True, separate=False, out=out)
    error = Line(0, 4, LINES[3], "error", None, "t1", None, True, True)
    info = Line(0, 9, LINES[8], "info", None, "t2", None, True, True)
    assert show.lines([error, info]) == 2
    written = buffer.getvalue().splitlines()
    assert written[0] == f"\x1b[31m4:{LINES[3]}\x1b[0m"
    assert written[1] == f"9:{LINES[8]}"
