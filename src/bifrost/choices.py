"""The closed sets of values that options and answers take, as plain `Literal` types.

They import nothing, so the command line can describe its options (`--fail-on`, `--llm`,
`--verdict`) without loading pydantic or the settings: `bifrost --help` stays quick.
"""

from __future__ import annotations

from typing import Literal

Severity = Literal["info", "warning", "error", "critical"]
Verdict = Literal["ok", "warning", "unclear", "failure"]
"""`unclear`: the log shows that something went wrong, but no line says what (the findings
are the most suspicious lines, with low confidence)."""

FailOn = Literal["warning", "error", "critical", "never"]
ProviderName = Literal["ollama", "bedrock", "openai"]

TextFormat = Literal[
    "json", "markdown", "sarif", "junit", "github", "github-summary", "gitlab-codequality"
]
"""A Report as text (the terminal rendering is the CLI's own)."""

Language = Literal["en", "ko"]
"""What Bifrost writes in (`bifrost.i18n`): English and Korean."""

ExportFormat = Literal["csv", "json", "jsonl"]
"""Stored analyses, many at a time."""
