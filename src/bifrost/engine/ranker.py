"""The learned ranker: how much each feature of a candidate says "this explains the failure".

The weights are data (`data/ranker.json`), fitted by `bench/train_ranker.py` on labelled
failure logs and scored there by leave-projects-out cross-validation. The model is logistic
regression over the features of `features.FEATURES`: a dot product at run time, no
dependency. The knowledge base stays: a known signature is one feature among the others, and
it supplies the explanation.
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from bifrost.engine.features import FEATURES


@dataclass(frozen=True)
class Ranker:
    """A linear model: `bias + Σ weight·feature`, read as the log-odds of being the cause."""

    bias: float
    weights: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.weights) != len(FEATURES):
            raise ValueError(f"{len(self.weights)} weights for {len(FEATURES)} features")

    def logit(self, features: Sequence[float]) -> float:
        return self.bias + math.fsum(w * f for w, f in zip(self.weights, features, strict=True))

    def probability(self, features: Sequence[float]) -> float:
        """The chance, as fitted, that a candidate with these features is the cause."""
        return 1.0 / (1.0 + math.exp(-max(-50.0, min(50.0, self.logit(features)))))

    def to_json(self, **extra: object) -> str:
        weights = dict(zip(FEATURES, self.weights, strict=True))
        return json.dumps({"bias": self.bias, "weights": weights, **extra}, indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> Ranker:
        data = json.loads(text)
        weights = data["weights"]
        unknown = set(weights) - set(FEATURES)
        if unknown:
            raise ValueError(f"weights for unknown features: {sorted(unknown)}")
        return cls(float(data["bias"]), tuple(float(weights.get(name, 0.0)) for name in FEATURES))

    @classmethod
    def load(cls, path: Path) -> Ranker:
        return cls.from_json(path.read_text(encoding="utf-8"))


@functools.cache
def packaged() -> Ranker:
    """The ranker that ships with Bifrost."""
    return Ranker.from_json(
        (files("bifrost.engine") / "data" / "ranker.json").read_text(encoding="utf-8")
    )
