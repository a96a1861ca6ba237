"""The item bootstrap against scipy.stats.bootstrap and against two-stage draws done by hand."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap

from benchmark.scoring.bootstrap import (Run, cluster_draws, fold_draws, metric_replicates, percentile_interval,
                                         replicates, rng_for)
from benchmark.scoring.items import ItemOutputs


def labels(correct: list[int], name: str = "c") -> ItemOutputs:
    n = len(correct)
    return ItemOutputs("clips", {"id": np.array([f"{name}{i}" for i in range(n)]), "truth": np.zeros(n, int),
                                 "prediction": 1 - np.asarray(correct)})


def test_one_run_of_iid_items_is_scipys_percentile_bootstrap_on_the_same_resamples():
    correct = (np.random.default_rng(1).random(50) < 0.6).astype(int)
    items = labels(list(correct))
    weights = cluster_draws(items.clusters, 999, np.random.default_rng(7))
    mine = percentile_interval(metric_replicates(items, "accuracy", weights))
    theirs = bootstrap((correct.astype(float),), np.mean, n_resamples=999, method="percentile",
                       rng=np.random.default_rng(7)).confidence_interval
    assert mine == pytest.approx((theirs.low, theirs.high), abs=1e-12)


def test_clusters_are_drawn_whole():
    clusters = np.array([0, 0, 0, 1, 2, 2])
    w = cluster_draws(clusters, 200, np.random.default_rng(0))
    assert (w[:, 0] == w[:, 1]).all() and (w[:, 4] == w[:, 5]).all()
    assert (w[:, [0, 3, 4]].sum(1) == 3).all()  # 3 clusters drawn per replicate


def test_clustered_ratio_matches_scipy_over_clusters():
    """WER by file = a ratio of sums: the same as scipy resampling (edits, words) pairs."""
    rng = np.random.default_rng(3)
    edits, words = rng.integers(0, 4, 30), rng.integers(3, 9, 30)
    items = ItemOutputs("transcripts", {"id": np.arange(30).astype(str), "word_edits": edits, "words": words,
                                        "char_edits": edits, "chars": words})
    mine = percentile_interval(metric_replicates(items, "wer", cluster_draws(items.clusters, 500, rng_for(0, "t"))))
    theirs = bootstrap((edits, words), lambda e, w, axis: e.sum(axis) / w.sum(axis), paired=True, n_resamples=500,
                       method="percentile", rng=rng_for(0, "t"), vectorized=True).confidence_interval
    assert mine == pytest.approx((theirs.low, theirs.high), abs=1e-12)


def test_seeds_are_resampled_and_items_shared_across_them():
    seeds = [labels([1, 1, 0, 0, 1]), labels([1, 0, 0, 0, 1]), labels([1, 1, 1, 0, 1])]
    runs = [Run(s, None, items) for s, items in enumerate(seeds)]
    draws = fold_draws(runs, 300, 0, "task")
    got = replicates(runs, "accuracy", draws, np.random.default_rng(5))
    # by hand: the same item weights for every seed, seeds drawn with the next integers of the generator
    w = draws[None]
    per_seed = np.stack([(w @ (1 - s["prediction"])) / w.sum(1) for s in seeds])
    picks = np.random.default_rng(5).integers(0, 3, size=(300, 3))
    assert got == pytest.approx(np.take_along_axis(per_seed.T, picks, axis=1).mean(1))
    # identical predictions under every seed: the interval is the items' alone
    same = [Run(s, None, seeds[0]) for s in range(3)]
    assert replicates(same, "accuracy", draws, np.random.default_rng(5)) == pytest.approx(per_seed[0])


def test_folds_are_strata_averaged():
    a, b = labels([1, 1, 1, 1], "a"), labels([0, 0, 1, 0, 0], "b")
    runs = [Run(0, "1", a), Run(0, "2", b)]
    draws = fold_draws(runs, 100, 0, "task")
    assert set(draws) == {"1", "2"} and draws["1"].shape == (100, 4) and draws["2"].shape == (100, 5)
    got = replicates(runs, "accuracy", draws, np.random.default_rng(0))
    assert got == pytest.approx((1.0 + (draws["2"][:, 2] / 5)) / 2)


def test_draws_depend_on_the_test_set_not_on_call_order():
    assert (cluster_draws(np.arange(9), 5, rng_for(0, "kws", None)) ==
            cluster_draws(np.arange(9), 5, rng_for(0, "kws", None))).all()
    assert not (cluster_draws(np.arange(9), 5, rng_for(0, "kws", None)) ==
                cluster_draws(np.arange(9), 5, rng_for(0, "sed", None))).all()
