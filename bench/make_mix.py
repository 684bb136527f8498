"""Write a large synthetic log: a seeded mix of the 8 Loghub-2k raw logs with every digit
randomised.

Lines come in blocks of 1–50 consecutive lines of one randomly chosen system (some locality,
as in real interleaved logs); in each block every ASCII digit is replaced by a random digit
(lengths are kept), so ids, timestamps and counters do not simply repeat. Lines end in ``\\n``.
A path ending in ``.gz`` is written gzip-compressed.

    python bench/make_mix.py /tmp/mix.log                 # 1,000,000 lines
    python bench/make_mix.py /tmp/mix.log.gz --lines 200000 --seed 7
"""

from __future__ import annotations

import argparse
import gzip
import random
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import common

MAX_BLOCK = 50
_DIGITS = b"0123456789"
# byte → 0xFF where it is an ASCII digit, else 0x00 (the digit mask)
_MASK_TABLE = bytes(0xFF if c in _DIGITS else 0 for c in range(256))
_NOT_MASK_TABLE = bytes(0 if c in _DIGITS else 0xFF for c in range(256))
# random byte → ASCII digit (values 0-5 are 0.4 % more likely than 6-9; fine for a benchmark)
_RANDOM_DIGIT_TABLE = bytes(_DIGITS[c % 10] for c in range(256))


@dataclass(frozen=True)
class Source:
    """One raw log as a single ``\\n``-joined buffer with line start offsets."""

    data: bytes  # every line ends in \n
    not_mask: bytes  # 0xFF on non-digits
    mask: bytes  # 0xFF on digits
    starts: list[int]  # byte offset of each line, plus len(data) at the end

    @classmethod
    def load(cls, path: Path) -> Source:
        lines = common.split_lines(path.read_bytes())
        data = b"".join(line + b"\n" for line in lines)
        starts = [0]
        for line in lines:
            starts.append(starts[-1] + len(line) + 1)
        return cls(data, data.translate(_NOT_MASK_TABLE), data.translate(_MASK_TABLE), starts)

    @property
    def line_count(self) -> int:
        return len(self.starts) - 1


def mix_blocks(sources: list[Source], lines: int, seed: int) -> Iterator[bytes]:
    """Yield byte blocks totalling exactly ``lines`` lines."""
    rng = random.Random(seed)
    left = lines
    while left > 0:
        src = rng.choice(sources)
        size = min(left, rng.randint(1, MAX_BLOCK), src.line_count)
        first = rng.randrange(src.line_count - size + 1)
        a, b = src.starts[first], src.starts[first + size]
        n = b - a
        # out = (data AND not_mask) OR (random digits AND mask), on big integers
        keep = int.from_bytes(src.data[a:b]) & int.from_bytes(src.not_mask[a:b])
        rand = rng.randbytes(n).translate(_RANDOM_DIGIT_TABLE)
        fresh = int.from_bytes(rand) & int.from_bytes(src.mask[a:b])
        yield (keep | fresh).to_bytes(n)
        left -= size


def _write_chunks(write: Callable[[bytes], object], blocks: Iterator[bytes]) -> None:
    buf: list[bytes] = []
    size = 0
    for block in blocks:
        buf.append(block)
        size += len(block)
        if size > 1 << 22:
            write(b"".join(buf))
            buf.clear()
            size = 0
    write(b"".join(buf))


def write_mix(data: Path, out: Path, lines: int, seed: int) -> None:
    """Write the mix to ``out`` (gzip when it ends in ``.gz``)."""
    sources = [
        Source.load(common.loghub_raw_path(data, system)) for system in common.LOGHUB_SYSTEMS
    ]
    out.parent.mkdir(parents=True, exist_ok=True)
    blocks = mix_blocks(sources, lines, seed)
    if out.suffix == ".gz":
        with gzip.open(out, "wb", compresslevel=6) as gz:
            _write_chunks(gz.write, blocks)
    else:
        with out.open("wb") as fh:
            _write_chunks(fh.write, blocks)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("output", type=Path, help="output file (.gz → gzip)")
    common.add_common_args(parser, bifrost=False)
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines (default 1000000)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)

    start = time.perf_counter()
    write_mix(args.data, args.output, args.lines, args.seed)
    elapsed = time.perf_counter() - start
    size = args.output.stat().st_size
    print(
        f"wrote {args.output}: {args.lines:,} lines, {size / 1e6:.1f} MB "
        f"in {elapsed:.1f} s (seed {args.seed})"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
