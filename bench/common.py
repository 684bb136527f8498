"""Shared helpers for the benchmark scripts in ``bench/``.

Everything the scripts have in common lives here: where the shared data is, how to run the
``bifrost`` CLI as a subprocess (with wall time and peak RSS), how to read the ground truth of
each data set, how to run Drain3 for comparison, and how to print a table.

The scripts import it as ``import common`` (Python puts the script's directory on ``sys.path``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import URL, make_url, text
from sqlalchemy.ext.asyncio import create_async_engine

if TYPE_CHECKING:
    from bifrost.config import Settings

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
DEFAULT_DATA_DIR = (REPO_ROOT / ".." / "shared" / "benchmarks").resolve()

LOGHUB_SYSTEMS: tuple[str, ...] = (
    "HDFS",
    "Hadoop",
    "Spark",
    "Zookeeper",
    "BGL",
    "Apache",
    "OpenSSH",
    "Linux",
)

# Zhu et al., "Tools and Benchmarks for Automated Log Parsing", ICSE-SEIP 2019, Drain GA
# with per-data-set settings (the figures quoted in ../shared/benchmarks/README.md).
DRAIN_PUBLISHED_GA: dict[str, float] = {
    "HDFS": 0.998,
    "Hadoop": 0.948,
    "Spark": 0.920,
    "Zookeeper": 0.967,
    "BGL": 0.963,
    "Apache": 1.000,
    "OpenSSH": 0.788,
    "Linux": 0.690,
}


# --------------------------------------------------------------------------------------------
# Command line
# --------------------------------------------------------------------------------------------


def add_common_args(parser: argparse.ArgumentParser, *, bifrost: bool = True) -> None:
    """Add ``--data`` and (optionally) ``--bifrost`` to a script's argument parser."""
    parser.add_argument(
        "--data",
        type=Path,
        default=DEFAULT_DATA_DIR,
        help=f"shared benchmark data directory (default: {DEFAULT_DATA_DIR})",
    )
    if bifrost:
        parser.add_argument(
            "--bifrost",
            default=None,
            metavar="CMD",
            help=(
                'command that runs the CLI, split like a shell would, e.g. "bifrost" or '
                '"/tmp/v/bin/python -m bifrost"; leading VAR=value words set environment '
                'variables, e.g. "PYTHONPATH=src python -m bifrost" (default: bifrost on PATH, '
                "else this Python with PYTHONPATH=<repo>/src)"
            ),
        )


def add_llm_args(parser: argparse.ArgumentParser) -> None:
    """Add the provider, model, server and digest budget of a script that asks a real model."""
    parser.add_argument("--llm", default="openai", choices=["openai", "ollama", "bedrock"])
    parser.add_argument("--model", required=True)
    parser.add_argument("--base-url", default=None)
    parser.add_argument("--every", type=int, default=1, help="use every k-th log (default 1)")
    parser.add_argument("--max-input-tokens", type=int, default=1000)


def llm_settings(args: argparse.Namespace, **more: Any) -> Settings:
    """The settings `add_llm_args` describes, patient with a slow local model."""
    from bifrost.config import Settings  # noqa: PLC0415 — most scripts time the CLI alone

    return Settings(
        llm=args.llm,
        model=args.model,
        base_url=args.base_url,
        max_input_tokens=args.max_input_tokens,
        llm_timeout_s=600,
        **more,
    )


def check_data_dir(data: Path, sub: str) -> Path:
    """Return ``data/sub``, exiting with a clear message when it is missing."""
    path = data / sub
    if not path.is_dir():
        sys.exit(f"error: {path} not found (use --data to point at the shared benchmarks)")
    return path


# --------------------------------------------------------------------------------------------
# Running processes
# --------------------------------------------------------------------------------------------

_BOX_CHARS = " \t│┃╭╮╰╯─━┌┐└┘"
_ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


@dataclass(frozen=True)
class Command:
    """A command line prefix plus extra environment variables."""

    argv: tuple[str, ...]
    env: dict[str, str] = field(default_factory=dict)

    def describe(self) -> str:
        words = [f"{k}={v}" for k, v in self.env.items()] + list(self.argv)
        return shlex.join(words)


