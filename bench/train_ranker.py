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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import optimize, sparse
from sklearn.ensemble import HistGradientBoostingClassifier

import common
import labelled
from bifrost.engine.features import FEATURES
from bifrost.engine.normal import Normal
from bifrost.engine.ranker import INPUTS, Ranker, Tree
from bifrost.engine.scan import Scan
from bifrost.engine.score import Candidate, candidates, findings
from bifrost.report import Finding
from build_normal import normal_of

DATA_OUT = labelled.ENGINE_DIR / "data"

# What every sane ranking agrees on, whatever the training logs: the trees may only raise a
# candidate's score with these (+1) or only lower it (-1). This keeps the ranker sensible on
# kinds of logs the training set lacks.
MONOTONE: dict[str, int] = {
    "level_error": 1,
    "level_quiet": -1,
    "trouble_words": 1,
    "signature": 1,
    "priority": 1,
    "critical": 1,
    "wrapper": -1,
    "mild": -1,
    "count": -1,
    "common": -1,
    "after_failure": -1,
    "in_failed_step": 1,
    "before_wrapper": 1,
    "after_wrapper": -1,
    "after_header": 1,
    "after_command": 1,
    "first_error": 1,
    "once": 1,
    "wordless": -1,
    "words": 1,
}
_COMMON = FEATURES.index("common")


@dataclass
class Rows:
    """The candidates of one log as a feature matrix with labels."""

    case: labelled.Case
    features: np.ndarray  # (candidates, features); the `common` column is set per fold
    labels: np.ndarray  # 1 where the candidate's lead event overlaps a labelled span
    masked: list[str]  # each candidate's masked line, for the `common` feature
    words: list[frozenset[str]]  # each candidate's words


def rows(case: labelled.Case, scan: Scan) -> Rows:
    found = candidates(scan, Normal(0, {}))
    return Rows(
        case=case,
        features=np.array([c.features for c in found], dtype=float).reshape(-1, len(FEATURES)),
        labels=np.array([_label(case, c) for c in found], dtype=int),
        masked=[c.stats.masked for c in found],
        words=[c.words for c in found],
    )


def vocabulary(training: Sequence[Rows], min_projects: int) -> list[str]:
    """Words of candidate lines in the logs of at least `min_projects` projects: a word of
    one project's wording never gets a weight."""
    seen: dict[str, set[str]] = collections.defaultdict(set)
    for data in training:
        for found in data.words:
            for word in found:
                seen[word].add(data.case.project)
    return sorted(word for word, where in seen.items() if len(where) >= min_projects)


def matrix(data: Rows, normal: Normal, index: dict[str, int]) -> sparse.csr_matrix:
    """The candidates' features followed by their word indicators, one row each."""
    dense = sparse.csr_matrix(with_common(data, normal))
    cols = [index[w] for found in data.words for w in found if w in index]
    ptr = np.cumsum([0] + [sum(w in index for w in found) for found in data.words])
    ones = np.ones(len(cols))
    words = sparse.csr_matrix((ones, cols, ptr), shape=(len(data.words), len(index)))
    return sparse.hstack([dense, words], format="csr")


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


def fit_words(
    training: Sequence[Rows], normal: Normal, c: float, min_projects: int
) -> dict[str, float]:
    """Word weights. Listwise: maximise, for every log, the probability that a softmax over
    its candidates' scores (features and words together, linearly) puts a labelled candidate
    first. Every log weighs the same; L2 regularisation of strength 1/c. Only the words'
    weights are kept: the trees use the features better."""
    vocab = vocabulary(training, min_projects)
    index = {word: i for i, word in enumerate(vocab)}
    usable = [d for d in training if d.labels.any() and not d.labels.all()]
    x = sparse.vstack([matrix(d, normal, index) for d in usable], format="csr")
    group = np.repeat(np.arange(len(usable)), [len(d.labels) for d in usable])
    positive = np.concatenate([d.labels for d in usable]).astype(bool)
    logs = len(usable)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        s = x @ w
        top = np.full(logs, -np.inf)
        np.maximum.at(top, group, s)
        e = np.exp(s - top[group])
        z_all = np.bincount(group, e, logs)
        z_pos = np.bincount(group, e * positive, logs)
        value = float(np.sum(np.log(z_all) - np.log(z_pos))) / logs
        value += float(w @ w) / (2 * c * logs)
        gradient_s = (e / z_all[group] - positive * e / z_pos[group]) / logs
        return value, x.T @ gradient_s + w / (c * logs)

    result = optimize.minimize(loss, np.zeros(x.shape[1]), jac=True, method="L-BFGS-B")
    return {word: float(w) for word, w in zip(vocab, result.x[len(FEATURES) :], strict=True)}


