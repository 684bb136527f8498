"""A gzip cut before its first line is a broken gzip, not an empty log."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests.conftest import Run

SAMPLE = Path(__file__).parents[2] / "src/bifrost/samples/trainer.log"


@pytest.mark.parametrize("cut", [5, 10, 15, 30])  # 5: inside the 10-byte header
def test_a_gzip_cut_before_any_line_says_so(bifrost: Run, tmp_path: Path, cut: int) -> None:
    log = tmp_path / "trainer.log.gz"
    log.write_bytes(gzip.compress(SAMPLE.read_bytes())[:cut])
    result = bifrost("analyze", str(log))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.splitlines()
    assert line.startswith(f"bifrost: error: {log}: "), line
    assert "gzip" in line, line
    assert "truncated" in line or "corrupt" in line, line
    assert "empty" not in line, line
