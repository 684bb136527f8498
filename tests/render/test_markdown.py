"""The Markdown report, checked both as text and as what a CommonMark parser makes of it."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from markdown_it import MarkdownIt
from markdown_it.token import Token

from bifrost.render.markdown import code_span, escape, fence, render_markdown
from bifrost.report import Evidence, Finding, KnownIssue, Position, Report

# The factories from conftest.py, as fixtures (so no test module imports conftest).
MakeEvidence = Callable[..., Evidence]
MakeFinding = Callable[..., Finding]
MakeReport = Callable[..., Report]

# GitHub flavour: tables and strikethrough on top of CommonMark.
PARSER = MarkdownIt("commonmark").enable(["table", "strikethrough"])


def tokens(markdown: str) -> list[Token]:
    return PARSER.parse(markdown)


def fences(markdown: str) -> list[str]:
    """The content of every fenced code block, as a parser reads it."""
    return [t.content.removesuffix("\n") for t in tokens(markdown) if t.type == "fence"]


def shown(markdown: str) -> str:
    """The text a reader sees once the Markdown is rendered (tags stripped, entities decoded)."""
    return html.unescape(re.sub(r"<[^>]+>", "", PARSER.render(markdown)))


def test_heading_gives_the_verdict_and_the_top_finding(sample_report: Report) -> None:
    md = render_markdown(sample_report)
    assert md.splitlines()[0] == "## ✗ Failure — CUDA out of memory"
    assert "2 findings: 1 critical, 1 error. Input: `trainer.log`." in md
    assert "Rank 0 ran out of GPU memory; the others timed out." in md


def test_ok_report(make_report: MakeReport) -> None:
    md = render_markdown(make_report())
    assert md.splitlines()[0] == "## ✓ No problems found"
    assert "No findings. Input: `trainer.log`." in md
    assert not fences(md)


def test_findings_are_numbered_sections_in_rank_order(sample_report: Report) -> None:
    md = render_markdown(sample_report)
    headings = [line for line in md.splitlines() if line.startswith("### ")]
    assert headings == ["### 1. CUDA out of memory", "### 2. NCCL watchdog timeout"]
    assert "**CRITICAL** · ×1 · line 455 (2024-05-14T09:41:02.118Z) · `ml.cuda_oom`" in md
    assert (
        "**ERROR** · ×7 · first line 470 (2024-05-14T09:51:03.120Z) · "
        "last line 512 (2024-05-14T09:51:03.544Z) · `ml.nccl_timeout`"
    ) in md


def test_evidence_is_fenced_with_line_numbers_and_gaps(sample_report: Report) -> None:
    blocks = fences(render_markdown(sample_report))
    assert len(blocks) == 2
    traceback = sample_report.findings[0].evidence[0].text
    numbered = [f"{450 + i} | {line}" for i, line in enumerate(traceback.splitlines())]
    assert blocks[0] == "\n".join(numbered)
    lines = blocks[1].splitlines()
    assert lines[0].startswith("470 | [E ProcessGroupNCCL.cpp:828] [Rank 1] Watchdog caught")
    assert lines[1:] == ["  … |", "512 | [E ProcessGroupNCCL.cpp:828] [Rank 7] …"]


def test_explanation_suggestion_and_stats(sample_report: Report) -> None:
    md = render_markdown(sample_report)
    assert "**What it means:** A process asked the GPU for more memory than was free." in md
    assert "**Fix:** Lower the per\\-device batch size" not in md  # no needless escapes mid-line
    assert "**Fix:** Lower the per-device batch size or enable activation checkpointing." in md
    assert md.endswith(
        "---\n\n_1,836 lines · 211 templates · 14 error lines · 0.04 s · format: python_\n"
    )


@pytest.mark.parametrize(
    "log_text",
    [
        "```",
        "before\n```\nafter",
        "````python\nprint(1)\n````",
        "``` `` ` ````` end",
    ],
)
def test_backticks_in_log_text_cannot_break_the_fence(
    log_text: str, make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    rep = make_report(
        [make_finding(items=[make_evidence(1, log_text)], explanation="After the block.")]
    )
    md = render_markdown(rep)
    expected = "\n".join(f"{i + 1} | {line}" for i, line in enumerate(log_text.split("\n")))
    assert fences(md) == [expected]
    assert "After the block." in shown(md)
    paragraphs = [t.content for t in tokens(md) if t.type == "inline"]
    assert not any("```" in p for p in paragraphs)


def test_fence_is_longer_than_any_backtick_run() -> None:
    assert fence("a ``` b") == "````text\na ``` b\n````"
    assert fence("plain") == "```text\nplain\n```"


@pytest.mark.parametrize(
    "title",
    [
        "Use *args and **kwargs_here_",
        "[click](http://evil.example) ![img](x.png)",
        "<script>alert(1)</script> & &amp; entity",
        "pipes | in | title ~~struck~~ $x^2$",
        "# not a heading #",
        "`code` in title",
        "back\\slash",
    ],
)
def test_titles_are_escaped_so_they_display_as_written(
    title: str, make_report: MakeReport, make_finding: MakeFinding
) -> None:
    md = render_markdown(make_report([make_finding(title)]))
    heading = next(t for t in tokens(md) if t.type == "heading_open" and t.tag == "h3")
    assert heading  # the title stays a level-3 heading
    rendered = PARSER.render(md)
    for tag in ("<em>", "<strong>", "<a ", "<img", "<script", "<del>", "<code>`", "<table"):
        assert tag not in rendered.split("<h3>")[1].split("</h3>")[0]
    assert f"1. {title}" in shown(md)


@pytest.mark.parametrize(
    "text",
    ["- not a list", "+ not a list", "> not a quote", "1. not a list", "2) neither", "=== no"],
)
def test_line_starts_that_would_make_blocks_are_escaped(
    text: str, make_report: MakeReport, make_finding: MakeFinding
) -> None:
    md = render_markdown(make_report([make_finding(explanation=f"first line\n{text}")]))
    types = {t.type for t in tokens(md)}
    assert not types & {"bullet_list_open", "ordered_list_open", "blockquote_open"}
    assert text in shown(md)
    assert escape(text) != text


def test_code_span_survives_backticks() -> None:
    assert code_span("ml.oom") == "`ml.oom`"
    assert code_span("a`b") == "``a`b``"
    assert code_span("`x`") == "`` `x` ``"
    for text in ("a`b", "`x`", "``"):
        inline = tokens(f"see {code_span(text)}")[1]
        assert inline.children is not None
        assert [c.content for c in inline.children if c.type == "code_inline"] == [text]


def test_top_limits_the_findings_shown(sample_report: Report) -> None:
    md = render_markdown(sample_report, top=1)
    assert "### 1. CUDA out of memory" in md
    assert "NCCL" not in md
    assert "_Showing the top 1 of 2 findings._" in md
    assert "2 findings: 1 critical, 1 error" in md


def test_control_characters_are_made_visible(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    rep = make_report(
        [make_finding("Bad \x1b[2J title", items=[make_evidence(1, "\x1b[31mred\x1b[0m\x00")])]
    )
    md = render_markdown(rep)
    assert "\x1b" not in md
    assert "\x00" not in md
    assert fences(md) == ["1 | ␛[31mred␛[0m␀"]


def test_several_files_are_named(
    make_report: MakeReport, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    items = [
        make_evidence(4, "first failure", file="a.log"),
        make_evidence(9, "second failure", file="b.log"),
    ]
    rep = make_report(
        [
            make_finding(
                items=items,
                count=2,
                first=Position(line=4, file="a.log"),
                last=Position(line=9, file="b.log"),
            )
        ],
        files=["a.log", "b.log"],
    )
    md = render_markdown(rep)
    assert "first a.log:4 · last b.log:9" in md
    assert fences(md) == ["==> a.log <==\n4 | first failure\n==> b.log <==\n9 | second failure"]
    assert "2 files · 1,836 lines" in md


@pytest.mark.parametrize(
    ("link", "is_link"),
    [
        ("https://runbooks.example.com/gpu-oom", True),
        ("https://x.example/a>b<script>", False),  # would end the autolink early
        ("https://x.example/a b", False),
    ],
)
def test_a_known_issue_link_is_a_link_only_when_it_is_one_address(
    link: str, is_link: bool, make_report: MakeReport, make_finding: MakeFinding
) -> None:
    known = KnownIssue(
        note="Halve the *batch*", link=link, pinned_at=datetime(2026, 1, 2, tzinfo=UTC)
    )
    finding = make_finding("boom").model_copy(update={"known_issue": known})
    rendered = PARSER.render(render_markdown(make_report([finding])))
    anchors = re.findall(r'<a href="([^"]*)"', rendered)
    assert anchors == ([link] if is_link else [])
    assert "<script" not in rendered
    assert "<em>batch</em>" not in rendered
    assert "Halve the *batch*" in shown(render_markdown(make_report([finding])))