def word_scores(data: Rows, words: dict[str, float]) -> np.ndarray:
    return np.array([sum(words.get(w, 0.0) for w in found) for found in data.words])


@dataclass(frozen=True)
class Settings:
    c: float = 0.3  # inverse L2 strength of the word weights
    min_projects: int = 3  # projects a word must appear in to get a weight
    trees: int = 150
    depth: int = 3
    rate: float = 0.1
    inner_folds: int = 4
    incident_weight: float = 3.0  # how much one incident log counts, against one CI log


def fit(training: Sequence[Rows], normal: Normal, settings: Settings) -> Ranker:
    """Word weights, then trees over the features and the word score.

    The trees must learn from word scores like those of logs the word weights never saw, so
    each training log's word score comes from weights fitted without its project (stacking,
    `inner_folds` folds of projects)."""
    names = sorted({d.case.project for d in training})
    c, min_projects = settings.c, settings.min_projects
    fold = {name: i % settings.inner_folds for i, name in enumerate(names)}
    scores: dict[str, np.ndarray] = {}
    for k in range(settings.inner_folds):
        inner = [d for d in training if fold[d.case.project] != k]
        words = fit_words(inner, normal, c, min_projects)
        for d in training:
            if fold[d.case.project] == k:
                scores[d.case.id] = word_scores(d, words)
    x = np.vstack([np.column_stack([with_common(d, normal), scores[d.case.id]]) for d in training])
    y = np.concatenate([d.labels for d in training])
    weight = np.concatenate(
        [
            np.where(d.labels == 1, 1 / max(1, d.labels.sum()), 1 / max(1, (1 - d.labels).sum()))
            * _domain_weight(d.case, settings)
            for d in training
        ]
    )
    model = HistGradientBoostingClassifier(
        max_depth=settings.depth,
        max_iter=settings.trees,
        learning_rate=settings.rate,
        monotonic_cst=[MONOTONE.get(name, 0) for name in INPUTS],
        random_state=0,
    )
    model.fit(x, y, sample_weight=weight)
    ranker = Ranker(
        base=float(np.ravel(model._baseline_prediction)[0]),
        trees=tuple(_tree(predictors[0].nodes) for predictors in model._predictors),
        words=fit_words(training, normal, c, min_projects),
    )
    check = x[: min(len(x), 500)]
    expected = model.decision_function(check)
    found = np.array([ranker.base + sum(t(row) for t in ranker.trees) for row in check])
    if not np.allclose(expected, found, atol=1e-6):
        raise AssertionError("the exported trees disagree with scikit-learn")
    return ranker


def _domain_weight(case: labelled.Case, settings: Settings) -> float:
    return settings.incident_weight if case.language == "incident" else 1.0


def _tree(nodes: Any) -> Tree:
    """A scikit-learn histogram tree as flat arrays (no missing values occur here)."""
    return Tree(
        feature=tuple(-1 if n["is_leaf"] else int(n["feature_idx"]) for n in nodes),
        threshold=tuple(float(n["num_threshold"]) for n in nodes),
        left=tuple(int(n["left"]) for n in nodes),
        right=tuple(int(n["right"]) for n in nodes),
        value=tuple(float(n["value"]) for n in nodes),
    )


def projects(cases: Iterable[labelled.Case]) -> list[str]:
    return sorted({case.project for case in cases})