def bifrost_command(spec: str | None) -> Command:
    """Turn the ``--bifrost`` option into a :class:`Command`.

    ``None`` means ``bifrost`` on PATH, or, when it is not installed, this interpreter running
    ``-m bifrost`` with ``PYTHONPATH=<repo>/src``.
    """
    if spec is None:
        if shutil.which("bifrost"):
            return Command(("bifrost",))
        src = str(REPO_ROOT / "src")
        print(
            f"note: bifrost not on PATH, using {sys.executable} -m bifrost with PYTHONPATH={src}",
            file=sys.stderr,
        )
        return Command((sys.executable, "-m", "bifrost"), {"PYTHONPATH": src})
    words = shlex.split(spec)
    env: dict[str, str] = {}
    while words and _ENV_ASSIGNMENT.match(words[0]):
        key, _, value = words.pop(0).partition("=")
        env[key] = value
    if not words:
        sys.exit(f"error: --bifrost {spec!r} names no command")
    return Command(tuple(words), env)


@dataclass(frozen=True)
class RunResult:
    """Outcome of one measured subprocess run."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes
    wall_s: float
    max_rss_mb: float

    def stdout_text(self) -> str:
        return self.stdout.decode("utf-8", errors="replace")

    def stderr_tail(self, lines: int = 5) -> str:
        """The last non-empty stderr lines, without Rich's box-drawing frame."""
        text = self.stderr.decode("utf-8", errors="replace").splitlines()
        kept = [t.strip(_BOX_CHARS) for t in text]
        return "\n".join([t for t in kept if t][-lines:])


def run_measured(
    cmd: Command,
    args: Sequence[str],
    *,
    stdin_path: Path | None = None,
    stdout_path: Path | None = None,
    capture_stdout: bool = True,
    cwd: Path | None = None,
) -> RunResult:
    """Run ``cmd + args`` and measure wall time and peak RSS (``os.wait4``).

    stdout goes to ``stdout_path`` when given (e.g. ``/dev/null``), otherwise to a temporary
    file that is read back when ``capture_stdout`` is true. stderr is always captured.
    """
    argv = (*cmd.argv, *args)
    env = {**os.environ, **cmd.env}
    with tempfile.TemporaryFile() as err, tempfile.TemporaryFile() as tmp_out:
        out: IO[bytes]
        out_file: IO[bytes] | None = None
        if stdout_path is not None:
            out_file = stdout_path.open("wb")
            out = out_file
        else:
            out = tmp_out
        in_file = stdin_path.open("rb") if stdin_path is not None else None
        try:
            start = time.perf_counter()
            proc = subprocess.Popen(
                argv,
                stdin=in_file if in_file is not None else subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                cwd=cwd,
            )
            _, status, usage = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - start
            proc.returncode = os.waitstatus_to_exitcode(status)
        finally:
            if out_file is not None:
                out_file.close()
            if in_file is not None:
                in_file.close()
        stdout = b""
        if stdout_path is None and capture_stdout:
            tmp_out.seek(0)
            stdout = tmp_out.read()
        err.seek(0)
        stderr = err.read()
    # Linux reports ru_maxrss in KiB.
    return RunResult(argv, proc.returncode, stdout, stderr, wall, usage.ru_maxrss / 1024)


def run_bifrost(cmd: Command, args: Sequence[str], **kwargs: Any) -> RunResult:
    """Run the bifrost CLI; exits with a clear message when the command cannot start."""
    try:
        return run_measured(cmd, args, **kwargs)
    except FileNotFoundError as exc:
        sys.exit(f"error: cannot run {cmd.describe()!r}: {exc} (use --bifrost)")


def bifrost_templates(cmd: Command, path: Path) -> tuple[list[str], list[str]]:
    """``bifrost templates PATH --format jsonl`` → (template_id per line, template per line).

    Lines are returned in line-number order. Lines missing from the output get a unique
    ``<missing:N>`` id (and a warning), so scoring never silently shifts lines.
    """
    result = run_bifrost(cmd, ["templates", str(path), "--format", "jsonl"])
    if result.returncode != 0:
        sys.exit(
            f"error: {shlex.join(result.argv)} exited {result.returncode}\n{result.stderr_tail()}"
        )
    by_line: dict[int, tuple[str, str]] = {}
    for raw in result.stdout_text().splitlines():
        if not raw.strip():
            continue
        rec = json.loads(raw)
        by_line[int(rec["line"])] = (str(rec["template_id"]), str(rec.get("template", "")))
    n = max(by_line, default=0)
    expected = count_lines(path)
    n = max(n, expected)
    missing = [i for i in range(1, n + 1) if i not in by_line]
    if missing:
        print(
            f"warning: bifrost templates gave no record for {len(missing)} of {n} lines of "
            f"{path.name} (first: {missing[:5]})",
            file=sys.stderr,
        )
    ids = [by_line.get(i, (f"<missing:{i}>", ""))[0] for i in range(1, n + 1)]
    templates = [by_line.get(i, ("", ""))[1] for i in range(1, n + 1)]
    return ids, templates


