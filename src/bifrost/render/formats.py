"""Every text format a Report or an export is written in, with its media type: one registry
for every front (`analyze --format`, the API's `?format=`, the coming web UI and workers).

A renderer is imported only when its format is used, so choosing one never loads the others.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Protocol

from bifrost.choices import ExportFormat
from bifrost.i18n import DEFAULT_LANGUAGE
from bifrost.i18n.reports import localized
from bifrost.report import Report


@dataclass(frozen=True)
class Format:
    media_type: str
    renderer: str  # `module:function` under `bifrost.render`


REPORT_FORMATS: dict[str, Format] = {
    "json": Format("application/json", ""),
    "markdown": Format("text/markdown; charset=utf-8", "markdown:render_markdown"),
    "sarif": Format("application/sarif+json", "sarif:render_sarif"),
    "github": Format("text/plain; charset=utf-8", "github:render_github"),
    "junit": Format("application/xml", "junit:render_junit"),
    "github-summary": Format("text/markdown; charset=utf-8", "markdown:render_github_summary"),
    # Not the Report's JSON, so not its media type: a client asking for JSON gets the Report.
    "gitlab-codequality": Format(
        "application/vnd.bifrost.gitlab-codequality+json", "codequality:render_gitlab_codequality"
    ),
}

EXPORT_MEDIA_TYPES: dict[ExportFormat, str] = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
}


def render(
    report: Report,
    fmt: str,
    *,
    compact: bool = False,
    series: bool = False,
    lang: str = DEFAULT_LANGUAGE,
) -> str:
    """The Report in a text format, in `lang` (its words and the knowledge base's: log lines
    and machine fields never change); JSON `compact` on one line (for machines), else indented
    with a final newline (for people and diffs), with the training metrics' series only when
    asked for (`series`: up to 256 points of each metric)."""
    report = localized(report, lang)
    if fmt == "json":
        report = report if series else report.without_series()
        return report.to_json(indent=None) if compact else report.to_json() + "\n"
    return _renderer(REPORT_FORMATS[fmt].renderer)(report, lang=lang)


class Renderer(Protocol):
    def __call__(self, report: Report, *, lang: str) -> str: ...


def _renderer(name: str) -> Renderer:
    module, function = name.split(":")
    found: Renderer = getattr(importlib.import_module(f"bifrost.render.{module}"), function)
    return found
