"""The item bootstrap against scipy.stats.bootstrap and against two-stage draws done by hand."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap

from benchmark.scoring import bootstrap as bootstrap_module
from benchmark.scoring.bootstrap import (Run, acceleration, bca_interval, bca_p_value, cluster_draws, fold_draws,
                                         jackknife_counts, metric_replicates, percentile_interval, replicates,
                                         result_interval, result_jackknife, result_observed, rng_for)
from benchmark.scoring.items import ItemOutputs
from benchmark.scoring.metrics import METRICS


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


def tagging(n: int = 90, classes: int = 5, seed: int = 4) -> ItemOutputs:
    rng = np.random.default_rng(seed)
    truth = rng.integers(0, classes, n)
    targets = (rng.random((n, classes)) < 0.2).astype(np.uint8)
    targets[np.arange(n), truth] = 1
    scores = rng.normal(size=(n, classes)) + 0.8 * targets
    return ItemOutputs("clips", {"id": np.arange(n).astype(str), "truth": truth, "prediction": scores.argmax(1),
                                 "targets": targets, "scores": scores})


def test_bca_of_one_run_of_iid_items_is_scipys_on_the_same_resamples():
    correct = (np.random.default_rng(1).random(50) < 0.6).astype(int)
    runs = [Run(None, None, labels(list(correct)))]
    reps = metric_replicates(runs[0].items, "accuracy", cluster_draws(runs[0].items.clusters, 999,
                                                                       np.random.default_rng(7)))
    mine = bca_interval(reps, result_observed(runs, "accuracy"), result_jackknife(runs, "accuracy", "t"))
    theirs = bootstrap((correct.astype(float),), np.mean, n_resamples=999, method="BCa",
                       rng=np.random.default_rng(7)).confidence_interval
    assert mine == pytest.approx((theirs.low, theirs.high), abs=1e-12)


def test_bca_corrects_the_upward_shift_of_average_precision_as_scipy_does():
    """Resampled test sets repeat clips, and repeats tie in a ranking: mAP's replicates sit above it."""
    items = tagging()
    runs = [Run(None, None, items)]
    reps = metric_replicates(items, "mAP", cluster_draws(items.clusters, 999, np.random.default_rng(7)))
    observed = result_observed(runs, "mAP")
    assert observed == pytest.approx(METRICS.get("mAP")(items["targets"], items["scores"]))
    assert np.median(reps) > observed + 0.005  # the shift the percentile interval inherits

    def statistic(idx, axis=-1):
        return np.array([METRICS.get("mAP")(items["targets"][i], items["scores"][i]) for i in np.atleast_2d(idx)])
    theirs = bootstrap((np.arange(len(items)),), statistic, n_resamples=999, method="BCa", vectorized=True,
                       rng=np.random.default_rng(7)).confidence_interval
    mine = bca_interval(reps, observed, result_jackknife(runs, "mAP", "t"))
    assert mine == pytest.approx((float(theirs.low[0]), float(theirs.high[0])), abs=1e-12)
    lo, hi = percentile_interval(reps)
    assert mine[0] < lo and mine[1] < hi  # moved down, towards the score


def test_bca_of_a_clustered_ratio_is_scipys_paired_bca_over_clusters():
    rng = np.random.default_rng(3)
    edits, words = rng.integers(0, 4, 30), rng.integers(3, 9, 30)
    items = ItemOutputs("transcripts", {"id": np.arange(30).astype(str), "word_edits": edits, "words": words,
                                        "char_edits": edits, "chars": words})
    runs = [Run(None, None, items)]
    reps = metric_replicates(items, "wer", cluster_draws(items.clusters, 500, rng_for(0, "t")))
    mine = bca_interval(reps, result_observed(runs, "wer"), result_jackknife(runs, "wer", "t"))
    theirs = bootstrap((edits, words), lambda e, w, axis: e.sum(axis) / w.sum(axis), paired=True, n_resamples=500,
                       method="BCa", rng=rng_for(0, "t"), vectorized=True).confidence_interval
    assert mine == pytest.approx((theirs.low, theirs.high), abs=1e-12)


def test_folds_are_the_jackknifes_strata_as_in_efron_and_tibshiranis_eq_15_36():
    a, b = labels([1, 1, 0, 1, 0, 1], "a"), labels([0, 0, 1, 0, 0], "b")
    runs = [Run(0, "1", a), Run(0, "2", b)]
    jack = result_jackknife(runs, "accuracy", "t")
    # fold 1 loses one clip at a time, fold 2 stays whole (1/5), and the score is their mean
    left_out = [(np.delete(np.array([1, 1, 0, 1, 0, 1]), i).mean() + 0.2) / 2 for i in range(6)]
    assert jack[0] == pytest.approx(left_out) and jack[1] == pytest.approx(
        [(4 / 6 + np.delete(np.array([0, 0, 1, 0, 0]), i).mean()) / 2 for i in range(5)])
    u = [(len(v) - 1) * (np.mean(v) - np.asarray(v)) for v in jack]
    by_hand = sum((x ** 3).sum() / len(x) ** 3 for x in u) / (6 * sum((x ** 2).sum() / len(x) ** 2 for x in u) ** 1.5)
    assert acceleration(jack) == pytest.approx(by_hand) and acceleration(jack) != 0


def test_a_large_test_set_is_jackknifed_in_seeded_groups(monkeypatch):
    monkeypatch.setattr(bootstrap_module, "JACKKNIFE_GROUPS", 10)
    counts = jackknife_counts(95, np.random.default_rng(0))
    assert counts.shape == (10, 95) and ((1 - counts).sum(0) == 1).all()  # each cluster left out once
    assert sorted((1 - counts).sum(1)) == [9] * 5 + [10] * 5
    assert (jackknife_counts(95, np.random.default_rng(0)) == counts).all()
    runs = [Run(None, None, tagging(n=95))]
    assert [len(v) for v in result_jackknife(runs, "mAP", "t")] == [10]
    lo, hi = result_interval(runs, "mAP", "t", "e", n_boot=300)
    assert lo < result_observed(runs, "mAP") < hi


def test_the_p_value_inverts_the_interval():
    rng = np.random.default_rng(2)
    jack = [rng.normal(0.03, 0.01, 40)]
    for shift in (0.0, 0.02, 0.05):
        reps = rng.normal(shift, 0.02, 2000) + 0.3 * rng.normal(0, 0.01, 2000) ** 2
        for level in (0.90, 0.95, 0.99):
            lo, hi = bca_interval(reps, shift, jack, level)
            p = bca_p_value(reps, shift, jack)
            assert (lo > 0 or hi < 0) == (p < 1 - level) or abs(p - (1 - level)) < 0.01
    assert bca_p_value(np.full(10, 0.2) + np.arange(10) / 100, 0.25, jack) == 0.0  # no replicate at or below 0


def test_bca_covers_a_biased_map_far_more_often_than_the_percentile_interval():
    """On small tagging test sets average precision overestimates the population's (its
    resamples more so): the percentile interval then misses the truth about half the time."""
    from scripts.bootstrap_coverage import coverage
    c = coverage(60, 1.0, 12, sims=120, n_boot=500)
    assert c["bias"] > 0.02
    assert c["percentile"] < 0.7 and c["BCa"] > c["percentile"] + 0.15
