"""Where the shared benchmark data is, for the tests that read real public logs.

`BIFROST_BENCHMARKS` when set; otherwise `shared/benchmarks` beside the checkout or beside any
folder above it (a clean clone for CI may live deeper than the working copy). Missing data
fails a test under CI (`CI=true`) and skips it elsewhere, saying where it looked.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

_CHECKOUT = Path(__file__).resolve().parents[1]


def root() -> Path:
    """The benchmark folder (it may not exist: see `require`)."""
    configured = os.environ.get("BIFROST_BENCHMARKS")
    if configured:
        return Path(configured)
    for folder in _CHECKOUT.parents:
        candidate = folder / "shared" / "benchmarks"
        if candidate.is_dir():
            return candidate
    return _CHECKOUT.parent / "shared" / "benchmarks"


def require(path: Path) -> Path:
    """`path`, or fail (in CI) or skip the test when it is missing."""
    if not path.exists():
        message = f"benchmark data not found at {path} (set BIFROST_BENCHMARKS)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    return path