def json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


# --------------------------------------------------------------------------------------------
# Lines
# --------------------------------------------------------------------------------------------


def split_lines(data: bytes) -> list[bytes]:
    """Lines as the ground truth counts them: ``\\n``, ``\\r\\n`` and a lone ``\\r`` all end a
    line (``bytes.splitlines``)."""
    return data.splitlines()


def read_lines(path: Path) -> list[str]:
    """Decoded lines of a file (``bytes.splitlines`` semantics, undecodable bytes replaced)."""
    return [b.decode("utf-8", errors="replace") for b in split_lines(path.read_bytes())]


def count_lines(path: Path) -> int:
    return len(split_lines(path.read_bytes()))


def shorten(text: str, width: int = 120) -> str:
    text = text.replace("\t", " ").rstrip()
    return text if len(text) <= width else text[: width - 1] + "…"


# --------------------------------------------------------------------------------------------
# Ground truth
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoghubRow:
    content: str
    event_id: str
    event_template: str
    label: str | None


def loghub_dir(data: Path, system: str) -> Path:
    return check_data_dir(data, f"loghub-2k/{system}")


def read_loghub_structured(data: Path, system: str) -> list[LoghubRow]:
    """Rows of ``loghub-2k/<S>/<S>_2k.log_structured.csv`` in line order."""
    path = loghub_dir(data, system) / f"{system}_2k.log_structured.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = [
            (
                int(r["LineId"]),
                LoghubRow(r["Content"], r["EventId"], r["EventTemplate"], r.get("Label")),
            )
            for r in csv.DictReader(fh)
        ]
    rows.sort(key=lambda item: item[0])
    return [row for _, row in rows]


def loghub_raw_path(data: Path, system: str) -> Path:
    return loghub_dir(data, system) / f"{system}_2k.log"


@dataclass(frozen=True)
class Span:
    """An inclusive 1-based line range."""

    start: int
    end: int

    def intersects(self, other: Span) -> bool:
        return self.start <= other.end and other.start <= self.end

    def __str__(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start}-{self.end}"


@dataclass(frozen=True)
class CiGroundTruth:
    errors: tuple[Span, ...]
    context: tuple[Span, ...]


def _parse_span(text: str) -> Span:
    first, _, last = text.strip().partition("-")
    start = int(first)
    return Span(start, int(last) if last else start)


def read_cidiff_groundtruth(path: Path) -> CiGroundTruth:
    """Parse a CiDiff ``groundtruth`` file: first line (parser option) ignored; ``E a-b`` /
    ``E n`` error ranges, ``C …`` context ranges."""
    errors: list[Span] = []
    context: list[Span] = []
    for raw in path.read_text(encoding="utf-8").splitlines()[1:]:
        kind, _, rest = raw.strip().partition(" ")
        if not rest:
            continue
        if kind == "E":
            errors.append(_parse_span(rest))
        elif kind == "C":
            context.append(_parse_span(rest))
    return CiGroundTruth(tuple(errors), tuple(context))


def cidiff_builds(data: Path) -> list[Path]:
    root = check_data_dir(data, "cidiff")
    return sorted(p for p in root.iterdir() if (p / "fail.log").is_file())


# --------------------------------------------------------------------------------------------
# Grouping scores
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupingScore:
    ga: float
    fga: float
    precision: float
    recall: float
    predicted_groups: int
    true_groups: int


