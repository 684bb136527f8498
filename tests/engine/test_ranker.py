"""The learned ranker and the model of normal lines: data files read back exactly, trees
evaluate as fitted, and the packaged models fit the engine's features."""

import json
import math

import pytest

from bifrost.engine import normal, ranker
from bifrost.engine.features import FEATURES, words
from bifrost.engine.normal import Normal
from bifrost.engine.ranker import INPUTS, Ranker, Tree

# x[0] <= 0.5 ? (x[words] <= 1.0 ? -1.0 : 2.0) : 3.0
STUMP = Tree(
    feature=(0, len(FEATURES), -1, -1, -1),
    threshold=(0.5, 1.0, 0.0, 0.0, 0.0),
    left=(1, 2, 0, 0, 0),
    right=(4, 3, 0, 0, 0),
    value=(0.0, 0.0, -1.0, 2.0, 3.0),
)


def test_a_tree_sends_values_at_or_below_the_threshold_left() -> None:
    zeros = [0.0] * len(INPUTS)
    assert STUMP(zeros) == -1.0
    assert STUMP([0.5, *zeros[1:]]) == -1.0
    assert STUMP([0.51, *zeros[1:]]) == 3.0
    assert STUMP([*zeros[:-1], 1.5]) == 2.0


def test_the_word_score_is_an_input_of_the_trees() -> None:
    model = Ranker(base=0.5, trees=(STUMP,), words={"refused": 0.75, "timeout": 0.5})
    features = [0.0] * len(FEATURES)
    assert model.logit(features) == 0.5 - 1.0
    assert model.logit(features, {"refused", "timeout", "unknown"}) == 0.5 + 2.0
    assert model.probability(features, {"refused", "timeout"}) == pytest.approx(
        1 / (1 + math.exp(-2.5))
    )


def test_a_ranker_reads_back_what_it_wrote() -> None:
    model = Ranker(base=-1.25, trees=(STUMP, STUMP), words={"denied": 1.5})
    again = Ranker.from_json(model.to_json(trained_on="test"))
    assert again == model
    assert json.loads(model.to_json())["inputs"] == list(INPUTS)


def test_a_ranker_fitted_on_other_features_is_refused() -> None:
    data = json.loads(Ranker(base=0.0, trees=(STUMP,), words={}).to_json())
    data["inputs"] = [*data["inputs"][:-2], "words"]
    with pytest.raises(ValueError, match="other features"):
        Ranker.from_json(json.dumps(data))


def test_a_tree_that_splits_on_an_unknown_input_is_refused() -> None:
    broken = STUMP.to_dict() | {"feature": [len(INPUTS), -1, -1, -1, -1]}
    with pytest.raises(ValueError, match="unknown input"):
        Tree.from_dict(broken)


def test_the_packaged_ranker_fits_the_features_and_ranks_errors_above_noise() -> None:
    model = ranker.packaged()
    assert model.trees
    quiet = dict.fromkeys(FEATURES, 0.0) | {"level_quiet": 1.0, "count": 0.6, "common": 0.9}
    error = dict.fromkeys(FEATURES, 0.0) | {
        "level_error": 1.0,
        "trouble_words": 1.0,
        "signature": 1.0,
        "once": 1.0,
    }
    low = model.probability([quiet[f] for f in FEATURES], words("Downloading artifacts"))
    high = model.probability([error[f] for f in FEATURES], words("connection refused"))
    assert 0.0 < low < high < 1.0


def test_words_split_identifiers_and_keep_symbols() -> None:
    assert words("AssertionError: expected_value ✖ x") == {
        "assertion",
        "error",
        "expected",
        "value",
        "✖",
    }


def test_commonness_is_the_share_of_projects_and_ignores_case_and_spacing() -> None:
    model = Normal(projects=4, lines={"git version <*>": 3})
    assert model.commonness("Git  version <*>") == 0.75
    assert model.commonness("fatal: bad object <*>") == 0.0
    assert Normal(projects=0, lines={}).commonness("anything") == 0.0
    assert Normal.from_json(model.to_json()) == model


def test_the_packaged_model_knows_ci_boilerplate() -> None:
    model = normal.packaged()
    assert model.projects >= 40
    assert model.commonness("git version <*>") > 0.5
    assert model.commonness("error: could not compile `bifrost`") == 0.0
