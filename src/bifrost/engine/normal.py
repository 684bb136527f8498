"""A model of what is normal: how many projects' logs print a line.

Every CI system and tool prints boilerplate (environment dumps, version banners, cache
notices) that may well contain `error` or `fail` and is never the cause of a failure. A line
that appears in the logs of many unrelated projects is such boilerplate, whatever its words.

The model is data: `data/normal.json`, built by `bench/build_normal.py` from public logs. It
maps a line's masked text (variables replaced by `<*>`, see `mask`) to the number of distinct
projects whose logs contain it, among the `projects` the corpus had. Counting projects rather
than logs keeps one project's ten similar builds from making its own lines look common.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path


@dataclass(frozen=True)
class Normal:
    """Line → number of corpus projects that printed it."""

    projects: int
    lines: dict[str, int]

    def commonness(self, masked: str) -> float:
        """The share of corpus projects whose logs hold this masked line (0 for a new line)."""
        if not self.projects:
            return 0.0
        return self.lines.get(key(masked), 0) / self.projects

    def to_json(self) -> str:
        ordered = dict(sorted(self.lines.items(), key=lambda item: (-item[1], item[0])))
        return json.dumps({"projects": self.projects, "lines": ordered}, indent=0) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Normal:
        data = json.loads(text)
        return cls(projects=int(data["projects"]), lines=dict(data["lines"]))

    @classmethod
    def load(cls, path: Path) -> Normal:
        return cls.from_json(path.read_text(encoding="utf-8"))


def key(masked: str) -> str:
    """How a masked line is looked up: case and spacing do not make a line new."""
    return " ".join(masked.casefold().split())


@functools.cache
def packaged() -> Normal:
    """The model that ships with Bifrost."""
    text = (files("bifrost.engine") / "data" / "normal.json").read_text(encoding="utf-8")
    return Normal.from_json(text)
