"""The source lines a finding names, and which of them a CI page may point at."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from bifrost.render.locations import (
    SourceLine,
    Workspace,
    in_workspace,
    source_line,
    source_lines,
)
from bifrost.report import Evidence, Finding

MakeEvidence = Callable[..., Evidence]
MakeFinding = Callable[..., Finding]


@pytest.mark.parametrize(
    ("line", "named"),
    [
        ("src/app.c:12:5: error: expected ';'", ("src/app.c", 12)),  # gcc, clang, tsc, rustc …
        ('  File "pkg/mod.py", line 88, in run', ("pkg/mod.py", 88)),  # Python
        ("[ERROR] /w/src/Main.java:[61,5] cannot find symbol", ("/w/src/Main.java", 61)),  # javac
        ("src\\Program.cs(14,9): error CS1002: ; expected", ("src\\Program.cs", 14)),  # MSBuild
        ("    at LogDifferTest.java:61", ("LogDifferTest.java", 61)),
    ],
)
def test_the_usual_forms(
    make_finding: MakeFinding, make_evidence: MakeEvidence, line: str, named: tuple[str, int]
) -> None:
    finding = make_finding(items=[make_evidence(3, line)])
    assert next(source_lines(finding)) == named


@pytest.mark.parametrize(
    "line",
    ["2021-12-01T13:01:04.3787133Z done", "step 3: ok", "main.c:0", "v1.2:"],
)
def test_text_that_names_no_line(
    make_finding: MakeFinding, make_evidence: MakeEvidence, line: str
) -> None:
    finding = make_finding(items=[make_evidence(3, line)])
    assert list(source_lines(finding)) == []


def test_only_files_inside_the_workspace(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / "src" / "app.c").write_text("", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("", encoding="utf-8")
    os.symlink(tmp_path / "secret.txt", root / "link.txt")
    assert in_workspace("src/app.c", root) == "src/app.c"
    assert in_workspace(str(root / "src" / "app.c"), root) == "src/app.c"
    assert in_workspace("src/../src/app.c", root) == "src/app.c"
    for outside in ("../secret.txt", str(tmp_path / "secret.txt"), "link.txt", "src", "nope.c"):
        assert in_workspace(outside, root) is None, outside


def test_the_first_line_in_the_workspace_wins(
    tmp_path: Path, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    (tmp_path / "b.py").write_text("", encoding="utf-8")
    text = 'File "/usr/lib/python3/x.py", line 5\nFile "b.py", line 7\nFile "b.py", line 9'
    finding = make_finding(items=[make_evidence(1, text)])
    assert source_line(finding, Workspace(tmp_path)) == SourceLine("b.py", 7)
    nothing = make_finding(items=[make_evidence(1, "nothing")])
    assert source_line(nothing, Workspace(tmp_path)) is None


def test_a_bare_file_name_is_the_one_file_of_that_name(
    tmp_path: Path, make_finding: MakeFinding, make_evidence: MakeEvidence
) -> None:
    """A stack frame names `LogDifferTest.java`, not its folder: the repository knows where."""
    tracked = ["src/test/java/LogDifferTest.java", "a/Util.java", "b/Util.java"]
    for file in tracked:
        (tmp_path / file).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / file).write_text("", encoding="utf-8")
    checkout = Workspace.of(tmp_path, tracked)
    frame = make_finding(items=[make_evidence(1, "    at LogDifferTest.java:61")])
    assert source_line(frame, checkout) == SourceLine(tracked[0], 61)
    ambiguous = make_finding(items=[make_evidence(1, "    at Util.java:3")])
    assert source_line(ambiguous, checkout) is None
    assert source_line(frame, Workspace(tmp_path)) is None  # without the repository's files
    assert checkout.file("other/LogDifferTest.java") is None  # a folder given must be right
