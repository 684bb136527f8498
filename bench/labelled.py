"""Labelled failure logs for fitting and scoring the ranker, scanned in this process.

Each case is one failing log with the line ranges a person marked as the cause:

- logchunks-dev: Travis CI logs of 32 projects, the chunk that explains the failure;
- cidiff: failing Java builds, the `E` ranges of `groundtruth`;
- incidents: the realistic incident logs of `tests/data/incidents` (Kubernetes, GPU training,
  CI, services), each its own project, the lines its sidecar names as the root cause.

Scans are cached on disk (pickle, keyed by the engine's source files), since scanning is the
slow part and the ranker is refitted many times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import pickle
import tempfile
from dataclasses import dataclass
from pathlib import Path

import common
from bifrost.engine.read import open_sources
from bifrost.engine.scan import Scan, Scanner
from bifrost.report import Finding

ENGINE_DIR = common.REPO_ROOT / "src" / "bifrost" / "engine"


@dataclass(frozen=True)
class Case:
    id: str
    project: str
    language: str
    path: Path
    spans: tuple[tuple[int, int], ...]  # 1-based inclusive line ranges that explain the failure


def logchunks(data: Path) -> list[Case]:
    folder = common.check_data_dir(data, "logchunks-dev")
    cases = []
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        raw = json.loads(line)
        first, last = raw["chunk_span"]
        cases.append(
            Case(
                id=raw["id"],
                project=raw["project"],
                language=raw["language"],
                path=folder / f"{raw['id']}.log",
                spans=((int(first), int(last)),),
            )
        )
    return cases


def logchunks_for_a_model(description: str) -> tuple[argparse.Namespace, list[Case]]:
    """The arguments of a bench that asks a real model (`common.add_llm_args`), and every
    k-th case of logchunks-dev."""
    parser = argparse.ArgumentParser(description=description)
    common.add_common_args(parser, bifrost=False)
    common.add_llm_args(parser)
    args = parser.parse_args()
    return args, logchunks(args.data)[:: args.every]


def cidiff(data: Path) -> list[Case]:
    cases = []
    for build in common.cidiff_builds(data):
        truth = common.read_cidiff_groundtruth(build / "groundtruth")
        cases.append(
            Case(
                id=f"cidiff-{build.name}",
                project=f"cidiff/{build.name}",
                language="Java",
                path=build / "fail.log",
                spans=tuple((s.start, s.end) for s in truth.errors),
            )
        )
    return cases


INCIDENTS = common.REPO_ROOT / "tests" / "data" / "incidents"


def incidents() -> list[Case]:
    cases = []
    for log in sorted(INCIDENTS.glob("*.log")):
        expect = json.loads(log.with_suffix(".expect.json").read_text(encoding="utf-8"))
        first, last = expect["first_finding_lines"]
        cases.append(
            Case(
                id=f"incident-{log.stem}",
                project=f"incident/{log.stem}",
                language="incident",
                path=log,
                spans=((int(first), int(last)),),
            )
        )
    return cases


def scan(path: Path) -> Scan:
    """Scan one log as `bifrost analyze` does."""
    return Scanner().scan(open_sources([str(path)]), 1 << 20)


def scans(cases: list[Case]) -> dict[str, Scan]:
    """Every case's scan, from the cache when the engine has not changed since."""
    digest = hashlib.sha256()
    for source in sorted(ENGINE_DIR.glob("*.py")):
        digest.update(source.read_bytes())
    for case in cases:
        digest.update(str(case.path).encode())
    cache = Path(tempfile.gettempdir()) / f"bifrost-scans-{digest.hexdigest()[:16]}.pickle"
    if cache.exists():
        found: dict[str, Scan] = pickle.loads(cache.read_bytes())
        return found
    result = {case.id: scan(case.path) for case in cases}
    cache.write_bytes(pickle.dumps(result))
    return result


def evidence_lines(finding: Finding) -> set[int]:
    lines: set[int] = set()
    for item in finding.evidence:
        lines.update(range(item.line, item.end_line + 1))
    return lines


@dataclass(frozen=True)
class Hits:
    """How one case was answered: as `logchunks-dev/score.py` counts it."""

    hit1: bool
    hit5: bool
    shown: int


def hits(case: Case, findings: list[Finding]) -> Hits:
    wanted: set[int] = set()
    for first, last in case.spans:
        wanted.update(range(first, last + 1))
    per_finding = [evidence_lines(f) for f in findings[:5]]
    shown = set().union(*per_finding) if per_finding else set()
    return Hits(
        hit1=bool(per_finding and per_finding[0] & wanted),
        hit5=any(lines & wanted for lines in per_finding),
        shown=len(shown),
    )
