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


def test_a_gzip_cut_after_some_lines_is_analysed_with_a_warning_in_the_language_asked(
    bifrost: Run, tmp_path: Path
) -> None:
    log = tmp_path / "trainer.log.gz"
    whole = gzip.compress(SAMPLE.read_bytes())
    log.write_bytes(whole[: len(whole) // 2])
    english = bifrost("analyze", str(log), "-q")
    korean = bifrost("analyze", str(log), "-q", "--lang", "ko")
    assert english.returncode == korean.returncode != 2  # what was read is analysed
    (said,) = [line for line in english.stderr.splitlines() if "warning" in line]
    assert said.startswith(f"bifrost: warning: {log}: the gzip data is truncated or corrupt (")
    assert said.endswith("); analysed what could be read")
    (translated,) = [line for line in korean.stderr.splitlines() if "warning" in line]
    assert translated.startswith(f"bifrost: warning: {log}: gzip 데이터가 잘렸거나 손상되었습니다(")
    assert translated.endswith("). 읽을 수 있는 부분만 분석했습니다")
