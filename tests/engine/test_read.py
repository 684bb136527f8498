"""Reading: every kind of input becomes blocks of whole lines, or one clear error."""

import gzip
from pathlib import Path

import pytest

from bifrost.analysis import analyze
from bifrost.config import load_settings
from bifrost.engine.read import Source, blocks, decode, fingerprint, open_sources
from bifrost.errors import InputError


def read_all(path: Path, block_bytes: int = 1 << 20, max_line: int = 1 << 16) -> list[bytes]:
    source = open_sources([str(path)])[0]
    return b"".join(blocks(source, block_bytes, max_line)).splitlines()


def test_line_breaks_are_lf_crlf_and_lone_cr(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_bytes(b"one\r\ntwo\rthree\nfour")
    assert read_all(log) == [b"one", b"two", b"three", b"four"]


def test_small_blocks_never_split_a_line_or_a_crlf(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    lines = [f"line {i} {'x' * (i % 13)}".encode() for i in range(500)]
    log.write_bytes(b"\r\n".join(lines) + b"\r\n")
    source = open_sources([str(log)])[0]
    got = list(blocks(source, 4096, 1 << 16))
    assert all(block.endswith((b"\n", b"\r")) for block in got)
    assert b"".join(got).splitlines() == lines
    assert source.bytes_read == log.stat().st_size


def test_gzip_is_detected_by_content(tmp_path: Path) -> None:
    log = tmp_path / "rotated.1"  # no .gz suffix
    log.write_bytes(gzip.compress(b"alpha\nbeta\n"))
    assert read_all(log) == [b"alpha", b"beta"]


def test_truncated_gzip_keeps_what_was_read_and_warns(tmp_path: Path) -> None:
    payload = gzip.compress(b"".join(f"line {i}\n".encode() for i in range(50_000)))
    log = tmp_path / "cut.log.gz"
    log.write_bytes(payload[: len(payload) // 2])
    source = open_sources([str(log)])[0]
    lines = b"".join(blocks(source, 1 << 12, 1 << 16)).splitlines()
    assert lines[:2] == [b"line 0", b"line 1"]
    assert len(lines) > 1000
    assert any("truncated" in w for w in source.warnings)


def test_a_small_truncated_gzip_loses_none_of_the_lines_it_holds(tmp_path: Path) -> None:
    text = b"".join(
        f"2024-05-01 12:00:{i % 60:02} ERROR step {i} failed\n".encode() for i in range(40)
    )
    payload = gzip.compress(text)
    log = tmp_path / "cut.gz"
    log.write_bytes(payload[: len(payload) - 20])  # the end marker and the last bytes lost
    source = open_sources([str(log)])[0]
    lines = b"".join(blocks(source, 1 << 20, 1 << 16)).splitlines()
    assert len(lines) >= 35  # everything but what the lost bytes held
    assert text.startswith(b"\n".join(lines[:-1]))
    assert any("truncated" in w for w in source.warnings)


def test_every_member_of_a_concatenated_gzip_is_read(tmp_path: Path) -> None:
    log = tmp_path / "two.gz"
    log.write_bytes(gzip.compress(b"alpha\n") + gzip.compress(b"beta\n") + b"\0" * 8)
    assert read_all(log) == [b"alpha", b"beta"]


@pytest.mark.parametrize("cut", [2, 5, 10, 15, 30])  # 2, 5: inside the 10-byte header
def test_a_gzip_cut_before_its_first_line_is_truncated_not_empty(tmp_path: Path, cut: int) -> None:
    text = b"".join(
        f"2024-05-01 12:00:{i % 60:02} ERROR step {i} failed\n".encode() for i in range(40)
    )
    log = tmp_path / "cut.gz"
    log.write_bytes(gzip.compress(text)[:cut])  # zlib decodes nothing before byte 51
    source = open_sources([str(log)])[0]
    assert list(blocks(source, 1 << 20, 1 << 16)) == []
    assert source.truncated
    assert any("truncated" in w for w in source.warnings)


def test_gzip_with_nothing_readable_says_it_is_corrupt(tmp_path: Path) -> None:
    log = tmp_path / "bad.gz"
    log.write_bytes(b"\x1f\x8b\x08\x00" + b"not deflate at all" * 4)
    with pytest.raises(InputError, match=r"bad\.gz: the gzip data is truncated or corrupt"):
        analyze([str(log)], load_settings())


def test_a_limit_refuses_what_a_small_gzip_expands_to(tmp_path: Path) -> None:
    log = tmp_path / "bomb.gz"
    log.write_bytes(gzip.compress(b"ERROR the same line again\n" * 100_000))  # 2.6 MB, 10 kB
    assert log.stat().st_size < 20_000
    source = open_sources([str(log)])[0]
    source.limit = 1_000_000
    with pytest.raises(InputError, match=r"more than 1,000,000 bytes once decompressed"):
        fingerprint([source])
    with pytest.raises(InputError, match=r"more than 1,000,000 bytes once decompressed"):
        list(blocks(source, 1 << 16, 1 << 16))
    source = open_sources([str(log)])[0]  # no limit (the CLI): read in full
    assert sum(block.count(b"\n") for block in blocks(source, 1 << 16, 1 << 16)) == 100_000


def test_long_lines_are_cut_not_held_in_memory(tmp_path: Path) -> None:
    log = tmp_path / "long.log"
    log.write_bytes(b"before\n" + b"x" * 100_000 + b"\nafter\n")
    source = open_sources([str(log)])[0]
    lines = b"".join(blocks(source, 4096, 1000)).splitlines()
    assert lines == [b"before", b"x" * 1000, b"after"]
    assert source.warnings


def test_binary_input_is_refused(tmp_path: Path) -> None:
    blob = tmp_path / "core"
    blob.write_bytes(bytes(range(256)) * 64)
    with pytest.raises(InputError, match="binary"):
        read_all(blob)


def test_missing_file_and_directory_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        open_sources([str(tmp_path / "nope.log")])
    with pytest.raises(InputError, match="is a directory"):
        open_sources([str(tmp_path)])


def test_no_paths_means_stdin() -> None:
    assert open_sources([]) == [Source(name="<stdin>", path=None)]


def test_decode_replaces_invalid_utf8_and_strips_ansi_and_controls() -> None:
    assert decode(b"\x1b[31mERROR\x1b[0m bad \xff byte\x07") == "ERROR bad \ufffd byte"
    assert decode(b"tab\tkept") == "tab\tkept"
