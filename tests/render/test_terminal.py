"""The terminal report: what a person sees, with and without colour, on a terminal or not."""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from rich.console import Console

from bifrost.render.terminal import render_terminal
from bifrost.report import Evidence, Finding, Position, Report

# The factories from conftest.py, as fixtures (so no test module imports conftest).
MakeEvidence = Callable[..., Evidence]
MakeFinding = Callable[..., Finding]
MakeReport = Callable[..., Report]

LONG_LINE = (
    "[E ProcessGroupNCCL.cpp:828] [Rank 1] Watchdog caught collective operation timeout: "
    "WorkNCCL(SeqNum=29481, OpType=ALLREDUCE, Timeout(ms)=600000) ran for 600381 milliseconds "
    "before timing out."
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")
RED_BOLD = "\x1b[1;31m"


def render(
    rep: Report,
    *,
    terminal: bool = False,
    color: bool = True,
    width: int = 120,
    top: int | None = None,
) -> str:
    out = io.StringIO()
    console = Console(
        file=out,
        width=width,
        force_terminal=terminal,
        no_color=not color,
        color_system="standard" if terminal else "auto",
        legacy_windows=False,
        _environ={},
    )
    render_terminal(rep, console, top=top)
    return out.getvalue()


def plain(rep: Report, **kwargs: object) -> list[str]:
    """The lines a user reads, without colour codes."""
    return ANSI.sub("", render(rep, **kwargs)).splitlines()  # type: ignore[arg-type]


GUTTER = re.compile(r"^ +(\d*) │ (.*)$")


def gutter_lines(lines: list[str]) -> list[tuple[str, str]]:
    return [(m[1], m[2]) for line in lines if (m := GUTTER.match(line))]


def test_failure_verdict_comes_first_and_names_the_top_finding(sample_report: Report) -> None:
    lines = plain(sample_report)
    assert lines[0] == "✗ failure — CUDA out of memory (2 findings: 1 critical, 1 error)"
    assert lines[1].strip() == "Rank 0 ran out of GPU memory; the others timed out."


def test_ok_report_says_so_and_still_shows_stats(make_report: MakeReport) -> None:
    lines = [line for line in plain(make_report()) if line]
    assert lines == [
        "✓ no problems found",
        "1,836 lines · 211 templates · 14 error lines · 0.04 s · format: python",
    ]


def test_warning_verdict(make_report: MakeReport, make_finding: MakeFinding) -> None:
    rep = make_report([make_finding("Deprecated API", severity="warning")], verdict="warning")
    assert plain(rep)[0] == "! warning — Deprecated API (1 finding: 1 warning)"


def test_findings_are_listed_in_rank_order_with_severity_and_count(sample_report: Report) -> None:
    lines = plain(sample_report)
    headers = [line for line in lines if line.startswith("#")]
    assert headers == [
        "#1 CRITICAL  CUDA out of memory  ×1",
        "#2 ERROR     NCCL watchdog timeout  ×7",
    ]


def test_positions_show_first_and_last_line_with_timestamps(sample_report: Report) -> None:
    text = "\n".join(plain(sample_report))
    assert "line 455 (2024-05-14T09:41:02.118Z) · ml.cuda_oom" in text
    assert (
        "first line 470 (2024-05-14T09:51:03.120Z) · last line 512 (2024-05-14T09:51:03.544Z)"
        in text
    )


def test_evidence_lines_carry_their_line_numbers_in_a_gutter(sample_report: Report) -> None:
    rows = gutter_lines(plain(sample_report))
    numbers = [number for number, _ in rows]
    assert numbers == ["450", "451", "452", "453", "454", "455", "470", "512"]
    assert rows[0] == ("450", "Traceback (most recent call last):")
    assert rows[2] == ("452", "    main()")  # indentation of the frame kept


def test_a_gap_marker_separates_evidence_that_is_not_contiguous(sample_report: Report) -> None:
    lines = plain(sample_report)
    nccl = lines.index("#2 ERROR     NCCL watchdog timeout  ×7")
    body = lines[nccl:]
    gap = next(i for i, line in enumerate(body) if line.strip() == "… │")
    assert body[gap - 1].lstrip().startswith("470 │")
    assert body[gap + 1].lstrip().startswith("512 │")
    oom = lines[:nccl]
    assert not any(line.strip() == "… │" for line in oom)  # one traceback, no gap inside


def test_contiguous_and_overlapping_evidence_is_printed_once_without_a_gap(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    items = [make_evidence(10, "a\nb"), make_evidence(12, "c"), make_evidence(12, "c\nd")]
    rows = gutter_lines(plain(make_report([make_finding(items=items)])))
    assert rows == [("10", "a"), ("11", "b"), ("12", "c"), ("13", "d")]


@pytest.mark.parametrize(
    "log_line",
    [
        "[ERROR] [main] connection refused to [10.0.0.7]:5432",
        "[bold red]not markup[/bold red] [/] [link=http://x]y[/link]",
        ":warning: :boom: emoji codes stay text",
    ],
)
def test_log_text_is_printed_literally_never_as_markup(
    log_line: str, make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    rep = make_report([make_finding("Bracket [ERROR] title", items=[make_evidence(3, log_line)])])
    for terminal in (False, True):
        text = ANSI.sub("", render(rep, terminal=terminal))
        assert f"3 │ {log_line}\n" in text
        assert "#1 CRITICAL  Bracket [ERROR] title" in text


def test_no_colour_codes_when_not_a_terminal(sample_report: Report) -> None:
    output = render(sample_report, terminal=False, color=False)
    assert "\x1b" not in output
    assert "\x1b" not in render(sample_report, terminal=False, color=True)


def test_colour_on_a_terminal(sample_report: Report) -> None:
    output = render(sample_report, terminal=True)
    assert output.startswith(RED_BOLD + "✗ failure")
    assert RED_BOLD + "torch.OutOfMemoryError" in output
    assert RED_BOLD + "Traceback" in output


def test_no_color_on_a_terminal_drops_colours(sample_report: Report) -> None:
    output = render(sample_report, terminal=True, color=False)
    assert not re.search(r"\x1b\[[0-9;]*3[0-7]m", output)  # no foreground colour at all
    assert "✗ failure — CUDA out of memory" in ANSI.sub("", output)


def test_error_and_warning_words_are_highlighted_but_zero_counters_are_not(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    line = "WARNING retrying upload (attempt 1/3): Connection refused; errors=0 failed: 0"
    output = render(make_report([make_finding(items=[make_evidence(1, line)])]), terminal=True)
    assert "\x1b[33mWARNING" in output
    assert "\x1b[33mretrying" in output
    assert RED_BOLD + "refused" in output
    assert RED_BOLD + "errors" not in output
    assert RED_BOLD + "failed" not in output


def test_top_limits_the_findings_shown(sample_report: Report) -> None:
    lines = plain(sample_report, top=1)
    assert [line for line in lines if line.startswith("#")] == [
        "#1 CRITICAL  CUDA out of memory  ×1"
    ]
    assert "… 1 more finding not shown (top 1)" in lines
    assert lines[0].endswith("(2 findings: 1 critical, 1 error)")  # the verdict counts them all
    assert "NCCL" not in "\n".join(lines[1:])


def test_top_larger_than_the_report_shows_everything(sample_report: Report) -> None:
    assert plain(sample_report, top=10) == plain(sample_report)


def test_stats_line_comes_last(sample_report: Report) -> None:
    lines = plain(sample_report)
    assert lines[-1] == "1,836 lines · 211 templates · 14 error lines · 0.04 s · format: python"


def test_explanation_and_fix_follow_the_evidence(sample_report: Report) -> None:
    lines = [line.strip() for line in plain(sample_report)]
    assert lines.index("A process asked the GPU for more memory than was free.") > lines.index(
        "455 │ " + sample_report.findings[0].evidence[0].text.splitlines()[-1]
    )
    assert "→ fix: Lower the per-device batch size or enable activation checkpointing." in lines


def test_long_lines_fold_on_a_terminal_without_losing_a_character(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    long = LONG_LINE + " " + "x" * 150
    rep = make_report([make_finding(items=[make_evidence(9999, long)])])
    lines = plain(rep, terminal=True, width=60)
    assert all(len(line) <= 60 for line in lines)
    rows = gutter_lines(lines)
    assert rows[0][0] == "9999"
    assert all(number == "" for number, _ in rows[1:])  # continuation rows: blank gutter
    assert len(rows) > 3
    # The rows (trailing spaces included) join back into exactly the original line.
    folded = ANSI.sub("", render(rep, terminal=True, width=60)).splitlines()
    pieces = [line.split(" │ ", 1)[1] for line in folded if " │ " in line]
    assert "".join(pieces) == long


def test_long_lines_stay_whole_when_not_a_terminal(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    long = LONG_LINE + " " + "x" * 150
    lines = plain(make_report([make_finding(items=[make_evidence(7, long)])]), width=60)
    assert f"   7 │ {long}" in lines


def test_wide_characters_fold_by_cell_width(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    long = "错误" * 60
    lines = plain(
        make_report([make_finding(items=[make_evidence(1, long)])]), terminal=True, width=40
    )
    rows = gutter_lines(lines)
    assert "".join(text for _, text in rows) == long
    assert len(rows) > 1


def test_control_characters_in_log_text_are_made_visible(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    line = "\x1b[31mred\x1b[0m then \x1b]0;pwned\x07 and \x9b2J"
    output = render(make_report([make_finding("Title \x1b[2J", items=[make_evidence(1, line)])]))
    assert "\x1b" not in output
    assert "\x07" not in output
    assert "\x9b" not in output
    assert "␛[31mred␛[0m then ␛]0;pwned␇ and \\x9b2J" in output
    assert "Title ␛[2J" in output


def test_file_names_are_shown_when_evidence_comes_from_several_files(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    items = [
        make_evidence(4, "first failure", file="a.log"),
        make_evidence(9, "second failure", file="b.log"),
    ]
    rep = make_report(
        [
            make_finding(
                items=items,
                count=2,
                first=Position(line=4, file="a.log"),
                last=Position(line=9, file="b.log"),
            )
        ],
        files=["a.log", "b.log"],
    )
    lines = [line.strip() for line in plain(rep)]
    assert "first a.log:4 · last b.log:9 · ml.cuda_oom" in lines
    assert lines.index("a.log") < lines.index("4 │ first failure") < lines.index("b.log")
    assert lines.index("b.log") < lines.index("9 │ second failure")


def test_single_file_reports_do_not_name_the_file(sample_report: Report) -> None:
    assert "trainer.log" not in render(sample_report)


def test_ascii_console_gets_ascii_symbols(sample_report: Report) -> None:
    out = io.TextIOWrapper(io.BytesIO(), encoding="ascii")
    console = Console(file=out, width=100, force_terminal=False, _environ={})
    render_terminal(sample_report, console)
    out.flush()
    text = out.buffer.getvalue().decode("ascii")
    assert text.startswith("x failure")
    assert " 450 | Traceback" in text
    assert "-> fix:" in text
