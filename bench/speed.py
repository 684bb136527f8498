"""Speed and peak memory of Bifrost next to Drain3, at every size from 1k lines, and its
start-up.

Generates (``make_mix.py``) or takes (``--mix``) a log, cuts it to each size of ``--sizes``
(default 1k, 10k, 100k and 1M lines), and runs at each size, each in its own subprocess (wall
time and peak RSS from ``os.wait4``), ``--rounds`` times (the median is shown):

* Drain3, default configuration, one ``add_log_message`` per line (skip with ``--skip-drain``);
* ``bifrost analyze FILE --format json --no-cache``: analysed afresh and stored in the history,
  as a user runs it; and ``analyze -n`` (nothing stored);
* at the largest size, a cached repeat of ``analyze`` and ``templates --format jsonl``.

Then the start-up: ``--version``, ``--help`` and ``analyze --sample`` with and without
storing. Times are end to end (interpreter start and imports included); the speed-up is the
ratio of lines per second to Drain3's at the same size, in the same run. Figures only;
nothing is asserted.

    python bench/speed.py --bifrost .venv/bin/bifrost
    python bench/speed.py --sizes 1000,10000 --rounds 5 --skip-drain
"""

from __future__ import annotations

import argparse
import gzip
import io
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import common
import make_mix

SIZES = (1_000, 10_000, 100_000, 1_000_000)


@dataclass(frozen=True)
class Row:
    tool: str
    lines: int
    seconds: float | None
    rss_mb: float | None
    templates: int | None
    note: str = ""


def open_log(path: Path) -> gzip.GzipFile | io.BufferedReader:
    return gzip.open(path, "rb") if path.suffix == ".gz" else path.open("rb")


def drain_worker(path: Path) -> int:
    """Run Drain3 over every line of ``path`` and print a JSON summary (subprocess side)."""
    miner = common.drain3_miner()
    start = time.perf_counter()
    n = 0
    with open_log(path) as fh:
        for raw in fh:
            miner.add_log_message(raw.decode("utf-8", errors="replace").rstrip("\r\n"))
            n += 1
    loop = time.perf_counter() - start
    print(json.dumps({"lines": n, "clusters": len(miner.drain.clusters), "loop_s": loop}))
    return 0


def count_file_lines(path: Path) -> int:
    n = 0
    with open_log(path) as fh:
        while chunk := fh.read(1 << 24):
            n += chunk.count(b"\n")
    return n


def write_head(src: Path, dest: Path, lines: int) -> None:
    """Copy the first ``lines`` lines of ``src`` (gzip or not) to an uncompressed ``dest``."""
    with open_log(src) as fh, dest.open("wb") as out:
        for i, raw in enumerate(fh):
            if i >= lines:
                break
            out.write(raw)


def run_drain(path: Path, lines: int) -> Row:
    cmd = common.Command((sys.executable, str(Path(__file__).resolve()), "--drain-worker"))
    result = common.run_measured(cmd, [str(path)])
    if result.returncode != 0:
        return Row("drain3 (default)", lines, None, None, None, result.stderr_tail(1))
    info = json.loads(result.stdout_text())
    return Row(
        "drain3 (default)",
        int(info["lines"]),
        result.wall_s,
        result.max_rss_mb,
        int(info["clusters"]),
        f"loop alone {info['loop_s']:.1f} s",
    )


def run_analyze(cmd: common.Command, path: Path, lines: int, extra: tuple[str, ...] = ()) -> Row:
    """`bifrost analyze --format json` as a user runs it: analysed afresh (`--no-cache`, so a
    repeat is not answered from the cache) and stored in the history, unless `extra` says."""
    result = common.run_bifrost(cmd, ["analyze", str(path), "--format", "json", *extra])
    report = common.json_or_none(result.stdout_text())
    if result.returncode not in (0, 1) or not isinstance(report, dict):
        return Row("bifrost analyze", lines, None, None, None, result.stderr_tail(1))
    stats = report.get("stats", {})
    templates = stats.get("templates")
    elapsed = stats.get("elapsed_s")
    note = f"engine {float(elapsed):.1f} s" if elapsed is not None else ""
    if "--no-cache" not in extra and "-n" not in extra:
        note = "answered from the cache"
    name = "bifrost analyze" + (" -n" if "-n" in extra else "")
    if "--no-cache" not in extra and "-n" not in extra:
        name += " (cached)"
    return Row(
        name,
        lines,
        result.wall_s,
        result.max_rss_mb,
        int(templates) if templates is not None else None,
        note,
    )


def run_templates(cmd: common.Command, path: Path, lines: int) -> Row:
    result = common.run_bifrost(
        cmd, ["templates", str(path), "--format", "jsonl"], stdout_path=Path(os.devnull)
    )
    if result.returncode != 0:
        return Row("bifrost templates", lines, None, None, None, result.stderr_tail(1))
    return Row("bifrost templates", lines, result.wall_s, result.max_rss_mb, None, "jsonl")


