"""Which BGL alert categories the first findings reach, as a system administrator would ask.

    python bench/bgl_alerts.py [--top 10]

BGL_2k (Loghub; ../shared/benchmarks/loghub-2k/BGL) labels each of its 2,000 lines: `-` for a
normal line, otherwise one of 12 alert categories (KERNDTLB, APPSEV, …). `bifrost analyze
--top N` runs on the raw log; a category counts as reached when an evidence line of one of
the first N findings is labelled with it. Printed: each finding with the categories its
evidence touches, then the categories reached out of all.
"""

from __future__ import annotations

import argparse
import csv
from collections.abc import Sequence

import common


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    parser.add_argument("--top", type=int, default=10)
    args = parser.parse_args(argv)
    folder = common.loghub_dir(args.data, "BGL")
    with (folder / "BGL_2k.log_structured.csv").open(encoding="utf-8", newline="") as f:
        labels = {int(row["LineId"]): row["Label"] for row in csv.DictReader(f)}
    categories = {label for label in labels.values() if label != "-"}
    command = common.bifrost_command(args.bifrost)
    log = str(common.loghub_raw_path(args.data, "BGL"))
    result = common.run_bifrost(
        command, ["analyze", log, "--format", "json", "--no-store", "--top", str(args.top)]
    )
    report = common.json_or_none(result.stdout_text())
    if report is None:
        raise SystemExit(f"no report: {result.stderr_tail()}")
    reached: set[str] = set()
    rows = []
    for finding in report["findings"]:
        touched = {
            labels.get(line, "-")
            for item in finding["evidence"]
            for line in range(item["line"], item["end_line"] + 1)
        } - {"-"}
        reached |= touched
        rows.append(
            [
                finding["id"],
                finding["category"],
                ", ".join(sorted(touched)) or "-",
                common.shorten(finding["title"], 60),
            ]
        )
    common.print_table(
        ["finding", "category", "alert categories", "title"], rows, left=(0, 1, 2, 3)
    )
    print(f"\nalert categories in the top {args.top}: {len(reached)}/{len(categories)}")
    print(f"missed: {', '.join(sorted(categories - reached)) or 'none'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
