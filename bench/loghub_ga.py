"""Grouping accuracy of ``bifrost templates`` on Loghub-2k, next to Drain3 and published Drain.

For each of the 8 Loghub-2k systems:

* ``content`` mode: the ``Content`` column of ``<S>_2k.log_structured.csv`` (the benchmark's
  convention), one message per line, fed to ``bifrost templates FILE --format jsonl``;
* ``raw`` mode: ``<S>_2k.log`` as is (Bifrost must find the message itself);
* Drain3 with its default configuration, one ``add_log_message`` per ``Content`` line.

GA: a line is correct when the set of lines sharing its predicted template equals the set
sharing its true ``EventId``. FGA: F1 of correctly identified groups.

``--show-errors S`` lists, for system S, the true templates split over several predicted
templates and the predicted templates that merge several true ones, with sample lines.

    python bench/loghub_ga.py
    python bench/loghub_ga.py --show-errors Linux --modes content
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import common

MODES = ("content", "raw")


@dataclass(frozen=True)
class Prediction:
    """Predicted group id per line and a template text per group id."""

    ids: list[str]
    templates: dict[str, str]


def bifrost_prediction(cmd: common.Command, path: Path) -> Prediction:
    ids, texts = common.bifrost_templates(cmd, path)
    templates: dict[str, str] = {}
    for tid, text in zip(ids, texts, strict=True):
        templates.setdefault(tid, text)
    return Prediction(ids, templates)


def drain3_prediction(rows: Sequence[common.LoghubRow]) -> Prediction:
    ids, templates = common.drain3_cluster_ids(r.content for r in rows)
    return Prediction(ids, templates)


# --------------------------------------------------------------------------------------------
# Error analysis
# --------------------------------------------------------------------------------------------


def _sample(lines: Sequence[str], idx: int, width: int) -> str:
    return f"L{idx + 1}: {common.shorten(lines[idx], width)}"


def show_errors(
    *,
    system: str,
    label: str,
    pred: Prediction,
    rows: Sequence[common.LoghubRow],
    input_lines: Sequence[str],
    limit: int,
    width: int,
    parts_limit: int = 4,
) -> None:
    """Print the worst split true groups and merged predicted groups, with samples."""
    truth = [r.event_id for r in rows]
    true_tpl = {r.event_id: r.event_template for r in rows}
    by_true: dict[str, Counter[str]] = defaultdict(Counter)
    by_pred: dict[str, Counter[str]] = defaultdict(Counter)
    first_of: dict[tuple[str, str], int] = {}
    for i, (p, t) in enumerate(zip(pred.ids, truth, strict=True)):
        by_true[t][p] += 1
        by_pred[p][t] += 1
        first_of.setdefault((p, t), i)
    score = common.grouping_score(pred.ids, truth)

    splits = sorted(
        (t for t, c in by_true.items() if len(c) > 1),
        key=lambda t: (-sum(by_true[t].values()), t),
    )
    merges = sorted(
        (p for p, c in by_pred.items() if len(c) > 1),
        key=lambda p: (-sum(by_pred[p].values()), p),
    )
    # Lines wrong only because their true group is split / their predicted group merges.
    split_lines = sum(sum(by_true[t].values()) for t in splits)
    merge_lines = sum(sum(by_pred[p].values()) for p in merges)
    print()
    print(
        f"=== {system} · {label}: GA {score.ga:.3f}, FGA {score.fga:.3f}, "
        f"{score.predicted_groups} predicted vs {score.true_groups} true templates"
    )
    print(
        f"    {len(splits)} true templates split ({split_lines} lines), "
        f"{len(merges)} predicted templates merge several true ones ({merge_lines} lines)"
    )

    print(f"\n--- SPLIT: one true template → several predicted ({len(splits)}, worst first)")
    if not splits:
        print("(none)")
    for t in splits[:limit]:
        parts = by_true[t].most_common()
        print(f"{t} ×{sum(by_true[t].values())} in {len(parts)} parts   true: {true_tpl[t]}")
        for p, n in parts[:parts_limit]:
            others = sum(by_pred[p].values()) - n
            extra = f" (+{others} lines of other true groups)" if others else ""
            print(f"   → {n:>4}  [{p}] {common.shorten(pred.templates.get(p, ''), width)}{extra}")
            print(f"          {_sample(input_lines, first_of[(p, t)], width)}")
        if len(parts) > parts_limit:
            rest = sum(n for _, n in parts[parts_limit:])
            print(f"   … {len(parts) - parts_limit} more parts ({rest} lines)")

    print(f"\n--- MERGE: one predicted template ← several true ({len(merges)}, worst first)")
    if not merges:
        print("(none)")
    for p in merges[:limit]:
        parts = by_pred[p].most_common()
        print(
            f"[{p}] ×{sum(by_pred[p].values())} from {len(parts)} true groups   "
            f"predicted: {common.shorten(pred.templates.get(p, ''), width)}"
        )
        for t, n in parts[:parts_limit]:
            print(f"   ← {n:>4}  {t}: {common.shorten(true_tpl[t], width)}")
            print(f"          {_sample(input_lines, first_of[(p, t)], width)}")
        if len(parts) > parts_limit:
            rest = sum(n for _, n in parts[parts_limit:])
            print(f"   … {len(parts) - parts_limit} more true groups ({rest} lines)")


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser)
    parser.add_argument(
        "--systems",
        nargs="+",
        choices=common.LOGHUB_SYSTEMS,
        default=list(common.LOGHUB_SYSTEMS),
        metavar="S",
        help="systems to score (default: all 8)",
    )
    parser.add_argument(
        "--modes",
        nargs="*",
        choices=MODES,
        default=list(MODES),
        help="bifrost input modes (default: content raw; none = Drain3 only)",
    )
    parser.add_argument("--no-drain", action="store_true", help="skip Drain3")
    parser.add_argument(
        "--show-errors",
        choices=common.LOGHUB_SYSTEMS,
        metavar="S",
        help="print the worst grouping mistakes for system S",
    )
    parser.add_argument(
        "--errors-of",
        choices=("bifrost", "drain3"),
        default="bifrost",
        help="whose mistakes --show-errors prints (default: bifrost, every selected mode)",
    )
    parser.add_argument(
        "--limit", type=int, default=8, help="groups listed per kind by --show-errors"
    )
    parser.add_argument(
        "--width", type=int, default=160, help="characters shown per line by --show-errors"
    )
    args = parser.parse_args(argv)

    systems: list[str] = list(args.systems)
    if args.show_errors and args.show_errors not in systems:
        systems.append(args.show_errors)
    run_drain = not args.no_drain or args.errors_of == "drain3"
    cmd = common.bifrost_command(args.bifrost) if args.modes else None

    scores: dict[tuple[str, str], common.GroupingScore] = {}
    true_counts: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="bifrost-ga-") as tmp:
        for system in systems:
            rows = common.read_loghub_structured(args.data, system)
            truth = [r.event_id for r in rows]
            true_counts[system] = len(set(truth))
            contents = [r.content for r in rows]
            preds: dict[str, tuple[Prediction, list[str]]] = {}
            for mode in args.modes:
                assert cmd is not None
                if mode == "content":
                    path = Path(tmp) / f"{system}_content.log"
                    path.write_text("".join(c + "\n" for c in contents), encoding="utf-8")
                    shown = contents
                else:
                    path = common.loghub_raw_path(args.data, system)
                    shown = common.read_lines(path)
                    if len(shown) != len(rows):
                        print(
                            f"warning: {path.name} has {len(shown)} lines, "
                            f"ground truth {len(rows)}",
                            file=sys.stderr,
                        )
                pred = bifrost_prediction(cmd, path)
                if len(pred.ids) != len(truth):
                    sys.exit(
                        f"error: bifrost gave {len(pred.ids)} lines for {path.name}, "
                        f"expected {len(truth)}"
                    )
                preds[f"bifrost/{mode}"] = (pred, shown)
            if run_drain:
                preds["drain3"] = (drain3_prediction(rows), contents)
            for label, (pred, _) in preds.items():
                scores[(system, label)] = common.grouping_score(pred.ids, truth)
            if system == args.show_errors:
                for label, (pred, shown) in preds.items():
                    if label.startswith(args.errors_of):
                        show_errors(
                            system=system,
                            label=label,
                            pred=pred,
                            rows=rows,
                            input_lines=shown,
                            limit=args.limit,
                            width=args.width,
                        )
                print()

    labels = [f"bifrost/{m}" for m in args.modes] + (["drain3"] if run_drain else [])
    headers = ["dataset", "true"]
    groups: list[tuple[str, int]] = [("", 2)]
    for label in labels:
        headers += ["GA", "FGA", "tpl"]
        groups.append((f" {label} ", 3))
    headers += ["GA"]
    groups.append((" Drain paper ", 1))
    table: list[list[str]] = []
    for system in systems:
        row = [system, str(true_counts[system])]
        for label in labels:
            s = scores[(system, label)]
            row += [common.fmt(s.ga), common.fmt(s.fga), str(s.predicted_groups)]
        row.append(common.fmt(common.DRAIN_PUBLISHED_GA[system]))
        table.append(row)
    table.append([])
    mean_row = ["mean", ""]
    for label in labels:
        mean_row += [
            common.fmt(common.mean(scores[(s, label)].ga for s in systems)),
            common.fmt(common.mean(scores[(s, label)].fga for s in systems)),
            "",
        ]
    mean_row.append(common.fmt(common.mean(common.DRAIN_PUBLISHED_GA[s] for s in systems)))
    table.append(mean_row)
    common.print_table(
        headers,
        table,
        groups=groups,
        title="Loghub-2k grouping accuracy (GA, FGA; tpl = number of templates)",
    )
    if args.modes:
        assert cmd is not None
        print(f"bifrost: {cmd.describe()}")
    if run_drain:
        print("drain3: TemplateMiner(default config), one add_log_message per Content line")
    for label in labels[: len(args.modes)]:
        diffs = {s: scores[(s, label)].ga - common.DRAIN_PUBLISHED_GA[s] for s in systems}
        better = [s for s, d in diffs.items() if d >= 0.0005]
        equal = [s for s, d in diffs.items() if abs(d) < 0.0005]
        worse = [s for s, d in diffs.items() if d <= -0.0005]
        print(
            f"{label} vs published Drain GA: better on {len(better)}/{len(systems)}"
            + (f", equal on {', '.join(equal)}" if equal else "")
            + (f", worse on {', '.join(worse)}" if worse else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