def cross_validate(
    cases: list[labelled.Case],
    scans: dict[str, Scan],
    data: dict[str, Rows],
    args: argparse.Namespace,
) -> dict[str, labelled.Hits]:
    """Hold out a fold of projects at a time; every log is scored by models that never saw
    its project. `args.folds` 0: one project at a time."""
    names = projects(cases)
    folds = args.folds or len(names)
    results: dict[str, labelled.Hits] = {}
    for k in range(folds):
        held = {name for i, name in enumerate(names) if i % folds == k}
        train = [case for case in cases if case.project not in held]
        normal = normal_of((case.project, scans[case.id]) for case in train)
        ranker = fit([data[case.id] for case in train], normal, settings(args))
        for case in cases:
            if case.project in held:
                ranked = findings(scans[case.id], ranker=ranker, normal=normal)
                results[case.id] = labelled.hits(case, ranked)
                if args.details and not results[case.id].hit1:
                    _explain_miss(case, ranked, data[case.id])
    return results


def _explain_miss(case: labelled.Case, ranked: list[Finding], data: Rows) -> None:
    """What came first instead of the labelled lines, and whether any candidate had them."""
    where = next((i for i, f in enumerate(ranked, 1) if labelled.hits(case, [f]).hit1), None)
    print(
        f"MISS {case.id} spans={case.spans} candidates={len(data.labels)} "
        f"positive={int(data.labels.sum())} found_at={where}"
    )
    for finding in ranked[:3]:
        spans = ",".join(f"{e.line}-{e.end_line}" for e in finding.evidence)
        print(f"   {finding.id} {finding.score:.2f} [{spans}] {common.shorten(finding.title, 90)}")


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


def settings(args: argparse.Namespace) -> Settings:
    return Settings(
        c=args.c,
        min_projects=args.min_projects,
        trees=args.trees,
        depth=args.depth,
        rate=args.rate,
        incident_weight=args.incident_weight,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    common.add_common_args(parser, bifrost=False)
    defaults = Settings()
    parser.add_argument("--c", type=float, default=defaults.c, help="word weights' inverse L2")
    parser.add_argument("--trees", type=int, default=defaults.trees)
    parser.add_argument("--depth", type=int, default=defaults.depth)
    parser.add_argument("--rate", type=float, default=defaults.rate)
    parser.add_argument("--incident-weight", type=float, default=defaults.incident_weight)
    parser.add_argument("--write", action="store_true", help="write the fitted data files")
    parser.add_argument("--no-cv", action="store_true", help="skip the cross-validation")
    parser.add_argument(
        "--min-projects",
        type=int,
        default=defaults.min_projects,
        help="projects a word must appear in to count",
    )
    parser.add_argument(
        "--folds", type=int, default=0, help="folds of projects (default 0: one per project)"
    )
    parser.add_argument("--details", action="store_true", help="print each missed log")
    args = parser.parse_args(argv)

    sets = {
        "logchunks": labelled.logchunks(args.data),
        "cidiff": labelled.cidiff(args.data),
        "incidents": labelled.incidents(),
    }
    cases = [case for group in sets.values() for case in group]
    scans = labelled.scans(cases)
    data = {case.id: rows(case, scans[case.id]) for case in cases}
    results = {} if args.no_cv else cross_validate(cases, scans, data, args)
    for name, group in sets.items() if results else ():
        print(f"\n{name}: leave-projects-out ({len(projects(group))} projects, {len(group)} logs)")
        report(group, results)
    if args.write:
        normal = normal_of((case.project, scans[case.id]) for case in cases)
        ranker = fit([data[case.id] for case in cases], normal, settings(args))
        (DATA_OUT / "normal.json").write_text(normal.to_json(), encoding="utf-8")
        trained = f"{len(cases)} logs of {len(projects(cases))} projects"
        (DATA_OUT / "ranker.json").write_text(ranker.to_json(trained_on=trained), encoding="utf-8")
        print(f"\nwrote {DATA_OUT / 'ranker.json'} and {DATA_OUT / 'normal.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
