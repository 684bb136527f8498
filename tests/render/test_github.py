"""GitHub Actions annotations, read back the way the Actions runner parses workflow commands."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from bifrost.render.github import escape_data, escape_property, render_github
from bifrost.report import Evidence, Finding, Report

MakeEvidence = Callable[..., Evidence]
MakeFinding = Callable[..., Finding]
MakeReport = Callable[..., Report]

# `::name key=value,key=value::message`, one per line (the runner's own syntax).
COMMAND = re.compile(r"^::(?P<name>[a-z]+)(?: (?P<props>.*?))?::(?P<data>.*)$")
ESCAPES = {"%25": "%", "%0D": "\r", "%0A": "\n", "%3A": ":", "%2C": ","}


def unescape(text: str, *, prop: bool) -> str:
    codes = "%25|%0D|%0A|%3A|%2C" if prop else "%25|%0D|%0A"
    return re.sub(codes, lambda m: ESCAPES[m[0]], text)


@dataclass
class Annotation:
    level: str
    props: dict[str, str]
    message: str


def parse(output: str) -> list[Annotation]:
    """Every output line as the runner would decode it; a line that is not a command fails."""
    annotations = []
    for line in output.splitlines():
        match = COMMAND.match(line)
        assert match, f"not a workflow command: {line!r}"
        props = {}
        for pair in (match["props"] or "").split(","):
            key, _, value = pair.partition("=")
            props[key] = unescape(value, prop=True)
        annotations.append(Annotation(match["name"], props, unescape(match["data"], prop=False)))
    return annotations


def test_one_annotation_per_finding(sample_report: Report) -> None:
    output = render_github(sample_report)
    assert output.endswith("\n")
    oom, nccl = parse(output)
    assert oom.level == nccl.level == "error"
    assert oom.props == {
        "file": "trainer.log",
        "line": "450",
        "endLine": "455",
        "title": "CUDA out of memory",
    }
    assert nccl.props == {
        "file": "trainer.log",
        "line": "470",
        "endLine": "470",
        "title": "NCCL watchdog timeout",
    }
    assert oom.message.splitlines() == [
        "1 occurrence · line 455 (2024-05-14T09:41:02.118Z)",
        "A process asked the GPU for more memory than was free.",
        "Fix: Lower the per-device batch size or enable activation checkpointing.",
    ]
    assert nccl.message.startswith("7 occurrences · first line 470")


@pytest.mark.parametrize(
    ("severity", "command"),
    [("critical", "error"), ("error", "error"), ("warning", "warning"), ("info", "notice")],
)
def test_command_from_severity(
    make_report: MakeReport, make_finding: MakeFinding, severity: str, command: str
) -> None:
    output = render_github(make_report([make_finding(severity=severity)]))
    assert output.startswith(f"::{command} file=")


def test_no_findings_no_annotations(make_report: MakeReport) -> None:
    assert render_github(make_report()) == ""


def test_escaping_follows_the_runner() -> None:
    assert escape_data("50% done: a, b\r\nc\nd") == "50%25 done: a, b%0D%0Ac%0Ad"
    assert escape_property("50% done: a, b\r\nc") == "50%25 done%3A a%2C b%0D%0Ac"
    assert escape_property("%3A") == "%253A"  # an escape already there stays literal


def test_tricky_text_round_trips(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    title = "disk 50% full: /var, /tmp <err> & more"
    explanation = "Line one: 100%,\nline two\r\n::error::injected"
    rep = make_report(
        [
            make_finding(
                title, items=[make_evidence(3, "x", "dir, with: 50%.log")], explanation=explanation
            )
        ]
    )
    output = render_github(rep)
    assert output.count("\n") == 1  # no log text can start a command of its own
    (annotation,) = parse(output)
    assert annotation.props["title"] == title
    assert annotation.props["file"] == "dir, with: 50%.log"
    assert annotation.message.split("\n")[1:] == [
        "Line one: 100%,",
        "line two\r",
        "::error::injected",
    ]


def test_control_characters_are_made_visible(
    make_report: MakeReport, make_finding: MakeFinding
) -> None:
    output = render_github(make_report([make_finding("red \x1b[31m alert\x07")]))
    assert "\x1b" not in output
    assert "\x07" not in output
    assert parse(output)[0].props["title"] == "red ␛[31m alert␇"


def test_several_inputs_point_at_the_evidence_file(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    items = [
        make_evidence(3, "rank 3 failed", "pod-3.log"),
        make_evidence(9, "timeout", "pod-1.log"),
    ]
    rep = make_report([make_finding(items=items)], files=["pod-1.log", "pod-3.log"])
    (annotation,) = parse(render_github(rep))
    assert (annotation.props["file"], annotation.props["line"]) == ("pod-3.log", "3")


def test_stdin_annotation_has_a_title_but_no_file(sample_report: Report) -> None:
    rep = sample_report.model_copy(
        update={"input": sample_report.input.model_copy(update={"name": "<stdin>"})}
    )
    oom, _ = parse(render_github(rep))
    assert oom.props == {"title": "CUDA out of memory"}
