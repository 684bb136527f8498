"""Incidents: realistic failure logs of Kubernetes, GPU training, CI and services.

The ranker is fitted on them too (with logchunks-dev and CiDiff; see `bench/train_ranker.py`,
which also scores each one with a model fitted without it): this test is the regression
check that the packaged model still answers them.

Each `tests/data/incidents/<name>.log` has a `<name>.expect.json` sidecar saying which lines an
on-call engineer would point at as the root cause (`first_finding_lines`, 1-based, inclusive)
and, optionally, the signature family expected (`signature_prefix`). The top finding must land
there: some evidence item overlaps the range, or its first occurrence is inside it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from bifrost.analysis import analyze
from bifrost.config import load_settings
from bifrost.report import Finding

INCIDENTS = Path(__file__).parent.parent / "data" / "incidents"


@dataclass(frozen=True)
class Expectation:
    first: int
    last: int
    signature_prefix: str | None
    why: str


def _expectation(path: Path) -> Expectation:
    raw = json.loads(path.read_text(encoding="utf-8"))
    first, last = (int(n) for n in raw["first_finding_lines"])
    prefix = raw.get("signature_prefix")
    return Expectation(
        first=first,
        last=last,
        signature_prefix=str(prefix) if prefix is not None else None,
        why=str(raw["why"]),
    )


CASES = [
    pytest.param(log, _expectation(log.with_suffix(".expect.json")), id=log.stem)
    for log in sorted(INCIDENTS.glob("*.log"))
]


def _hits(finding: Finding, first: int, last: int) -> bool:
    if first <= finding.first_seen.line <= last:
        return True
    return any(item.line <= last and item.end_line >= first for item in finding.evidence)


def _describe(finding: Finding) -> str:
    spans = ", ".join(f"{item.line}-{item.end_line}" for item in finding.evidence)
    return (
        f"{finding.title!r} [{finding.category}, signature={finding.signature}] "
        f"first_seen={finding.first_seen.line} evidence={spans}"
    )


def test_every_incident_has_an_expectation() -> None:
    logs = {p.stem for p in INCIDENTS.glob("*.log")}
    sidecars = {p.name.removesuffix(".expect.json") for p in INCIDENTS.glob("*.expect.json")}
    assert logs == sidecars
    assert len(logs) >= 16


@pytest.mark.parametrize(("log", "expected"), CASES)
def test_first_finding_is_the_root_cause(log: Path, expected: Expectation) -> None:
    lines = log.read_text(encoding="utf-8").count("\n")
    assert 1 <= expected.first <= expected.last <= lines

    report = analyze([str(log)], load_settings())

    assert report.findings, f"no findings; expected lines {expected.first}-{expected.last}"
    top = report.findings[0]
    assert _hits(top, expected.first, expected.last), (
        f"findings[0] is {_describe(top)}; expected lines {expected.first}-{expected.last}: "
        f"{expected.why}"
    )
    if expected.signature_prefix is not None:
        assert top.category.startswith(expected.signature_prefix) or (
            top.signature or ""
        ).startswith(expected.signature_prefix), (
            f"findings[0] is {_describe(top)}; expected {expected.signature_prefix}*"
        )
