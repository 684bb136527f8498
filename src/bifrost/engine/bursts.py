"""Bursts: is a template's output concentrated in one short stretch of the log?

An error that appears 400 times within a few hundred lines (a storm after a dependency went
away) matters more than the same count spread evenly over a day. Positions are line numbers:
every log has them, timestamps are optional. Memory is bounded: every template has the same
64 buckets, whose common width doubles as the log grows.
"""

from __future__ import annotations

BUCKETS = 64
_MIN_COUNT = 5  # fewer occurrences than this are never a burst


def bucket_shift(last_line: int, shift: int) -> int:
    """The smallest shift ≥ `shift` that puts `last_line` into one of the buckets."""
    while last_line >> shift >= BUCKETS:
        shift += 1
    return shift


def widen(counts: list[int], times: int) -> list[int]:
    """The counts with each bucket `2**times` times as wide."""
    for _ in range(times):
        merged = [counts[i] + counts[i + 1] for i in range(0, BUCKETS, 2)]
        counts = merged + [0] * (BUCKETS - len(merged))
    return counts


def burst(counts: list[int], shift: int, total_lines: int) -> float:
    """0 for output spread like the log itself, up to 1 when it all falls in one short stretch.

    The share of occurrences in the busiest bucket, less the share of the log that bucket
    covers.
    """
    total = sum(counts)
    width = 1 << shift
    if total < _MIN_COUNT or total_lines <= width:
        return 0.0
    span = width / total_lines
    return max(0.0, max(counts) / total - span) if span < 0.25 else 0.0
