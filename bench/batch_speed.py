"""Throughput of `bifrost batch` with one worker process and with two.

Generates ``--files`` logs (default 500) of 2,000–20,000 lines each from the Loghub mix
(``make_mix.py``: real lines, digits randomised, seeded), three of them corrupt: binary bytes,
a truncated gzip (the engine reads what precedes the cut and warns) and an unreadable file
(mode 000; as root, which reads any file, a dangling symlink instead). Then times the batch use
case (``bifrost.analysis.batch.run_batch``: expansion aside, what the command runs, worker start-up
included) for each ``-j``, and prints files/s, lines/s, the speed-up over the first ``-j`` and
how many files were analysed, analysed with a warning, or failed. Figures only; nothing is
asserted.

    python bench/batch_speed.py
    python bench/batch_speed.py --files 100 --jobs 1 2 4
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

import common
import make_mix

sys.path.insert(0, str(common.REPO_ROOT / "src"))  # the working tree, installed or not

from bifrost.analysis.batch import Batch, expand, run_batch
from bifrost.config import load_settings


def generate(folder: Path, files: int, data: Path, seed: int) -> int:
    """Write the logs (three corrupt); return the number of lines written."""
    sources = [
        make_mix.Source.load(common.loghub_raw_path(data, system))
        for system in common.LOGHUB_SYSTEMS
    ]
    rng = random.Random(seed)
    total = 0
    for n in range(files - 3):
        lines = rng.randint(2_000, 20_000)
        (folder / f"pod-{n:03d}.log").write_bytes(
            b"".join(make_mix.mix_blocks(sources, lines, seed + n))
        )
        total += lines
    (folder / "corrupt-binary.log").write_bytes(rng.randbytes(64 << 10))
    packed = gzip.compress(b"".join(make_mix.mix_blocks(sources, 20_000, seed - 1)))
    (folder / "corrupt-truncated.log").write_bytes(packed[: len(packed) * 3 // 4])
    unreadable = folder / "corrupt-unreadable.log"
    if os.geteuid() == 0:
        unreadable.symlink_to(folder / "vanished.log")
    else:
        unreadable.write_bytes(b"2024-05-01 10:00:00 ERROR secret\n")
        unreadable.chmod(0)
    return total


def counts(batch: Batch) -> tuple[int, int, int, int]:
    """(analysed cleanly, analysed with a warning, failed, lines analysed)."""
    reports = [r.report for r in batch.files if r.report is not None]
    warned = sum(bool(r.warnings) for r in reports)
    return (
        len(reports) - warned,
        warned,
        len(batch.files) - len(reports),
        sum(r.input.lines for r in reports),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, bifrost=False)
    parser.add_argument("--files", type=int, default=500, help="logs to generate (default 500)")
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2], help="-j values (1 2)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    args = parser.parse_args(argv)
    common.check_data_dir(args.data, "loghub-2k")

    with tempfile.TemporaryDirectory(prefix="bifrost-batch-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        written = generate(folder, args.files, args.data, args.seed)
        size = sum(p.stat().st_size for p in folder.iterdir() if not p.is_symlink())
        print(
            f"{args.files} files, {written:,} lines, {size / 1e6:.0f} MB generated in "
            f"{time.perf_counter() - started:.1f} s; {os.cpu_count()} cores, "
            f"Python {platform.python_version()}",
            file=sys.stderr,
        )
        inputs = expand([str(folder)])
        settings = load_settings()
        rows, first = [], None
        for jobs in args.jobs:
            started = time.perf_counter()
            batch = run_batch(inputs, settings, jobs)
            wall = time.perf_counter() - started
            first = first or wall
            ok, warned, failed, lines = counts(batch)
            rows.append(
                [
                    str(jobs),
                    f"{wall:.1f}",
                    f"{len(inputs) / wall:.1f}",
                    f"{lines / wall / 1e6:.2f}",
                    f"{first / wall:.2f}×",
                    str(ok),
                    str(warned),
                    str(failed),
                ]
            )
        common.print_table(
            ["-j", "wall s", "files/s", "M lines/s", "speed-up", "analysed", "warning", "failed"],
            rows,
            title=f"bifrost batch over {len(inputs)} files",
        )
        for result in batch.files:
            if result.report is None or result.report.warnings:
                problem = result.error or "; ".join(result.report.warnings if result.report else [])
                problem = problem.removeprefix(f"{result.path}: ")
                print(f"  {Path(result.path).name}: {common.shorten(problem, 100)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
