"""The learned ranker: how likely a candidate is to be the line that explains the failure.

The model is data (`data/ranker.json`), fitted by `bench/train_ranker.py` on labelled
failure logs and scored there by leave-projects-out cross-validation. It has two parts:

- word weights: each word of the candidate's line (`features.words`) adds its weight to a
  word score. Only words seen in the logs of several projects have a weight, so none names
  one project;
- small gradient-boosted regression trees over the features of `features.FEATURES` and that
  word score, whose sum (plus `base`) is the log-odds of being the cause.

Evaluating it is a few hundred comparisons per candidate: no dependency at run time. The
knowledge base stays: a known signature is one feature among the others, and it supplies
the explanation.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from bifrost.engine.features import FEATURES

INPUTS: tuple[str, ...] = (*FEATURES, "words")
"""What the trees split on: the features, then the word score."""


@dataclass(frozen=True)
class Tree:
    """One regression tree as flat arrays: node `i` sends `x` left when
    `x[feature[i]] <= threshold[i]`; a leaf has feature -1 and holds `value`."""

    feature: tuple[int, ...]
    threshold: tuple[float, ...]
    left: tuple[int, ...]
    right: tuple[int, ...]
    value: tuple[float, ...]

    def __call__(self, x: Sequence[float]) -> float:
        node = 0
        feature = self.feature
        while (f := feature[node]) >= 0:
            node = self.left[node] if x[f] <= self.threshold[node] else self.right[node]
        return self.value[node]

    def to_dict(self) -> dict[str, list[Any]]:
        return {
            "feature": list(self.feature),
            "threshold": [round(t, 6) for t in self.threshold],
            "left": list(self.left),
            "right": list(self.right),
            "value": [round(v, 6) for v in self.value],
        }

    @classmethod
    def from_dict(cls, data: dict[str, list[Any]]) -> Tree:
        tree = cls(
            feature=tuple(int(f) for f in data["feature"]),
            threshold=tuple(float(t) for t in data["threshold"]),
            left=tuple(int(i) for i in data["left"]),
            right=tuple(int(i) for i in data["right"]),
            value=tuple(float(v) for v in data["value"]),
        )
        nodes = len(tree.feature)
        if not all(len(part) == nodes for part in (tree.threshold, tree.left, tree.right)):
            raise ValueError("a tree's arrays differ in length")
        if any(f >= len(INPUTS) for f in tree.feature):
            raise ValueError("a tree splits on an unknown input")
        return tree


@dataclass(frozen=True)
class Ranker:
    """`base + Σ tree(features + word score)`: the log-odds that a candidate is the cause."""

    base: float
    trees: tuple[Tree, ...]
    words: dict[str, float]

    def word_score(self, words: Iterable[str]) -> float:
        known = self.words
        return math.fsum(known.get(word, 0.0) for word in words)

    def logit(self, features: Sequence[float], words: Iterable[str] = ()) -> float:
        if len(features) != len(FEATURES):
            raise ValueError(f"{len(features)} features, expected {len(FEATURES)}")
        x = (*features, self.word_score(words))
        return self.base + math.fsum(tree(x) for tree in self.trees)

    def probability(self, features: Sequence[float], words: Iterable[str] = ()) -> float:
        """The chance, as fitted, that a candidate with these features is the cause."""
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, self.logit(features, words)))))

    def to_json(self, **extra: object) -> str:
        words = {w: round(v, 4) for w, v in sorted(self.words.items()) if round(v, 4)}
        data = {
            "inputs": list(INPUTS),
            **extra,
            "base": round(self.base, 6),
            "words": words,
            "trees": [tree.to_dict() for tree in self.trees],
        }
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Ranker:
        data = json.loads(text)
        if list(data["inputs"]) != list(INPUTS):
            raise ValueError("the ranker was fitted on other features; refit it")
        return cls(
            base=float(data["base"]),
            trees=tuple(Tree.from_dict(tree) for tree in data["trees"]),
            words={str(k): float(v) for k, v in data["words"].items()},
        )

    @classmethod
    def load(cls, path: Path) -> Ranker:
        return cls.from_json(path.read_text(encoding="utf-8"))


@functools.cache
def packaged() -> Ranker:
    """The ranker that ships with Bifrost."""
    return Ranker.from_json(
        (files("bifrost.engine") / "data" / "ranker.json").read_text(encoding="utf-8")
    )
