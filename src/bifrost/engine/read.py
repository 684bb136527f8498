"""Reading: bytes in, blocks of whole lines out — files, gzip, stdin — in bounded memory.

The engine works on large blocks of raw bytes rather than line by line, so that the common
work (splitting, shape keys, counting) happens inside C-implemented primitives. A block always
ends at a line break; a line break is `\\n`, `\\r\\n` or a lone `\\r`, as `bytes.splitlines`
counts them. Decoding happens later, and only for the few lines that need it.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import re
import select
import shutil
import stat
import sys
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, cast

from bifrost.errors import InputError
from bifrost.i18n import DEFAULT_LANGUAGE, message

STDIN = "-"
_PIECE = 1 << 20
_GZIP_MAGIC = b"\x1f\x8b"
_GZIP_PIECE = 1 << 18
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# Colour codes whose escape byte was lost on the way (`[1;31mERROR[m]` in saved CI logs).
_BARE_SGR = re.compile(r"\[\d{1,3}(?:;\d{1,3})*m")
_BARE_RESET = re.compile(r"\[0?m")
_CONTROL = str.maketrans({c: None for c in range(32) if c != 9} | {127: None})


@dataclass
class Source:
    """One input: a file path, bytes held in memory, or standard input (neither). Counts what
    was read, for the Report."""

    name: str
    path: Path | None
    spooled: bool = False  # standard input, saved to the temporary file `path`
    bytes_read: int = 0
    truncated: bool = False
    warnings: list[str] = field(default_factory=list)
    limit: int | None = None  # bytes allowed once decompressed (the server's gzip-bomb guard)
    data: bytes | None = None  # a small upload, kept in memory: no file to write and remove

    def rewind(self) -> None:
        """Forget what reading counted and warned about, to read the input again."""
        self.bytes_read, self.truncated = 0, False
        self.warnings.clear()


def open_sources(paths: list[str]) -> list[Source]:
    """Check every input up front, so a typo in the third file fails before any work is done."""
    if not paths:
        paths = [STDIN]
    sources = []
    for name in paths:
        if name == STDIN:
            sources.append(Source(name="<stdin>", path=None))
            continue
        path = Path(name)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            raise InputError.said("input.no_such_file", name=name) from None
        except OSError as exc:
            raise InputError.said("input.unreadable", name=name, reason=exc.strerror) from None
        if stat.S_ISDIR(mode):
            raise InputError.said("input.directory", name=name)
        if not os.access(path, os.R_OK):
            raise InputError.said("input.permission_denied", name=name)
        sources.append(Source(name=name, path=path))
    return sources


def blocks(
    source: Source, block_bytes: int, max_line_bytes: int, *, live: bool = False
) -> Iterator[bytes]:
    """Yield blocks of whole lines, each ending with a line break (or the end of input).

    A line longer than a whole block is cut to `max_line_bytes`: a 2 GB single-line file must
    not be held in memory (shorter long lines are cut when decoded). A gzip stream is detected
    by its magic bytes, not its name. `live` hands on the lines that have arrived as soon as
    they have, rather than a whole block: for a stream that may never end (`kubectl logs -f`).
    """
    with _decompressed(source) as stream:
        yield from _split_blocks(source, stream, block_bytes, max_line_bytes, live)


def check_text(source: Source) -> None:
    """Refuse an input that is not text before any work, as reading it would: for a server,
    which must say so before it begins to stream an answer."""
    with _decompressed(source) as stream:
        head = _read(Source(name=source.name, path=source.path, data=source.data), stream, 8192)
    _reject_binary(source, head)


def _split_blocks(
    source: Source, stream: BinaryIO, block_bytes: int, max_line_bytes: int, live: bool = False
) -> Iterator[bytes]:
    carry, skipping, first = b"", False, True
    while True:
        data = _read(source, stream, block_bytes, live)
        if first:
            _reject_binary(source, carry + data)
            first = False
        source.bytes_read += len(data)
        _check_limit(source, source.bytes_read)
        if not data:
            if carry:
                yield carry
            return
        if skipping:  # the rest of a line already cut: drop it up to its line break
            cut = _first_break(data)
            if cut < 0:
                continue
            data, skipping = data[cut:], False
        buffer = carry + data
        end = _last_break(buffer)
        if end < 0:
            carry = buffer
            if len(buffer) > max_line_bytes:
                carry, skipping = buffer[:max_line_bytes], True
                source.warnings.append(
                    message(
                        "warning.line_cut", DEFAULT_LANGUAGE, name=source.name, limit=max_line_bytes
                    )
                )
            continue
        carry = buffer[end:]
        yield buffer[:end]


def _read(source: Source, stream: BinaryIO, size: int, live: bool = False) -> bytes:
    """Up to `size` bytes; a corrupt or truncated gzip ends the input with what was read.

    `Gunzip` hands over every byte it could decompress before it reports the break. `live`
    waits only for the first bytes, then takes what else is there already.
    """
    if source.truncated:
        return b""
    pieces: list[bytes] = []
    wanted = size
    read = stream.read1 if live and isinstance(stream, io.BufferedReader) else stream.read
    while wanted > 0:
        try:
            piece = read(min(wanted, _PIECE))
        except (EOFError, zlib.error) as exc:
            source.truncated = True
            source.warnings.append(
                message("warning.truncated", DEFAULT_LANGUAGE, name=source.name, problem=exc)
            )
            break
        if not piece:
            break
        pieces.append(piece)
        wanted -= len(piece)
        if live and not _more_ready(stream):
            break
    return b"".join(pieces)


def _more_ready(stream: BinaryIO) -> bool:
    """Whether a live stream has more bytes now, without waiting (a file always has)."""
    return bool(select.select([stream], [], [], 0)[0])


class Gunzip:
    """Decompresses gzip (every member) piece by piece, keeping every byte before a break.

    `gzip.GzipFile.read` drops the piece it was decoding when the data ends early or is
    corrupt; here the bytes decoded so far are returned first, and the error is raised by the
    next read. A read that decoded nothing raises it at once: an empty read means the end.
    """

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._member = zlib.decompressobj(wbits=31)
        self._pending = b""  # compressed bytes of the next member
        self._error: Exception | None = None

    def read(self, size: int) -> bytes:
        parts: list[bytes] = []
        have = 0
        while have < size and self._error is None:
            piece = self._decompress(size - have)
            if piece is None:
                break
            parts.append(piece)
            have += len(piece)
        if not have and self._error is not None:
            raise self._error
        return b"".join(parts)

    def _decompress(self, limit: int) -> bytes | None:
        """At most `limit` more bytes (maybe none yet); None at the end or at a break."""
        data = self._member.unconsumed_tail or self._pending or self._raw.read(_GZIP_PIECE)
        self._pending = b""
        if not data:
            if not self._member.eof:
                self._error = EOFError("compressed file ended before the end-of-stream marker")
            return None
        try:
            piece = self._member.decompress(data, limit)
        except zlib.error as exc:
            self._error = exc
            return None
        if self._member.eof:
            rest = self._member.unused_data
            if rest.strip(b"\0"):  # another member follows (trailing NUL padding is ignored)
                self._member, self._pending = zlib.decompressobj(wbits=31), rest
        return piece


def _check_limit(source: Source, size: int) -> None:
    if source.limit is not None and size > source.limit:
        raise InputError.said("input.too_large", name=source.name, limit=f"{source.limit:,}")


def _first_break(data: bytes) -> int:
    """Index of the first line-break byte, or -1."""
    found = [i for i in (data.find(b"\n"), data.find(b"\r")) if i >= 0]
    return min(found) if found else -1


def _last_break(buffer: bytes) -> int:
    """Index just past the last complete line, or -1.

    A trailing `\r` may be the first half of `\r\n`, so it waits for the next block.
    """
    end = max(buffer.rfind(b"\n"), buffer.rfind(b"\r", 0, len(buffer) - 1))
    return end + 1 if end >= 0 else -1


def _reject_binary(source: Source, head: bytes) -> None:
    """Refuse input that is not text: more than 10% of the first 8 KiB are NUL/control bytes."""
    sample = head[:8192]
    if not sample:
        return
    control = sum(sample.count(bytes([c])) for c in (*range(9), *range(14, 27), *range(28, 32)))
    if control > len(sample) // 10:
        raise InputError.said("input.binary", name=source.name)


def decode(line: bytes) -> str:
    """Text of one line: invalid UTF-8 replaced, ANSI colour codes and control bytes removed."""
    text = line.decode("utf-8", "replace")
    if "\x1b" in text:
        text = _ANSI.sub("", text)
    if "m" in text and _BARE_SGR.search(text):
        text = _BARE_RESET.sub("", _BARE_SGR.sub("", text))
    return text.translate(_CONTROL)


def spool_stdin(sources: list[Source]) -> None:
    """Save standard input to a temporary file, so that it can be read twice (hash, scan).

    The caller removes it with `discard_spools` when done.
    """
    for source in sources:
        if source.path is None and source.data is None:
            with (
                _open(source) as stdin,
                tempfile.NamedTemporaryFile(prefix="bifrost-stdin-", delete=False) as spool,
            ):
                shutil.copyfileobj(stdin, spool, _PIECE)
            source.path, source.spooled = Path(spool.name), True


def discard_spools(sources: list[Source]) -> None:
    """Remove the temporary files of spooled inputs (once: a second call does nothing)."""
    for source in sources:
        if source.spooled and source.path is not None:
            source.path.unlink(missing_ok=True)
            source.spooled = False


def fingerprint(sources: list[Source]) -> str:
    """SHA-256 of the decompressed content of every input, in order: the cache's key.

    Opens the inputs on its own (standard input must be spooled first), so it can run on a
    second thread while the scan reads them too; a corrupt gzip ends its input here as there.
    """
    digest = hashlib.sha256()
    for source in sources:
        size = 0
        with _decompressed(source) as stream, contextlib.suppress(EOFError, zlib.error):
            while piece := stream.read(_PIECE):
                digest.update(piece)
                size += len(piece)
                _check_limit(source, size)
        digest.update(f"\0{size}\0".encode())  # where one input ends and the next begins
    return digest.hexdigest()


@contextlib.contextmanager
def _decompressed(source: Source) -> Iterator[BinaryIO]:
    """The input's bytes, gunzipped when they are gzip (told by its magic bytes, not its name)."""
    with _open(source) as raw:
        yield cast(BinaryIO, Gunzip(raw)) if raw.peek(2)[:2] == _GZIP_MAGIC else raw


def _open(source: Source) -> contextlib.AbstractContextManager[io.BufferedReader]:
    if source.data is not None:
        return io.BufferedReader(cast(io.RawIOBase, io.BytesIO(source.data)))
    if source.path is None:
        if sys.stdin is None:
            raise InputError.said("input.none")
        return contextlib.nullcontext(cast(io.BufferedReader, sys.stdin.buffer))
    try:
        return source.path.open("rb")
    except OSError as exc:
        raise InputError.said("input.cannot_open", name=source.name, reason=exc.strerror) from None