def grouping_score(predicted: Sequence[str], truth: Sequence[str]) -> GroupingScore:
    """Grouping accuracy and F1 grouping accuracy (Loghub definitions).

    A line is correct when the set of lines sharing its predicted id equals the set sharing its
    true id; a predicted group is correct when its line set equals some true group's line set.
    """
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} lines")
    pred_size: dict[str, int] = {}
    true_size: dict[str, int] = {}
    pair_size: dict[tuple[str, str], int] = {}
    for p, t in zip(predicted, truth, strict=True):
        pred_size[p] = pred_size.get(p, 0) + 1
        true_size[t] = true_size.get(t, 0) + 1
        pair_size[(p, t)] = pair_size.get((p, t), 0) + 1
    correct_groups = 0
    correct_lines = 0
    for (p, t), n in pair_size.items():
        if n == pred_size[p] == true_size[t]:
            correct_groups += 1
            correct_lines += n
    total = len(truth)
    precision = correct_groups / len(pred_size) if pred_size else 0.0
    recall = correct_groups / len(true_size) if true_size else 0.0
    fga = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return GroupingScore(
        ga=correct_lines / total if total else 0.0,
        fga=fga,
        precision=precision,
        recall=recall,
        predicted_groups=len(pred_size),
        true_groups=len(true_size),
    )


# --------------------------------------------------------------------------------------------
# Drain3
# --------------------------------------------------------------------------------------------


def drain3_miner() -> Any:
    """A Drain3 ``TemplateMiner`` with the default configuration (no drain3.ini is read)."""
    try:
        from drain3 import TemplateMiner  # type: ignore[import-untyped]  # noqa: PLC0415
        from drain3.template_miner_config import (  # type: ignore[import-untyped]  # noqa: PLC0415
            TemplateMinerConfig,
        )
    except ImportError:
        sys.exit("error: drain3 is not installed (pip install -e '.[bench]')")
    return TemplateMiner(config=TemplateMinerConfig())


def drain3_cluster_ids(messages: Iterable[str]) -> tuple[list[str], dict[str, str]]:
    """One ``add_log_message`` per message → (cluster id per message, final template per id).

    Drain3 clusters never merge, so the cluster a message joined is its final group.
    """
    miner = drain3_miner()
    ids = [str(miner.add_log_message(m)["cluster_id"]) for m in messages]
    templates = {str(c.cluster_id): str(c.get_template()) for c in miner.drain.clusters}
    return ids, templates


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------


def fmt(value: float | int | str | None, digits: int = 3) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    title: str | None = None,
    groups: Sequence[tuple[str, int]] | None = None,
    left: Sequence[int] = (0,),
    out: IO[str] | None = None,
) -> None:
    """Print a plain-text table; columns in ``left`` are left-aligned, the others right-aligned.

    ``groups`` optionally adds a header row above: (label, number of columns spanned).
    Rows equal to ``[]`` print as a separator line.
    """
    stream = out if out is not None else sys.stdout
    body = [list(r) for r in rows]
    widths = [len(h) for h in headers]
    for row in body:
        for i, cell in enumerate(row):
            widths[i] = max(widths[i], len(cell))
    sep = "  "
    col = 0
    for label, span in groups or ():
        spanned = sum(widths[col : col + span]) + len(sep) * (span - 1)
        widths[col + span - 1] += max(0, len(label) + 2 - spanned) if label else 0
        col += span

    def line(cells: Sequence[str]) -> str:
        parts = [
            c.ljust(widths[i]) if i in left else c.rjust(widths[i]) for i, c in enumerate(cells)
        ]
        return sep.join(parts).rstrip()

    rule = "-" * len(sep.join("x" * w for w in widths))
    if title:
        print(title, file=stream)
    if groups:
        cells: list[str] = []
        col = 0
        for label, span in groups:
            width = sum(widths[col : col + span]) + len(sep) * (span - 1)
            cells.append(label.center(width, "-") if label else " " * width)
            col += span
        print(sep.join(cells).rstrip(), file=stream)
    print(line(headers), file=stream)
    print(rule, file=stream)
    for row in body:
        print(line(row) if row else rule, file=stream)


def mean(values: Iterable[float]) -> float | None:
    vals = list(values)
    return sum(vals) / len(vals) if vals else None


@contextmanager
def fresh_database(postgres: str | None, folder: str) -> Iterator[str]:
    """A new SQLite file, or a new database on the PostgreSQL server `postgres` (dropped
    afterwards): no set-up is answered from another's cache."""
    if postgres is None:
        yield f"sqlite+aiosqlite:///{folder}/history.db"
        return
    name = f"bench_{uuid.uuid4().hex[:8]}"
    server = make_url(postgres)
    run_sql(server, f"CREATE DATABASE {name}")
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        run_sql(server, f"DROP DATABASE {name} WITH (FORCE)")


def run_sql(server: URL, statement: str) -> None:
    async def run() -> None:
        engine = create_async_engine(server, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as connection:
                await connection.execute(text(statement))
        finally:
            await engine.dispose()

    asyncio.run(run())
