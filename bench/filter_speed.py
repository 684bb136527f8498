"""Speed and peak memory of ``bifrost filter --level error`` next to Drain3 and ``analyze``.

Generates (``make_mix.py``) or takes (``--mix``) a log, cuts it to each size of ``--sizes``
(default 100k and 1M lines), and runs at each size, each in its own subprocess (wall time and
peak RSS from ``os.wait4``), ``--rounds`` times (the median is shown):

* Drain3, default configuration, one ``add_log_message`` per line (skip with ``--skip-drain``);
* ``bifrost analyze FILE -n``: the analysis, nothing stored, for the cost per line;
* ``bifrost filter FILE --level error`` (output to /dev/null), then from standard input (read
  as a live stream), and ``--format jsonl`` (template ids read first: two passes).

The speed-up is the ratio of lines per second to Drain3's at the same size, in the same run;
peak RSS at two sizes shows whether memory grows with the lines. Figures only; nothing is
asserted.

    python bench/filter_speed.py --bifrost .venv/bin/bifrost
    python bench/filter_speed.py --sizes 100000 --rounds 1 --skip-drain
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import common
from speed import Row, add_mix_arguments, median_of, mix_logs, print_footer, run_drain

SIZES = (100_000, 1_000_000)


def run_filter(
    cmd: common.Command, path: Path, lines: int, extra: tuple[str, ...], *, stdin: bool = False
) -> Row:
    """`bifrost filter` with `extra` options, its output thrown away (exit 1: nothing kept)."""
    name = "bifrost filter " + " ".join(extra) + (" < stdin" if stdin else "")
    args = ["filter", *extra] if stdin else ["filter", str(path), *extra]
    result = common.run_bifrost(
        cmd, args, stdin_path=path if stdin else None, stdout_path=Path(os.devnull)
    )
    if result.returncode not in (0, 1):
        return Row(name, lines, None, None, None, result.stderr_tail(1))
    return Row(name, lines, result.wall_s, result.max_rss_mb, None)


def run_analyze(cmd: common.Command, path: Path, lines: int) -> Row:
    result = common.run_bifrost(cmd, ["analyze", str(path), "-n", "-q"])
    if result.returncode not in (0, 1):
        return Row("bifrost analyze -n", lines, None, None, None, result.stderr_tail(1))
    return Row("bifrost analyze -n", lines, result.wall_s, result.max_rss_mb, None)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    add_mix_arguments(parser, SIZES)
    args = parser.parse_args(argv)

    sizes = sorted({int(n) for n in args.sizes.split(",")})
    cmd = common.bifrost_command(args.bifrost)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bifrost-filter-speed-") as tmp_dir:
        for n, path in mix_logs(args, sizes, Path(tmp_dir)).items():
            print(f"{n:,} lines …", file=sys.stderr)
            if not args.skip_drain:
                rows.append(median_of(args.rounds, partial(run_drain, path, n)))
            rows.append(median_of(args.rounds, partial(run_analyze, cmd, path, n)))
            for extra, stdin in (
                (("--level", "error"), False),
                (("--level", "error"), True),
                (("--level", "error", "--format", "jsonl"), False),
            ):
                run = partial(run_filter, cmd, path, n, extra, stdin=stdin)
                rows.append(median_of(args.rounds, run))

    drain_rate = {
        r.lines: r.lines / r.seconds for r in rows if r.tool.startswith("drain3") and r.seconds
    }
    table: list[list[str]] = []
    for r in rows:
        rate = r.lines / r.seconds if r.seconds and r.lines else None
        speedup = rate / drain_rate[r.lines] if rate and r.lines in drain_rate else None
        table.append(
            [
                r.tool,
                f"{r.lines:,}",
                common.fmt(r.seconds, 3),
                f"{rate:,.0f}" if rate else "-",
                common.fmt(r.rss_mb, 0),
                f"{speedup:.1f}×" if speedup else "-",
                r.note if r.seconds else f"FAILED: {r.note}",
            ]
        )
    common.print_table(
        ["tool", "lines", "seconds", "lines/s", "peak RSS MB", "vs Drain3", "note"],
        table,
        left=(0, 6),
        title=(
            f"filter on a Loghub mix (digits randomised, seed {args.seed}); median of "
            f"{args.rounds} rounds"
        ),
    )
    print_footer(cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
