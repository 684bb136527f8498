"""Signature precision: every signature runs over real logs that did not fail (CiDiff's passing
builds) and over the Loghub samples, and may only match where a person checked that the match
is right. A new match is a false alarm until it is listed, with the reason, in
`tests/data/signature_matches.json`; a listed match that disappeared must be removed."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from bifrost.engine.read import decode
from bifrost.engine.signatures import match
from tests import benchmarks

EXPECTED = Path(__file__).parents[1] / "data" / "signature_matches.json"


def _logs(root: Path) -> list[Path]:
    passing = sorted((root / "cidiff").glob("*/pass.log"))
    loghub = sorted((root / "loghub-2k").glob("*/*_2k.log"))
    assert passing, f"no passing CiDiff builds under {root}"
    assert loghub, f"no Loghub samples under {root}"
    return passing + loghub


def _matches(root: Path) -> Counter[tuple[str, str]]:
    found: Counter[tuple[str, str]] = Counter()
    for log in _logs(root):
        name = log.relative_to(root).as_posix()
        for raw in log.read_bytes().splitlines():
            signature = match(decode(raw))
            if signature is not None:
                found[(name, signature.id)] += 1
    return found


def test_signatures_match_passing_and_sample_logs_only_where_listed() -> None:
    root = benchmarks.require(benchmarks.root())
    expected = {
        (entry["log"], entry["signature"]): entry["lines"]
        for entry in json.loads(EXPECTED.read_text(encoding="utf-8"))
    }
    found = _matches(root)
    unexpected = {key: n for key, n in found.items() if expected.get(key) != n}
    gone = {key: n for key, n in expected.items() if key not in found}
    assert not unexpected, f"matches not listed (or with another count): {unexpected}"
    assert not gone, f"listed matches that no longer happen: {gone}"


def test_every_listed_match_says_why() -> None:
    for entry in json.loads(EXPECTED.read_text(encoding="utf-8")):
        assert set(entry) == {"log", "signature", "lines", "why"}
        assert len(entry["why"]) > 20
