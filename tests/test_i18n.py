"""Bifrost speaks English and Korean: every message and every signature has its Korean text,
a translated Report changes words only (never a log line or a machine field), and the
language is chosen by `--lang`, `BIFROST_LANG` or `Accept-Language`."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path
from typing import get_args

import pytest

from bifrost.analysis import analyze
from bifrost.choices import Severity, Verdict
from bifrost.config import load_settings
from bifrost.engine.signatures import load_signatures
from bifrost.i18n import (
    LANGUAGES,
    from_accept_language,
    language,
    message,
    messages,
    sentences,
    signature_texts,
    translated,
)
from bifrost.i18n.reports import localized
from bifrost.render.formats import render
from bifrost.report import Report
from tests.conftest import Run

SAMPLE = "src/bifrost/samples/trainer.log"
OTHERS = [lang for lang in LANGUAGES if lang != "en"]
_CODE = re.compile(r"`[^`]+`")


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("lang", OTHERS)
def test_every_message_has_a_text_with_the_same_fields(lang: str) -> None:
    english, other = messages("en"), messages(lang)
    assert sorted(set(english) - set(other)) == []  # missing
    assert sorted(set(other) - set(english)) == []  # left over
    for key, text in english.items():
        assert other[key].strip(), key
        assert _fields(other[key]) == _fields(text), key


@pytest.mark.parametrize("lang", OTHERS)
def test_every_signature_has_its_title_explanation_and_fix(lang: str) -> None:
    texts = signature_texts(lang)
    ids = {signature.id for signature in load_signatures()}
    assert sorted(ids - set(texts)) == []
    assert sorted(set(texts) - ids) == []
    for signature in load_signatures():
        text = texts[signature.id]
        assert text.title.strip()
        for field in ("explanation", "suggestion"):
            english = getattr(signature, field)
            translated = getattr(text, field)
            assert (english is None) == (translated is None), (signature.id, field)
            # commands, flags and names stay as they are: people type them
            for code in _CODE.findall(english or ""):
                assert code in translated, (signature.id, field, code)


TEMPLATES = Path(__file__).parents[1] / "src/bifrost/web/templates"
SAID = re.compile(r'_\("((?:[^"\\]|\\.)*)"')
SHOWN_AS_WORDS = {*get_args(Severity), *get_args(Verdict), "high", "medium", "low"}
"""Machine values the pages show translated (`_(f.severity)`, `_(report.verdict)`, …)."""


@pytest.mark.parametrize("lang", OTHERS)
def test_every_sentence_of_the_web_ui_has_a_text(lang: str) -> None:
    used = {m for page in TEMPLATES.glob("*.html") for m in SAID.findall(page.read_text())}
    assert len(used) > 100  # the scan finds the templates' sentences
    wanted = used | SHOWN_AS_WORDS
    catalog = sentences(lang)
    assert sorted(wanted - set(catalog)) == []
    assert sorted(set(catalog) - wanted) == []  # none left behind by a changed template
    for english in wanted:
        assert _fields(catalog[english]) == _fields(english), english
        assert translated(english, lang, **dict.fromkeys(_fields(english), "x")).strip()


def test_a_language_is_named_as_people_and_systems_write_it() -> None:
    for asked in ("ko", "KO", "ko-KR", "ko_KR.UTF-8", " ko "):
        assert language(asked) == "ko"
    assert language("en-GB") == "en"
    with pytest.raises(ValueError, match="choose one of en, ko"):
        language("de")
    assert from_accept_language("de-DE,de;q=0.9,ko;q=0.8,en;q=0.7") == "ko"
    assert from_accept_language("en;q=0.5, ko-KR") == "ko"
    assert from_accept_language("ko;q=0, en") == "en"
    assert from_accept_language("fr, de") is None
    assert from_accept_language("") is None
    assert from_accept_language("ko;q=nonsense") is None


def _machine(report: Report) -> object:
    """Everything of a Report a program reads: ids, categories, severities, numbers, lines."""
    return (
        report.verdict,
        report.finding_counts,
        report.stats.model_copy(update={"elapsed_s": 0.0}),  # differs between two runs
        report.input,
        report.metrics,
        [f.model_dump(exclude={"title", "explanation", "suggestion"}) for f in report.findings],
    )


def test_a_translated_report_changes_words_and_nothing_a_program_reads() -> None:
    english = analyze([SAMPLE], load_settings())
    korean = localized(english, "ko")
    assert _machine(korean) == _machine(english)
    top, top_en = korean.findings[0], english.findings[0]
    assert top.title == "GPU 메모리 부족 (CUDA out of memory)" != top_en.title
    assert top.explanation != top_en.explanation
    assert korean.summary.startswith(top.title)
    assert "발견 9건: 심각 1" in korean.summary
    untranslated = [f for f in english.findings if f.signature is None]
    assert untranslated  # a line without a signature keeps its own words (the log's)
    for finding in untranslated:
        assert next(f for f in korean.findings if f.id == finding.id).title == finding.title
    assert localized(english, "en") is english

    for fmt in ("markdown", "github", "junit", "sarif"):
        assert "GPU 메모리 부족" in render(english, fmt, lang="ko"), fmt
    for fmt in ("markdown", "junit"):  # the formats that quote the evidence
        text = render(english, fmt, lang="ko")
        assert "CUDA out of memory. Tried to allocate 2.00 GiB" in text, fmt  # the log line
    markdown = render(english, "markdown", lang="ko")
    assert "**의미:**" in markdown
    assert "**해결:**" in markdown
    json_ko = json.loads(render(english, "json", lang="ko"))
    assert json_ko["findings"][0]["severity"] == "critical"
    assert json_ko["verdict"] == "failure"


def test_warnings_are_said_again_with_their_names_and_causes_unchanged() -> None:
    english = analyze([SAMPLE], load_settings())
    warnings = [
        message("warning.line_cut", "en", name="a: b.log", limit=1_048_576),
        message("warning.not_stored", "en", why="the database is unavailable: x: y"),
        "a warning no catalog message wrote",
    ]
    korean = localized(english.model_copy(update={"warnings": warnings}), "ko").warnings
    assert korean == [
        "a: b.log: 1048576바이트를 넘는 줄을 잘랐습니다",
        "저장하지 못했습니다: the database is unavailable: x: y",
        "a warning no catalog message wrote",
    ]


def test_english_words_come_from_the_catalog_too() -> None:
    english = analyze([SAMPLE], load_settings())
    assert english.summary == (
        "GPU out of memory (CUDA out of memory) (first at line 431). "
        "9 findings: 1 critical, 5 error, 2 warning, 1 info."
    )
    assert message("count.finding.one", "en", n=1) == "1 finding"


def test_the_command_line_speaks_the_language_asked_for(bifrost: Run) -> None:
    asked = bifrost("analyze", "--sample", "-n", "--lang", "ko", "--no-color", "--top", "1")
    assert asked.returncode == 1, asked.stderr
    first = asked.stdout.splitlines()[0]
    assert first.startswith("✗ 실패 — GPU 메모리 부족 (CUDA out of memory) (발견 9건")
    assert "→ 해결: 배치 크기를 줄이고" in asked.stdout
    assert "torch.OutOfMemoryError: CUDA out of memory." in asked.stdout  # the log's own

    by_env = bifrost("analyze", "--sample", "-n", "--format", "json", env={"BIFROST_LANG": "ko"})
    english = bifrost("analyze", "--sample", "-n", "--format", "json")
    korean_report = Report.model_validate_json(by_env.stdout)
    english_report = Report.model_validate_json(english.stdout)
    assert korean_report.findings[0].title.startswith("GPU 메모리 부족")
    assert _machine(korean_report) == _machine(english_report)

    refused = bifrost("analyze", "--sample", "-n", "--lang", "de")
    assert refused.returncode == 2
    assert refused.stderr == "bifrost: error: --lang: choose one of en, ko (got 'de')\n"


def test_an_error_is_said_in_the_language_asked_for(bifrost: Run, tmp_path: Path) -> None:
    missing = tmp_path / "nope.log"
    korean = bifrost("analyze", str(missing), "--lang", "ko")
    assert (korean.returncode, korean.stderr) == (
        2,
        f"bifrost: error: {missing}: 그런 파일이 없습니다\n",
    )
    by_env = bifrost("analyze", str(tmp_path), env={"BIFROST_LANG": "ko"})
    assert "디렉터리입니다" in by_env.stderr
    english = bifrost("analyze", str(missing))
    assert english.stderr == f"bifrost: error: {missing}: no such file\n"
    empty = bifrost("analyze", "-", "--lang=ko", stdin="")
    assert empty.stderr == "bifrost: error: <stdin>: 입력이 비어 있어 분석할 것이 없습니다\n"


def test_every_catalog_message_the_code_names_exists() -> None:
    """`Error.said("key")` and `message("key", …)` in the source name messages the catalogs
    have: a typo is a test failure here, not a KeyError in front of a user."""
    source = Path(__file__).parents[1] / "src/bifrost"
    named = re.compile(r'(?:\.said|message)\(\s*"([a-z_]+\.[a-z_.]+)"')
    used = {key for path in source.rglob("*.py") for key in named.findall(path.read_text())}
    assert len(used) > 40
    for lang in LANGUAGES:
        assert sorted(used - set(messages(lang))) == [], lang
