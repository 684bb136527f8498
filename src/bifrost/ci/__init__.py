"""Bifrost where builds fail: the steps of the GitHub Action (`action.yml`) and of the GitLab
CI/CD component (`templates/bifrost/template.yml`), as Python rather than shell in YAML, so that
they are tested like the rest.

    python -m bifrost.ci.github   # summary page, annotations, outputs, pull-request comment
    python -m bifrost.ci.gitlab   # Markdown, JUnit and code quality reports as artifacts

Both read the logs named by `INPUT_LOG` (globs, one a line) and the usual `BIFROST_*` settings.
"""
