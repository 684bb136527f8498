"""The GitHub Action's step (`action.yml`): triage the failed job's logs where it failed.

    python -m bifrost.ci.github

Reads the runner's environment: the action's inputs (`INPUT_LOG`: globs, one a line;
`INPUT_COMMENT`: `true` for a pull-request comment; the settings' `INPUT_FAIL_ON`, `INPUT_TOP`,
`INPUT_LANG`, `INPUT_LLM`, … over `BIFROST_*`), `GITHUB_TOKEN` and the runner's own `GITHUB_*`
variables. Writes:

- the job's summary page (`GITHUB_STEP_SUMMARY`): the report in Markdown, each finding linked to
  its lines when the log is a file of the repository at this commit;
- annotations on stdout, at the source line a finding names when it is a file of the
  workspace, else at the log's line: at most as many as GitHub shows, then a notice that says
  how many more there are;
- the step's outputs (`GITHUB_OUTPUT`): `verdict`, `findings`, `report` (the JSON Report's path);
- with `INPUT_COMMENT=true` on a pull request, one comment per job, updated on each run.

Exit code: 1 when a finding reaches `INPUT_FAIL_ON` (the action's default is `never`), 2 when
the logs cannot be read. Nothing but escaped workflow commands reaches stdout.
"""

from __future__ import annotations

import json
import os
import sys
from collections import Counter
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import httpx

from bifrost.analysis import fails
from bifrost.ci.comment import github_client, marker, upsert_comment
from bifrost.ci.inputs import (
    analyse,
    asked_language,
    input_settings,
    log_paths,
    no_log,
    workspace,
)
from bifrost.config import Settings
from bifrost.errors import BifrostError
from bifrost.i18n import DEFAULT_LANGUAGE, counted, message
from bifrost.render import total_findings
from bifrost.render.github import Annotation, command, report_annotations
from bifrost.render.locations import Workspace, in_workspace, source_line
from bifrost.render.markdown import escape, render_github_summary
from bifrost.report import Finding, Report

__all__ = ["SHOWN_PER_LEVEL", "file_urls", "main", "placed_annotations", "shown_annotations"]

SHOWN_PER_LEVEL = 10
"""Annotations of one level that GitHub shows for a step (errors, warnings, notices each)."""


def main() -> int:
    lang = asked_language()
    try:
        settings = input_settings()
        lang = settings.lang
        return _run(settings)
    except BifrostError as error:
        _say(command(Annotation("error", "Bifrost", error.message_in(lang))))
        return error.exit_code


def _run(settings: Settings) -> int:
    checkout = workspace("GITHUB_WORKSPACE")
    patterns = os.environ.get("INPUT_LOG", "")
    paths = log_paths(patterns)
    if not paths:
        said = no_log(patterns, settings.lang)
        _say(command(Annotation("warning", "Bifrost", said)))
        _append("GITHUB_STEP_SUMMARY", escape(said) + "\n")
        return 0

    report = analyse(paths, settings)
    summary = render_github_summary(
        report, lang=settings.lang, file_urls=file_urls(paths, checkout)
    )
    _append("GITHUB_STEP_SUMMARY", summary)
    placed = placed_annotations(report, checkout, settings.lang)
    for annotation in shown_annotations(placed, settings.lang):
        _say(command(annotation))

    report_path = Path(os.environ.get("RUNNER_TEMP") or ".") / "bifrost-report.json"
    report_path.write_text(report.to_json() + "\n", encoding="utf-8")
    findings = total_findings(report)
    _append(
        "GITHUB_OUTPUT", f"verdict={report.verdict}\nfindings={findings}\nreport={report_path}\n"
    )
    if os.environ.get("INPUT_COMMENT", "").strip().lower() == "true":
        _comment(summary, settings.lang)
    return int(fails(report, settings.fail_on))


