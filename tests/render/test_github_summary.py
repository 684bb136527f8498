"""The job summary's Markdown, read back through GitHub's own renderer (cmark-gfm, with raw
HTML let through as the summary page lets it through before sanitizing): whatever the log says,
only Bifrost's own links, folds and code blocks come out."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

from bifrost.render.formats import render
from bifrost.render.markdown import SUMMARY_FOLD_AFTER, render_github_summary
from bifrost.report import Evidence, Finding, Report

MakeEvidence = Callable[..., Evidence]
MakeFinding = Callable[..., Finding]
MakeReport = Callable[..., Report]

HOSTILE = [
    "ERROR <img src=x onerror=alert(1)> [click](https://evil.example/a) <b>bold</b>",
    "see https://evil.example/b or www.evil.example or <https://evil.example/c>",
    "::error file=src/app.c,line=1::injected ```` ~~~",
    "</details></pre> <details><summary>pwn</summary> <script>alert(1)</script>",
    "![x](https://evil.example/d.png) [ref]: https://evil.example/e",
]
HOSTILE_TITLE = "<img src=x> [a](https://evil.example/t) https://evil.example/u www.evil.example"


class Page(HTMLParser):
    """The rendered page: its tags in order, links, and the text inside code blocks."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.links: list[str] = []
        self.code: list[str] = []
        self._in_code = 0
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs).get("href") or "")
        if tag == "pre":
            self._in_code += 1
            self.code.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "pre":
            self._in_code -= 1

    def handle_data(self, data: str) -> None:
        if self._in_code:
            self.code[-1] += data


def page(markdown: str) -> Page:
    return Page(
        cmarkgfm.github_flavored_markdown_to_html(markdown, options=Options.CMARK_OPT_UNSAFE)
    )


def hostile_report(make_report: MakeReport, make_finding: MakeFinding, lines: int) -> Report:
    """A finding whose title and `lines` evidence lines hold everything a log could try."""
    text = "\n".join(HOSTILE[i % len(HOSTILE)] for i in range(lines))
    evidence = Evidence(line=10, end_line=10 + lines - 1, text=text)
    finding = make_finding(HOSTILE_TITLE, items=[evidence], explanation=HOSTILE[0])
    return make_report([finding], summary=HOSTILE[1])


def test_log_text_never_becomes_markup(make_report: MakeReport, make_finding: MakeFinding) -> None:
    for lines in (len(HOSTILE), SUMMARY_FOLD_AFTER + 5):  # open, then folded
        report = hostile_report(make_report, make_finding, lines)
        rendered = page(render_github_summary(report))
        assert rendered.links == []
        assert set(rendered.tags) <= {"h2", "h3", "p", "strong", "em", "code", "pre", "hr"} | {
            "details",
            "summary",
        }
        assert rendered.tags.count("details") == (lines > SUMMARY_FOLD_AFTER)
        # The evidence is shown as the log has it, every line, inside one code block.
        (code,) = rendered.code
        for line in HOSTILE:
            assert line in code


def test_long_evidence_is_folded_under_its_line_count(
    make_report: MakeReport, make_finding: MakeFinding
) -> None:
    report = hostile_report(make_report, make_finding, SUMMARY_FOLD_AFTER + 1)
    markdown = render_github_summary(report)
    lines = SUMMARY_FOLD_AFTER + 1
    assert f"<details><summary>Evidence ({lines} lines)</summary>" in markdown
    assert f"<summary>근거 ({lines}줄)</summary>" in render_github_summary(report, lang="ko")
    short = hostile_report(make_report, make_finding, SUMMARY_FOLD_AFTER)
    assert "<summary>Evidence" not in render_github_summary(short)


def test_findings_link_to_their_lines_when_the_log_has_a_page(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    blob = "https://github.com/octo/shop/blob/0123abc/logs/build%20one.log"
    report = make_report(
        [
            make_finding(items=[make_evidence(450, "a\nb\nc")]),
            make_finding("one line", id="F2", items=[make_evidence(470, "x")]),
        ]
    )
    rendered = page(render_github_summary(report, file_urls={"trainer.log": blob}))
    assert rendered.links == [f"{blob}#L450-L452", f"{blob}#L470"]
    assert page(render_github_summary(report, file_urls={"other.log": blob})).links == []


def test_the_format_is_registered(sample_report: Report) -> None:
    assert render(sample_report, "github-summary") == render_github_summary(sample_report)
