"""Build the model of normal lines (`src/bifrost/engine/data/normal.json`) from public logs.

    python bench/build_normal.py            # print what the model would hold
    python bench/build_normal.py --write    # and write it

The corpus is every log of ../shared/benchmarks (`--data`): the logchunks-dev CI logs, the
CiDiff builds (failing and passing) and the Loghub samples. A line counts once per project
whatever the number of that project's logs that print it; lines printed by fewer than
`--min-projects` projects are left out (they say nothing about what is normal elsewhere).
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path

import common
import labelled
from bifrost.engine import normal
from bifrost.engine.normal import Normal
from bifrost.engine.scan import Scan

MIN_PROJECTS = 2


def normal_of(logs: Iterable[tuple[str, Scan]], min_projects: int = MIN_PROJECTS) -> Normal:
    """The model of normal lines of scanned logs, given with their project."""
    lines_of: dict[str, set[str]] = {}
    for project, scan in logs:
        seen = lines_of.setdefault(project, set())
        seen.update(normal.key(stats.masked) for stats in scan.stats.values() if stats.masked)
    df: Counter[str] = Counter()
    for seen in lines_of.values():
        df.update(seen)
    kept = {line: n for line, n in df.items() if n >= min_projects}
    return Normal(projects=len(lines_of), lines=kept)


def corpus(data: Path) -> list[tuple[str, Path]]:
    """(project, log) for every public log of the benchmarks."""
    logs: list[tuple[str, Path]] = []
    folder = common.check_data_dir(data, "logchunks-dev")
    for line in (folder / "manifest.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            raw = json.loads(line)
            logs.append((raw["project"], folder / f"{raw['id']}.log"))
    for build in common.cidiff_builds(data):
        logs += [(f"cidiff/{build.name}", build / name) for name in ("fail.log", "pass.log")]
    logs += [(f"loghub/{s}", common.loghub_raw_path(data, s)) for s in common.LOGHUB_SYSTEMS]
    return logs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, bifrost=False)
    parser.add_argument("--min-projects", type=int, default=MIN_PROJECTS)
    parser.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    model = normal_of(
        ((project, labelled.scan(path)) for project, path in corpus(args.data)),
        args.min_projects,
    )
    print(f"{model.projects} projects, {len(model.lines)} lines in at least {args.min_projects}")
    for line, n in sorted(model.lines.items(), key=lambda item: -item[1])[:25]:
        print(f"  {n:3d}  {common.shorten(line, 100)}")
    if args.write:
        path = labelled.ENGINE_DIR / "data" / "normal.json"
        path.write_text(model.to_json(), encoding="utf-8")
        print(f"wrote {path} ({path.stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
