"""A Report in the reader's language: the knowledge base's words and the engine's summary
translated, nothing else touched (log lines, ids, categories, severities, verdicts, numbers).

A Report is analysed, cached and stored in English; it is translated on its way out, so one
stored analysis reads in every language. An LLM's own words are left as they are: the model
was asked for the reader's language already (`llm/prompt.py`).
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Mapping

from bifrost.choices import Severity
from bifrost.i18n import DEFAULT_LANGUAGE, message, messages, signature_texts
from bifrost.report import Finding, Report, counts_phrase


def localized(report: Report, lang: str) -> Report:
    """`report` with its findings' titles, explanations and fixes from the knowledge base, and
    the engine's summary, in `lang`."""
    if lang == DEFAULT_LANGUAGE:
        return report
    texts = signature_texts(lang)
    findings = []
    for finding in report.findings:
        text = texts.get(finding.signature or "")
        if text is None:
            findings.append(_said_again(finding, lang))
            continue
        findings.append(
            finding.model_copy(
                update={
                    "title": text.title,
                    "explanation": text.explanation or finding.explanation,
                    "suggestion": text.suggestion or finding.suggestion,
                }
            )
        )
    update: dict[str, object] = {
        "findings": findings,
        "warnings": [reworded(warning, lang) for warning in report.warnings],
    }
    if report.llm is None:  # the engine's summary; an LLM's is in the reader's language
        update["summary"] = summary(findings, report.finding_counts, lang)
    return report.model_copy(update=update)


def reworded(warning: str, lang: str) -> str:
    """A warning of the engine or the analysis (`warning.*` messages, kept in English in the
    Report) in `lang`; any other text as it is. Its fields (a file's name, a service's own
    words) are carried over unchanged."""
    if lang == DEFAULT_LANGUAGE:
        return warning
    for key, pattern in _warning_patterns():
        found = pattern.fullmatch(warning)
        if found:
            return message(key, lang, **found.groupdict())
    return warning


@functools.cache
def _warning_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """Each `warning.*` message as a pattern of its English text, its fields as groups."""
    patterns = []
    for key, text in messages(DEFAULT_LANGUAGE).items():
        if not key.startswith("warning."):
            continue
        parts = [
            re.escape(literal) + (f"(?P<{field}>.*?)" if field else "")
            for literal, field, _, _ in string.Formatter().parse(text)
        ]
        patterns.append((key, re.compile("".join(parts), re.DOTALL)))
    return patterns


def _said_again(finding: Finding, lang: str) -> Finding:
    """A finding the engine wrote from catalog messages (training curves), in `lang`."""
    if not finding.messages:
        return finding
    update: dict[str, object] = {
        which: message(said.key, lang, **said.fields) for which, said in finding.messages.items()
    }
    return finding.model_copy(update=update)


def summary(
    findings: list[Finding], counts: Mapping[Severity, int], lang: str = DEFAULT_LANGUAGE
) -> str:
    """The engine's summary (`analysis/run.py`) in `lang`: the first finding and the counts."""
    if not findings:
        return message("summary.none", lang)
    top = findings[0]
    where = message("position.line", lang, line=top.first_seen.line)
    if top.first_seen.file:
        where = f"{top.first_seen.file}:{top.first_seen.line}"
    return message(
        "summary.first", lang, title=top.title, where=where, counts=counts_phrase(counts, lang)
    )
