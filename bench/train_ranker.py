"""Fit the ranker and the model of normal lines, scored by leave-projects-out cross-validation.

    python bench/train_ranker.py              # cross-validate, print figures
    python bench/train_ranker.py --write      # then fit on everything and write the data files

Data: logchunks-dev (Travis CI logs of 32 projects, 22 languages) and the CiDiff failing
builds, from ../shared/benchmarks (`--data`). Every project is held out once: the model of
normal lines and the ranker are fitted on the other projects only, and the held-out
project's logs are analysed with them by the real engine (`findings`), then scored as
`logchunks-dev/score.py` scores a report. The figures printed are those held-out scores,
never the fitted ones. `--write` fits both on every project and writes
`src/bifrost/engine/data/{ranker,normal}.json`.

Needs the `bench` extra (scikit-learn, numpy).
"""

from __future__ import annotations

import argparse
import collections
import statistics
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import common
import labelled
import numpy as np
from build_normal import normal_of
from sklearn.linear_model import LogisticRegression

from bifrost.engine.features import FEATURES
from bifrost.engine.normal import Normal
from bifrost.engine.ranker import Ranker
from bifrost.engine.scan import Scan
from bifrost.engine.score import Candidate, candidates, findings

DATA_OUT = labelled.ENGINE_DIR / "data"
_COMMON = FEATURES.index("common")
_NEGATIVES_PER_LOG = 60  # negatives paired with each positive (the hardest, by prior score)


@dataclass
class Rows:
    """The candidates of one log as a feature matrix with labels."""

    case: labelled.Case
    features: np.ndarray  # (candidates, features); the `common` column is set per fold
    labels: np.ndarray  # 1 where the candidate's lead event overlaps a labelled span
    masked: list[str]  # each candidate's masked line, for the `common` feature


def rows(case: labelled.Case, scan: Scan) -> Rows:
    found = candidates(scan, Normal(0, {}))
    return Rows(
        case=case,
        features=np.array([c.features for c in found], dtype=float).reshape(-1, len(FEATURES)),
        labels=np.array([_label(case, c) for c in found], dtype=int),
        masked=[c.stats.masked for c in found],
    )


def _label(case: labelled.Case, candidate: Candidate) -> int:
    lead = candidate.lead
    if lead is None:
        return 0
    first, last = lead.start, lead.start + len(lead.lines) - 1
    return int(any(first <= b and a <= last for a, b in case.spans))


def with_common(data: Rows, normal: Normal) -> np.ndarray:
    features = data.features.copy()
    features[:, _COMMON] = [normal.commonness(m) for m in data.masked]
    return features


def fit(training: Sequence[Rows], normal: Normal, c: float) -> Ranker:
    """Pairwise logistic regression: each labelled candidate against the other candidates of
    its own log, so that what is learned is the order within a log, which is what a reader
    sees. Every log weighs the same."""
    differences, targets, weights = [], [], []
    for data in training:
        positives = data.labels == 1
        if not positives.any() or positives.all():
            continue
        features = with_common(data, normal)
        good, bad = features[positives], features[~positives]
        if len(bad) > _NEGATIVES_PER_LOG:
            pick = np.random.default_rng(len(bad)).choice(len(bad), _NEGATIVES_PER_LOG, False)
            bad = bad[pick]
        pairs = (good[:, None, :] - bad[None, :, :]).reshape(-1, len(FEATURES))
        weight = 1.0 / len(pairs)
        differences += [pairs, -pairs]
        targets += [np.ones(len(pairs)), np.zeros(len(pairs))]
        weights += [np.full(len(pairs), weight)] * 2
    model = LogisticRegression(C=c, fit_intercept=False, max_iter=2000)
    model.fit(np.vstack(differences), np.concatenate(targets), np.concatenate(weights))
    pairwise = model.coef_[0]
    return Ranker(bias=_calibrate(training, normal, pairwise), weights=tuple(map(float, pairwise)))


def _calibrate(training: Sequence[Rows], normal: Normal, weights: np.ndarray) -> float:
    """The bias that makes the scores probabilities: a pairwise fit only fixes the order, so
    one intercept is fitted on the candidates' scores (a one-feature logistic regression)."""
    scores = np.concatenate([with_common(d, normal) @ weights for d in training])
    labels = np.concatenate([d.labels for d in training])
    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(np.column_stack([scores]), labels)
    slope = float(model.coef_[0][0])
    if abs(slope - 1.0) > 0.5:  # keep the order; only shift
        print(f"note: calibration slope {slope:.2f}", file=sys.stderr)
    return float(model.intercept_[0])


def projects(cases: Iterable[labelled.Case]) -> list[str]:
    return sorted({case.project for case in cases})


def cross_validate(
    cases: list[labelled.Case], scans: dict[str, Scan], data: dict[str, Rows], c: float
) -> dict[str, labelled.Hits]:
    """Leave one project out at a time; every log is scored by a model that never saw it."""
    results: dict[str, labelled.Hits] = {}
    for project in projects(cases):
        train = [case for case in cases if case.project != project]
        normal = normal_of((case.project, scans[case.id]) for case in train)
        ranker = fit([data[case.id] for case in train], normal, c)
        for case in cases:
            if case.project == project:
                ranked = findings(scans[case.id], ranker=ranker, normal=normal)
                results[case.id] = labelled.hits(case, ranked)
    return results


def report(cases: list[labelled.Case], results: dict[str, labelled.Hits]) -> None:
    groups: dict[str, list[labelled.Hits]] = collections.defaultdict(list)
    for case in cases:
        groups[case.language].append(results[case.id])
    table = []
    for name, hits in [*sorted(groups.items()), ("ALL", [results[c.id] for c in cases])]:
        n = len(hits)
        table.append(
            [
                name,
                str(n),
                common.fmt(sum(h.hit1 for h in hits) / n, 2),
                common.fmt(sum(h.hit5 for h in hits) / n, 2),
                f"{statistics.median(h.shown for h in hits):g}",
            ]
        )
    common.print_table(["language", "logs", "hit@1", "hit@5", "median lines shown"], table)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, bifrost=False)
    parser.add_argument("--c", type=float, default=1.0, help="inverse regularisation strength")
    parser.add_argument("--write", action="store_true", help="write the fitted data files")
    parser.add_argument("--only", help="cross-validate only the logs of this set (logchunks)")
    args = parser.parse_args(argv)

    sets = {"logchunks": labelled.logchunks(args.data), "cidiff": labelled.cidiff(args.data)}
    cases = [case for group in sets.values() for case in group]
    scans = labelled.scans(cases)
    data = {case.id: rows(case, scans[case.id]) for case in cases}
    results = cross_validate(cases, scans, data, args.c)
    for name, group in sets.items():
        print(f"\n{name}: leave-projects-out ({len(projects(group))} projects, {len(group)} logs)")
        report(group, results)
    if args.write:
        normal = normal_of((case.project, scans[case.id]) for case in cases)
        ranker = fit([data[case.id] for case in cases], normal, args.c)
        (DATA_OUT / "normal.json").write_text(normal.to_json(), encoding="utf-8")
        trained = f"{len(cases)} logs of {len(projects(cases))} projects"
        (DATA_OUT / "ranker.json").write_text(ranker.to_json(trained_on=trained), encoding="utf-8")
        print(f"\nwrote {DATA_OUT / 'ranker.json'} and {DATA_OUT / 'normal.json'}")
        for name, weight in zip(FEATURES, ranker.weights, strict=True):
            print(f"  {name:16} {weight:+.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