def median_of(rounds: int, run: Callable[[], Row]) -> Row:
    """Run ``rounds`` times; the median time, with the highest peak RSS seen."""
    rows = [run() for _ in range(max(1, rounds))]
    ok = [r for r in rows if r.seconds is not None]
    if len(ok) < len(rows):
        return next(r for r in rows if r.seconds is None)
    seconds = statistics.median(r.seconds or 0.0 for r in ok)
    return replace(ok[0], seconds=seconds, rss_mb=max(r.rss_mb or 0.0 for r in ok))


def run_startup(cmd: common.Command, name: str, args: list[str]) -> Row:
    result = common.run_bifrost(cmd, args)
    if result.returncode not in (0, 1):
        return Row(name, 0, None, None, None, result.stderr_tail(1))
    return Row(name, 0, result.wall_s, result.max_rss_mb, None)


def print_footer(cmd: common.Command) -> None:
    """What ran, and on what machine, under a table of timings."""
    print(f"bifrost: {cmd.describe()}")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python "
        f"{platform.python_version()}; wall time end to end incl. start-up; "
        "vs Drain3 = ratio of lines/s at the same size"
    )


def add_mix_arguments(parser: argparse.ArgumentParser, sizes: Sequence[int]) -> None:
    """The options of a bench over a generated mix: its sizes, seed or own log, rounds, Drain3."""
    parser.add_argument(
        "--sizes",
        default=",".join(str(n) for n in sizes),
        help=f"line counts, comma-separated (default {','.join(str(n) for n in sizes)})",
    )
    parser.add_argument("--seed", type=int, default=0, help="mix seed (default 0)")
    parser.add_argument("--mix", type=Path, help="use this log instead of generating one")
    parser.add_argument("--skip-drain", action="store_true", help="do not run Drain3")
    parser.add_argument(
        "--rounds", type=int, default=3, help="runs of everything, median shown (default 3)"
    )


def mix_logs(args: argparse.Namespace, sizes: list[int], tmp: Path) -> dict[int, Path]:
    """The first N lines of the mix (generated, or `--mix`) in a file of `tmp`, for each size
    N the mix is long enough for."""
    total = sizes[-1]
    full = tmp / "mix.log"
    if args.mix is None:
        make_mix.write_mix(args.data, full, total, args.seed)
    else:
        total = min(total, count_file_lines(args.mix))
        write_head(args.mix, full, total)
    paths = {n: tmp / f"mix-{n}.log" for n in sizes if n <= total}
    for n, path in paths.items():
        write_head(full, path, n)
    return paths


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    add_mix_arguments(parser, SIZES)
    parser.add_argument("--drain-worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.drain_worker is not None:
        return drain_worker(args.drain_worker)

    sizes = sorted({int(n) for n in args.sizes.split(",")})
    cmd = common.bifrost_command(args.bifrost)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bifrost-speed-") as tmp_dir:
        tmp = Path(tmp_dir)
        history = f"sqlite+aiosqlite:///{tmp / 'history.db'}"  # created once, not timed
        cmd = common.Command(cmd.argv, {**cmd.env, "BIFROST_DATABASE_URL": history})
        common.run_bifrost(cmd, ["db", "upgrade"])
        paths = mix_logs(args, sizes, tmp)
        sizes = list(paths)
        rounds = args.rounds
        for n in sizes:
            print(f"{n:,} lines …", file=sys.stderr)
            if not args.skip_drain:
                rows.append(median_of(rounds, partial(run_drain, paths[n], n)))
            fresh = ("--no-cache",)
            rows.append(median_of(rounds, partial(run_analyze, cmd, paths[n], n, fresh)))
            rows.append(median_of(rounds, partial(run_analyze, cmd, paths[n], n, ("-n",))))
        largest = paths[sizes[-1]]
        rows.append(median_of(rounds, partial(run_analyze, cmd, largest, sizes[-1], ())))
        rows.append(median_of(rounds, partial(run_templates, cmd, largest, sizes[-1])))
        print("start-up …", file=sys.stderr)
        for name, words in [
            ("bifrost --version", ["--version"]),
            ("bifrost --help", ["--help"]),
            ("analyze --sample -n", ["analyze", "--sample", "-n", "-q"]),
            ("analyze --sample (stored)", ["analyze", "--sample", "--no-cache", "-q"]),
        ]:
            rows.append(median_of(max(rounds, 5), partial(run_startup, cmd, name, words)))

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
                f"{r.lines:,}" if r.lines else "-",
                common.fmt(r.seconds, 3),
                f"{rate:,.0f}" if rate else "-",
                common.fmt(r.rss_mb, 0),
                f"{speedup:.1f}×" if speedup else "-",
                common.fmt(r.templates),
                r.note if r.seconds else f"FAILED: {r.note}",
            ]
        )
    common.print_table(
        ["tool", "lines", "seconds", "lines/s", "peak RSS MB", "vs Drain3", "templates", "note"],
        table,
        left=(0, 7),
        title=(
            f"Speed on a Loghub mix (digits randomised, seed {args.seed}); median of "
            f"{rounds} rounds ({max(rounds, 5)} for start-up)"
        ),
    )
    print_footer(cmd)
    return 0


if __name__ == "__main__":
    sys.exit(main())
