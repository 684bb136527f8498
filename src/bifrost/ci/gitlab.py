"""The GitLab CI/CD component's step (`templates/bifrost/template.yml`): triage the logs a
failed job left as artifacts, into the reports GitLab shows in a merge request.

    python -m bifrost.ci.gitlab

Reads the component's inputs (`INPUT_LOG`: globs, one a line; `INPUT_OUTPUT`: the folder for
the reports, default `bifrost`; the settings' `INPUT_FAIL_ON`, `INPUT_LANG`, … over
`BIFROST_*`) and `CI_PROJECT_DIR`. Writes, in that folder:

- `report.md`: the report in Markdown (an artifact the merge request links to, `expose_as`);
- `junit.xml`: a test case per finding, for the merge request's test report;
- `codequality.json`: GitLab's code quality report, at the source line a finding names when it
  is a file of the project, else at the log's line;
- `report.json`: the JSON Report.

The Markdown goes to the job log too. Exit code: 1 when a finding reaches `INPUT_FAIL_ON`
(the component's default is `never`), 2 when the logs cannot be read.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from bifrost.analysis import fails
from bifrost.ci.inputs import (
    analyse,
    asked_language,
    input_settings,
    log_paths,
    no_log,
    workspace,
)
from bifrost.errors import BifrostError
from bifrost.render.codequality import render_gitlab_codequality
from bifrost.render.junit import render_junit
from bifrost.render.markdown import render_markdown

__all__ = ["REPORTS", "main"]

REPORTS = ("report.md", "junit.xml", "codequality.json", "report.json")
"""The files written, in the output folder."""


def main() -> int:
    lang = asked_language()
    try:
        settings = input_settings()
        lang = settings.lang
        patterns = os.environ.get("INPUT_LOG", "")
        paths = log_paths(patterns)
        if not paths:
            said = no_log(patterns, lang)
            print(f"bifrost: warning: {said}", file=sys.stderr)
            return 0
        report = analyse(paths, settings)
    except BifrostError as error:
        print(f"bifrost: error: {error.message_in(lang)}", file=sys.stderr)
        return error.exit_code

    checkout = workspace("CI_PROJECT_DIR")
    folder = Path(os.environ.get("INPUT_OUTPUT") or "bifrost")
    folder.mkdir(parents=True, exist_ok=True)
    markdown = render_markdown(report, lang=lang)
    texts = {
        "report.md": markdown,
        "junit.xml": render_junit(report, lang=lang),
        "codequality.json": render_gitlab_codequality(report, lang=lang, workspace=checkout),
        "report.json": report.to_json() + "\n",
    }
    for name in REPORTS:
        (folder / name).write_text(texts[name], encoding="utf-8")
    sys.stdout.write(markdown)
    return int(fails(report, settings.fail_on))


if __name__ == "__main__":
    sys.exit(main())