def file_urls(paths: list[str], checkout: Workspace) -> dict[str, str]:
    """The page of each log that is a file of the repository at this commit, by its name in
    the report: `$GITHUB_SERVER_URL/$GITHUB_REPOSITORY/blob/$GITHUB_SHA/PATH`. A log made by
    the job itself is not in the repository, and gets no link."""
    server = os.environ.get("GITHUB_SERVER_URL", "https://github.com")
    repository, sha = os.environ.get("GITHUB_REPOSITORY"), os.environ.get("GITHUB_SHA")
    if not repository or not sha:
        return {}
    urls = {}
    for name in paths:
        relative = in_workspace(str(Path(name).resolve()), checkout.root)
        if relative is not None and relative in checkout.tracked:
            urls[name] = f"{server}/{quote(repository)}/blob/{quote(sha)}/{quote(relative)}"
    return urls


def placed_annotations(report: Report, checkout: Workspace, lang: str) -> list[Annotation]:
    """The report's annotations, each at the source line its finding names when that is a
    file of the workspace, else at its log line when the log is one, else on the run only."""
    pairs = zip(report.findings, report_annotations(report, lang), strict=True)
    return [_placed(annotation, finding, checkout) for finding, annotation in pairs]


def _placed(annotation: Annotation, finding: Finding, checkout: Workspace) -> Annotation:
    source = source_line(finding, checkout)
    if source is not None:
        return replace(annotation, file=source.path, line=source.line, end_line=source.line)
    log = None
    if annotation.file is not None:
        log = in_workspace(str(Path(annotation.file).resolve()), checkout.root)
    if log is None:
        return replace(annotation, file=None, line=None, end_line=None)
    return replace(annotation, file=log)


def shown_annotations(found: list[Annotation], lang: str = DEFAULT_LANGUAGE) -> list[Annotation]:
    """The first `SHOWN_PER_LEVEL` annotations of each level, and a notice that counts the
    others (GitHub would drop them without a word): the job summary lists every finding."""
    shown: list[Annotation] = []
    kept: Counter[str] = Counter()
    for annotation in found:
        limit = SHOWN_PER_LEVEL - (1 if annotation.level == "notice" else 0)
        if kept[annotation.level] < limit:
            kept[annotation.level] += 1
            shown.append(annotation)
    hidden = len(found) - len(shown)
    if hidden:
        more = message("ci.more_annotations", lang, more=counted(hidden, "finding", lang))
        shown.append(Annotation("notice", "Bifrost", more))
    return shown


def _comment(summary: str, lang: str) -> None:
    """Update the job's comment on the pull request; a failure is a warning, not the step's."""
    number = _pull_request_number()
    if number is None:
        _say(command(Annotation("notice", "Bifrost", message("ci.not_a_pull_request", lang))))
        return
    api = os.environ.get("GITHUB_API_URL", "https://api.github.com")
    mark = marker(os.environ.get("GITHUB_JOB", "job"))
    try:
        with github_client(api, os.environ.get("GITHUB_TOKEN", "")) as client:
            upsert_comment(client, os.environ["GITHUB_REPOSITORY"], number, summary, mark)
    except (httpx.HTTPError, KeyError, ValueError) as error:
        said = message("ci.comment_failed", lang, error=str(error))
        _say(command(Annotation("warning", "Bifrost", said)))


def _pull_request_number() -> int | None:
    """The pull request of the event that started the workflow, from its payload."""
    payload_path = os.environ.get("GITHUB_EVENT_PATH")
    if not payload_path:
        return None
    try:
        payload = json.loads(Path(payload_path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    pull = payload.get("pull_request") if isinstance(payload, dict) else None
    number = pull.get("number") if isinstance(pull, dict) else None
    return number if isinstance(number, int) else None


def _append(variable: str, text: str) -> None:
    """Add `text` to the runner's file named by `variable` (nothing outside a runner)."""
    target = os.environ.get(variable)
    if target:
        with open(target, "a", encoding="utf-8") as file:
            file.write(text)


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    sys.exit(main())
