"""Does ``bifrost analyze`` (and ``bifrost diff``) point at the error in real failing CI builds?

For each build of the CiDiff data set (``cidiff/<build>/fail.log``, ``pass.log``,
``groundtruth``, ``groundtruth2``):

* first finding hit: any evidence span (``line``..``end_line``) or ``first_seen.line`` of the
  first finding intersects an ``E`` range of ``groundtruth`` (``gt|2``: of either annotator);
* rank: the first finding (1-based) whose evidence hits an ``E`` range;
* touched: share of the ``E`` ranges touched by the evidence of the top 5 findings;
* shown: distinct lines shown by the evidence of the top 5 findings — the reader's budget N;
* baselines on the same budget N: the last N lines, and the last N lines matching
  ``error|exception|fail`` (case-insensitive).

Line numbers are 1-based; ``\\n``, ``\\r\\n`` and a lone ``\\r`` all end a line.

    python bench/cidiff_eval.py
    python bench/cidiff_eval.py --details
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import common

BASELINE_PATTERN = re.compile(r"error|exception|fail", re.IGNORECASE)
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")


@dataclass(frozen=True)
class Finding:
    title: str
    spans: tuple[common.Span, ...]  # evidence spans
    first_seen: int | None
    texts: tuple[tuple[int, str], ...]  # (line, evidence text)

    def hit_spans(self) -> tuple[common.Span, ...]:
        extra = () if self.first_seen is None else (common.Span(self.first_seen, self.first_seen),)
        return self.spans + extra


@dataclass(frozen=True)
class Build:
    name: str
    lines: list[str]
    gt: common.CiGroundTruth
    gt2: common.CiGroundTruth | None


@dataclass(frozen=True)
class Score:
    first_hit: bool
    first_hit_either: bool
    rank: int | None
    touched: float
    shown: int
    last_touched: float
    grep_touched: float
    findings: int


def parse_findings(report: Any, fail_name: str) -> list[Finding]:
    """Findings of a Report (``bifrost.report/v1``) in order; evidence from other files (a
    ``file`` key naming something else than fail.log) is ignored."""
    out: list[Finding] = []
    for f in report.get("findings") or []:
        spans: list[common.Span] = []
        texts: list[tuple[int, str]] = []
        for ev in f.get("evidence") or []:
            if ev.get("file") not in (None, fail_name) and not str(ev["file"]).endswith(fail_name):
                continue
            start = int(ev["line"])
            end = int(ev.get("end_line") or start)
            spans.append(common.Span(start, max(start, end)))
            texts.append((start, str(ev.get("text") or "")))
        seen = (f.get("first_seen") or {}).get("line")
        out.append(
            Finding(
                str(f.get("title", "")),
                tuple(spans),
                int(seen) if seen is not None else None,
                tuple(texts),
            )
        )
    return out


def touches(spans: Sequence[common.Span], ranges: Sequence[common.Span]) -> list[bool]:
    return [any(s.intersects(r) for s in spans) for r in ranges]


def share(flags: Sequence[bool]) -> float:
    return sum(flags) / len(flags) if flags else 0.0


def shown_lines(spans: Sequence[common.Span], total: int) -> set[int]:
    lines: set[int] = set()
    for s in spans:
        lines.update(range(max(1, s.start), min(total, s.end) + 1))
    return lines


def baseline_spans(lines: Sequence[str], budget: int, grep: bool) -> list[common.Span]:
    """The last ``budget`` lines (optionally: only lines matching the error pattern)."""
    if budget <= 0:
        return []
    numbers = [i + 1 for i, text in enumerate(lines) if not grep or BASELINE_PATTERN.search(text)]
    return [common.Span(n, n) for n in numbers[-budget:]]


def _norm(text: str) -> str:
    return " ".join(ANSI.sub("", text).replace("\r", "").split())


def text_mismatches(build: Build, findings: Sequence[Finding]) -> list[str]:
    """Evidence items whose text does not look like the line they claim to start at."""
    bad: list[str] = []
    for f in findings:
        for line, text in f.texts:
            ev = _norm(text.split("\n", 1)[0])[:40]
            if not ev:
                continue
            actual = _norm(build.lines[line - 1]) if 0 < line <= len(build.lines) else ""
            if ev not in actual and actual[:40] not in ev:
                bad.append(f"line {line}: evidence {ev!r} vs file {actual[:40]!r}")
    return bad


def score(build: Build, findings: Sequence[Finding], top: int) -> Score:
    errors = build.gt.errors
    either = errors + (build.gt2.errors if build.gt2 else ())
    first = findings[0].hit_spans() if findings else ()
    rank = next(
        (i + 1 for i, f in enumerate(findings) if any(touches(f.hit_spans(), errors))), None
    )
    top_spans = [s for f in findings[:top] for s in f.spans]
    budget = len(shown_lines(top_spans, len(build.lines)))
    return Score(
        first_hit=any(touches(first, errors)),
        first_hit_either=any(touches(first, either)),
        rank=rank,
        touched=share(touches(top_spans, errors)),
        shown=budget,
        last_touched=share(touches(baseline_spans(build.lines, budget, False), errors)),
        grep_touched=share(touches(baseline_spans(build.lines, budget, True), errors)),
        findings=len(findings),
    )


def load_build(path: Path) -> Build:
    gt2_path = path / "groundtruth2"
    return Build(
        name=path.name,
        lines=common.read_lines(path / "fail.log"),
        gt=common.read_cidiff_groundtruth(path / "groundtruth"),
        gt2=common.read_cidiff_groundtruth(gt2_path) if gt2_path.is_file() else None,
    )


def run_report(
    cmd: common.Command, args: Sequence[str], notes: list[str], label: str
) -> Any | None:
    """Run bifrost; return the parsed JSON report, or None (with a note) on error."""
    result = common.run_bifrost(cmd, args)
    if result.returncode not in (0, 1):
        notes.append(
            f"{label}: {shlex.join(result.argv[-len(args) :])} exited {result.returncode}: "
            f"{result.stderr_tail(2)}"
        )
        return None
    report = common.json_or_none(result.stdout_text())
    if not isinstance(report, dict):
        notes.append(f"{label}: output is not a JSON object")
        return None
    return report


def is_usage_error(result: common.RunResult) -> bool:
    text = result.stderr.decode("utf-8", errors="replace").lower()
    return result.returncode == 2 and (
        "usage" in text or "no such command" in text or "invalid choice" in text
    )


def print_details(build: Build, label: str, findings: Sequence[Finding], top: int) -> None:
    gt = ", ".join(str(r) for r in build.gt.errors)
    gt2 = ", ".join(str(r) for r in build.gt2.errors) if build.gt2 else "-"
    print(f"\n{build.name} · {label}: E {gt}   (gt2: E {gt2}; {len(build.lines)} lines)")
    for i, f in enumerate(findings[:top], 1):
        mark = "HIT " if any(touches(f.hit_spans(), build.gt.errors)) else "    "
        spans = ", ".join(str(s) for s in f.spans) or "-"
        print(f"  {mark}#{i} {common.shorten(f.title, 70)}  [evidence {spans}]")
        if f.texts:
            print(f"        {common.shorten(f.texts[0][1].split(chr(10), 1)[0], 100)}")
    if not findings:
        print("  (no findings)")


def evaluate(
    label: str,
    builds: Sequence[Build],
    reports: dict[str, Any],
    *,
    top: int,
    details: bool,
    notes: list[str],
) -> None:
    rows: list[list[str]] = []
    scores: list[Score] = []
    for build in builds:
        report = reports.get(build.name)
        if report is None:
            rows.append([build.name, str(len(build.lines)), str(len(build.gt.errors))])
            rows[-1] += ["error"] + [""] * 8
            continue
        findings = parse_findings(report, "fail.log")
        stated = (report.get("input") or {}).get("lines")
        if stated is not None and int(stated) != len(build.lines):
            notes.append(
                f"{label}/{build.name}: report says {stated} input lines, "
                f"ground truth counts {len(build.lines)} (line numbering differs?)"
            )
        bad = text_mismatches(build, findings[:top])
        if bad:
            notes.append(
                f"{label}/{build.name}: {len(bad)} evidence texts differ from the file line, "
                f"e.g. {bad[0]}"
            )
        if details:
            print_details(build, label, findings, top)
        s = score(build, findings, top)
        scores.append(s)
        rows.append(
            [
                build.name,
                str(len(build.lines)),
                str(len(build.gt.errors)),
                str(s.findings),
                common.fmt(s.first_hit),
                common.fmt(s.first_hit_either),
                common.fmt(s.rank),
                common.fmt(s.touched, 2),
                str(s.shown),
                common.fmt(s.last_touched, 2),
                common.fmt(s.grep_touched, 2),
                str(report.get("verdict", "")),
            ]
        )
    rows.append([])
    n = len(builds)
    rows.append(
        [
            "total / mean",
            "",
            "",
            "",
            f"{sum(s.first_hit for s in scores)}/{n}",
            f"{sum(s.first_hit_either for s in scores)}/{n}",
            f"{sum(s.rank is not None for s in scores)}/{n}",
            common.fmt(common.mean(s.touched for s in scores), 2),
            common.fmt(common.mean(s.shown for s in scores), 1),
            common.fmt(common.mean(s.last_touched for s in scores), 2),
            common.fmt(common.mean(s.grep_touched for s in scores), 2),
            "",
        ]
    )
    if details:
        print()
    common.print_table(
        [
            "build",
            "lines",
            "E",
            "finds",
            "1st hit",
            "gt|2",
            "rank",
            "touched",
            "shown",
            "touched",
            "touched",
            "verdict",
        ],
        rows,
        groups=[("", 3), (f" {label} (top {top}) ", 6), (" last N ", 1), (" grep N ", 1), ("", 1)],
        title=f"CiDiff: {label}",
    )
    print()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    parser.add_argument("--builds", nargs="+", metavar="B", help="only these build dirs")
    parser.add_argument("--top", type=int, default=5, help="findings that count (default 5)")
    parser.add_argument("--no-diff", action="store_true", help="skip bifrost diff")
    parser.add_argument(
        "--details", action="store_true", help="print each build's top findings and E ranges"
    )
    args = parser.parse_args(argv)

    cmd = common.bifrost_command(args.bifrost)
    dirs = common.cidiff_builds(args.data)
    if args.builds:
        dirs = [d for d in dirs if d.name in set(args.builds)]
    builds = [load_build(d) for d in dirs]
    notes: list[str] = []

    analyze: dict[str, Any] = {}
    for d, build in zip(dirs, builds, strict=True):
        report = run_report(
            cmd, ["analyze", str(d / "fail.log"), "--format", "json", "-n"], notes, build.name
        )
        if report is not None:
            analyze[build.name] = report
    evaluate("bifrost analyze", builds, analyze, top=args.top, details=args.details, notes=notes)

    if not args.no_diff:
        diff: dict[str, Any] = {}
        available = True
        for d, build in zip(dirs, builds, strict=True):
            diff_args = ["diff", str(d / "pass.log"), str(d / "fail.log"), "--format", "json"]
            result = common.run_bifrost(cmd, diff_args)
            if is_usage_error(result):
                notes.append(f"bifrost diff skipped: usage error ({result.stderr_tail(1).strip()})")
                available = False
                break
            if result.returncode not in (0, 1):
                notes.append(
                    f"diff/{build.name}: exited {result.returncode}: {result.stderr_tail(2)}"
                )
                continue
            report = common.json_or_none(result.stdout_text())
            if isinstance(report, dict):
                diff[build.name] = report
            else:
                notes.append(f"diff/{build.name}: output is not a JSON object")
        if available:
            evaluate("bifrost diff", builds, diff, top=args.top, details=args.details, notes=notes)

    print(f"bifrost: {cmd.describe()}")
    print(
        "1st hit: first finding's evidence or first_seen intersects an E range of groundtruth; "
        "gt|2: of groundtruth or groundtruth2;\nrank: first finding that hits (total: builds "
        "where any finding hits); touched: share "
        f"of E ranges touched by the top {args.top} findings' evidence; shown: distinct lines "
        "in that evidence = budget N;\nlast N / grep N: the last N lines / the last N lines "
        "matching error|exception|fail, with the same N."
    )
    for note in notes:
        print(f"note: {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
