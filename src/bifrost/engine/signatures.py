"""The knowledge base of known failure signatures (OOMKilled, CUDA out of memory, …).

Signatures are data — YAML files under `data/signatures/`, one per domain — so adding one
needs no code. They are validated once, at first use. A mistake in them (bad YAML, a regex
that does not compile, an example its own patterns miss) is a SignatureError naming the file:
a broken knowledge base is a packaging or contributor bug and must fail loudly, not match
silently wrong.

Patterns are matched case-insensitively and per line (`^`/`$` work inside multi-line events).
"""

from __future__ import annotations

import functools
import re
from importlib.resources import files
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from bifrost.errors import SignatureError
from bifrost.report import SEVERITY_RANK, Severity

FLAGS = re.IGNORECASE | re.MULTILINE

# Every pattern also goes into one combined regex, where named groups would collide and
# numbered backreferences would point at the wrong group.
_BACKREFERENCE = re.compile(r"\\[1-9]|\(\?P=")


class Signature(BaseModel):
    """One known failure: how to recognise it, and what to tell the user about it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z0-9_]+(?:\.[a-z0-9_]+)+$")
    title: str = Field(min_length=1)
    category: str = Field(pattern=r"^[a-z0-9_]+$")
    severity: Severity
    explanation: str = Field(min_length=1)
    suggestion: str = Field(min_length=1)
    patterns: list[str] = Field(min_length=1)
    priority: int = 0
    examples: list[str] = Field(min_length=2)
    counter_examples: list[str] = Field(default_factory=list)

    _regex: re.Pattern[str] = PrivateAttr()

    @model_validator(mode="after")
    def _compile_and_check(self) -> Signature:
        """Compile once, and prove the patterns on the signature's own examples."""
        if not self.id.startswith(f"{self.category}."):
            raise ValueError(f"id {self.id!r} must start with its category {self.category!r}")
        for pattern in self.patterns:
            try:  # alone, to catch unbalanced brackets; wrapped, to catch global flags
                compiled = re.compile(pattern, FLAGS)
                re.compile(f"(?:{pattern})", FLAGS)
            except re.error as exc:
                raise ValueError(f"bad regex {pattern!r}: {exc}") from None
            if compiled.groupindex or _BACKREFERENCE.search(pattern):
                raise ValueError(f"regex {pattern!r}: no named groups or backreferences")
        self._regex = re.compile("|".join(f"(?:{p})" for p in self.patterns), FLAGS)
        for example in self.examples:
            if not self._regex.search(example):
                raise ValueError(f"example not matched by the patterns: {example!r}")
        for counter in self.counter_examples:
            if self._regex.search(counter):
                raise ValueError(f"counter-example matched by the patterns: {counter!r}")
        return self

    @property
    def regex(self) -> re.Pattern[str]:
        """All the patterns as one compiled regex."""
        return self._regex


def load_signature_file(path: Path) -> tuple[Signature, ...]:
    """The signatures of one YAML file, in file order."""
    return _parse(path.read_text(encoding="utf-8"), path.name)


@functools.cache
def load_signatures() -> tuple[Signature, ...]:
    """Every packaged signature: files in name order, each in file order."""
    directory = files("bifrost.engine") / "data" / "signatures"
    origin: dict[str, str] = {}
    loaded: list[Signature] = []
    for entry in sorted(directory.iterdir(), key=lambda entry: entry.name):
        if not entry.name.endswith(".yaml"):
            continue
        for signature in _parse(entry.read_text(encoding="utf-8"), entry.name):
            if signature.id in origin:
                raise SignatureError(
                    f"{entry.name}: duplicate signature id {signature.id!r}"
                    f" (also in {origin[signature.id]})"
                )
            origin[signature.id] = entry.name
            loaded.append(signature)
    if not loaded:
        raise SignatureError(f"no signature files found in {directory}")
    return tuple(loaded)


def match(text: str) -> Signature | None:
    """The best signature for one message: highest priority, then severity, then file order."""
    prefilter, ranked = _index()
    if prefilter.search(text) is None:
        return None
    return next((signature for signature in ranked if signature.regex.search(text)), None)


@functools.cache
def _index() -> tuple[re.Pattern[str], tuple[Signature, ...]]:
    """One regex that rejects the common case (nothing matches) in a single scan, and the
    signatures in the order `match` prefers them (the sort is stable, so file order breaks ties).
    """
    signatures = load_signatures()
    prefilter = re.compile("|".join(f"(?:{s.regex.pattern})" for s in signatures), FLAGS)
    ranked = sorted(signatures, key=lambda s: (-s.priority, -SEVERITY_RANK[s.severity]))
    return prefilter, tuple(ranked)


def _parse(text: str, name: str) -> tuple[Signature, ...]:
    try:
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise SignatureError(f"{name}: invalid YAML: {exc}") from None
    if not isinstance(data, list):
        raise SignatureError(f"{name}: expected a list of signatures, got {type(data).__name__}")
    signatures: list[Signature] = []
    ids: set[str] = set()
    for position, entry in enumerate(data, start=1):
        label = entry.get("id") if isinstance(entry, dict) else None
        try:
            signature = Signature.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, error['loc'])) or 'signature'}: {error['msg']}"
                for error in exc.errors()
            )
            raise SignatureError(f"{name}: signature {label or f'#{position}'}: {problems}") from None
        if signature.id in ids:
            raise SignatureError(f"{name}: duplicate signature id {signature.id!r}")
        ids.add(signature.id)
        signatures.append(signature)
    return tuple(signatures)
