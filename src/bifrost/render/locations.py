"""The source lines a finding names (`src/app.c:12: error`, `File "x.py", line 3`), so a CI
page can annotate the code that failed rather than the log that said so.

Log text is untrusted: a path it names is used only when it is a file inside the checked-out
repository (`in_workspace`), never as a link or a path of its own.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from bifrost.report import Finding

__all__ = ["SourceLine", "Workspace", "in_workspace", "source_line", "source_lines"]

# A path ends in a file extension; the line follows as `:12`, `:[12,5]` (javac via Maven) or
# `(12,5)` (MSBuild), or the path is quoted in a Python traceback.
_PATH = r"(?P<path>(?:[A-Za-z]:)?[\w.@+~/\\-]*\w\.[A-Za-z]\w*)"
_PATTERNS = (
    re.compile(r'File "(?P<path>[^"]+)", line (?P<line>\d+)'),
    re.compile(_PATH + r":\[?(?P<line>\d+)"),
    re.compile(_PATH + r"\((?P<line>\d+)(?:,\d+)?\)"),
)


@dataclass(frozen=True)
class SourceLine:
    path: str  # relative to the workspace
    line: int


def source_lines(finding: Finding) -> Iterator[tuple[str, int]]:
    """Every `(path, line)` the finding's evidence names, in the order the log has them."""
    for item in finding.evidence:
        for text in item.text.split("\n"):
            found = [m for pattern in _PATTERNS for m in pattern.finditer(text)]
            for match in sorted(found, key=lambda m: m.start()):
                line = int(match["line"])
                if line > 0:
                    yield match["path"], line


def in_workspace(path: str, root: Path) -> str | None:
    """`path` relative to `root` when it names a file inside it (after `..` and symlinks are
    resolved), with `/` separators; None otherwise."""
    base = root.resolve()
    try:
        candidate = (base / path).resolve()
    except (OSError, ValueError):
        return None
    if not candidate.is_relative_to(base) or not candidate.is_file():
        return None
    return candidate.relative_to(base).as_posix()


@dataclass(frozen=True)
class Workspace:
    """A checkout a CI page can point into: its folder, the files the repository tracks in it,
    and those by name for the names only one of them has (a stack frame says
    `LogDifferTest.java:61`, not its folder)."""

    root: Path
    tracked: frozenset[str] = frozenset()
    by_name: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, root: Path, tracked: Iterable[str] = ()) -> Workspace:
        """The workspace at `root` whose repository tracks `tracked` (paths relative to it)."""
        files = frozenset(tracked)
        names = Counter(PurePosixPath(file).name for file in files)
        unique = {PurePosixPath(f).name: f for f in files if names[PurePosixPath(f).name] == 1}
        return cls(root, files, unique)

    def file(self, path: str) -> str | None:
        """The workspace's file that `path` names, relative to the root; None if none does."""
        inside = in_workspace(path, self.root)
        if inside is None and "/" not in path and "\\" not in path and path in self.by_name:
            return in_workspace(self.by_name[path], self.root)
        return inside


def source_line(finding: Finding, workspace: Workspace) -> SourceLine | None:
    """The first source line the finding names that is a file of the workspace."""
    for path, line in source_lines(finding):
        relative = workspace.file(path)
        if relative is not None:
            return SourceLine(relative, line)
    return None
