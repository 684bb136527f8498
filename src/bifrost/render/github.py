"""The report as GitHub Actions workflow commands: an annotation per finding on the run's page.

Layout, one line per finding, in rank order (GitHub shows only the first few of each level)::

    ::error file=trainer.log,line=450,endLine=456,title=CUDA out of memory::1 occurrence · …

The annotation points at the finding's first evidence; its message gives how often and where it
was seen, what it means and how to fix it. Everything taken from the report is escaped as the
Actions runner expects, so no log text can end a command early or start a command of its own.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bifrost.i18n import DEFAULT_LANGUAGE, counted
from bifrost.i18n import message as message_in
from bifrost.render import is_multi_file, position_phrase, printable, seen_before
from bifrost.render.sarif import source_file
from bifrost.report import Finding, Report

__all__ = [
    "Annotation",
    "command",
    "escape_data",
    "escape_property",
    "render_github",
    "report_annotations",
]

_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")
_COMMAND = {"critical": "error", "error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    """`text` as a command's message: `%`, CR and LF encoded, as the runner decodes them.

    Other control characters are made visible, so that none reaches the log viewer.
    """
    parts = _LINE_BREAK.split(text)  # text, break, text, break, …, text
    return "".join(
        part.replace("\r", "%0D").replace("\n", "%0A")
        if index % 2
        else printable(part).replace("%", "%25")
        for index, part in enumerate(parts)
    )


def escape_property(text: str) -> str:
    """`text` as a property value: as a message, and `:` and `,` too, which end a value."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


@dataclass(frozen=True)
class Annotation:
    """One annotation before it is written as a command: a CI front may move it to the source
    line a finding names (`bifrost.ci.github`) before writing it."""

    level: str  # error | warning | notice
    title: str
    message: str
    file: str | None = None
    line: int | None = None
    end_line: int | None = None


def render_github(report: Report, *, lang: str = DEFAULT_LANGUAGE) -> str:
    """One `::error`/`::warning`/`::notice` line per finding; empty when there are none."""
    return "".join(command(annotation) + "\n" for annotation in report_annotations(report, lang))


def report_annotations(report: Report, lang: str = DEFAULT_LANGUAGE) -> list[Annotation]:
    """An annotation per finding, in rank order, at the finding's first evidence line."""
    multi_file = is_multi_file(report)
    seen = seen_before(report, lang)
    return [
        _annotation(report, finding, multi_file, seen if rank == 0 else [], lang)
        for rank, finding in enumerate(report.findings)
    ]


def command(annotation: Annotation) -> str:
    """The workflow command that shows `annotation`, escaped: one line, whatever it holds."""
    properties: list[tuple[str, str]] = []
    if annotation.file is not None:
        properties.append(("file", annotation.file))
        if annotation.line is not None:
            properties.append(("line", str(annotation.line)))
            properties.append(("endLine", str(annotation.end_line or annotation.line)))
    properties.append(("title", annotation.title))
    props = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{annotation.level} {props}::{escape_data(annotation.message)}"


def _annotation(
    report: Report, finding: Finding, multi_file: bool, seen: list[str], lang: str
) -> Annotation:
    file = line = end_line = None
    if finding.evidence:
        first = finding.evidence[0]
        file = source_file(report, first.file)
        line, end_line = first.line, max(first.end_line, first.line)

    occurrences = counted(finding.count, "occurrence", lang)
    message = [f"{occurrences} · {position_phrase(finding, multi_file, lang)}"]
    if finding.known_issue:
        message.append(finding.known_issue.line(lang))
    if finding.explanation:
        message.append(finding.explanation.strip())
    if finding.suggestion:
        message.append(f"{message_in('markdown.fix', lang)} {finding.suggestion.strip()}")
    message += seen
    return Annotation(
        level=_COMMAND[finding.severity],
        title=finding.title,
        message="\n".join(message),
        file=file,
        line=line if file else None,
        end_line=end_line if file else None,
    )
