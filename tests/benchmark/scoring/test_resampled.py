"""Metrics under item weights equal the registered metric on the test set with each item
repeated as often as its weight (the definition of a bootstrap resample)."""
from __future__ import annotations

import numpy as np
import pytest

from benchmark.scoring.items import ItemOutputs, event_outputs, query_outputs
from benchmark.scoring.metrics import METRICS, sed_file_counts
from benchmark.scoring.resampled import supports, value, weighted

RNG = np.random.default_rng(0)


def draws(n: int, rows: int = 6) -> np.ndarray:
    """Resample weights, one row of ones (the run itself) and rows that leave items out."""
    return np.vstack([np.ones(n), *(np.bincount(RNG.integers(0, n, n), minlength=n) for _ in range(rows))])


def repeated(w: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(w)), w.astype(int))


def clips(n: int = 40, classes: int = 4) -> ItemOutputs:
    truth = RNG.integers(0, classes, n)
    scores = RNG.normal(size=(n, classes)).round(1) + np.eye(classes)[truth]  # rounded: ties
    targets = (RNG.random((n, classes)) < 0.3).astype(np.uint8)
    return ItemOutputs("clips", {"id": np.arange(n).astype(str), "truth": truth, "prediction": scores.argmax(1),
                                 "targets": targets, "scores": scores})


@pytest.mark.parametrize("metric", ["accuracy", "macro_f1", "pitch_acc", "chroma_acc"])
def test_top1_metrics(metric):
    items = clips()
    for w in draws(len(items)):
        idx = repeated(w)
        assert weighted(items, metric, w[None])[0] == pytest.approx(
            METRICS.get(metric)(items["truth"][idx], items["prediction"][idx]), abs=1e-12)


@pytest.mark.parametrize("metric", ["mAP", "roc_auc", "d_prime"])
def test_ranking_metrics_with_ties_and_classes_that_drop_out(metric):
    items = clips(n=12)
    for w in draws(len(items), rows=20):
        idx = repeated(w)
        expected = METRICS.get(metric)(items["targets"][idx], items["scores"][idx])
        assert weighted(items, metric, w[None])[0] == pytest.approx(expected, abs=1e-12, nan_ok=True)


@pytest.mark.parametrize("metric", ["eer", "min_dcf"])
def test_verification_metrics(metric):
    n = 60
    target = (RNG.random(n) < 0.3).astype(np.int8)
    score = (RNG.normal(size=n) + target).round(1)
    items = ItemOutputs("trials", {"id": np.arange(n).astype(str), "score": score, "target": target,
                                   "speaker": (np.arange(n) % 5).astype(str)})
    for w in draws(n, rows=20):
        idx = repeated(w)
        assert weighted(items, metric, w[None])[0] == pytest.approx(METRICS.get(metric)(target[idx], score[idx]),
                                                                    abs=1e-12)


def test_retrieval_ranks():
    similarity = RNG.normal(size=(30, 10)).round(1)
    relevant = [{q % 10} for q in range(30)]
    items = query_outputs([f"/data/{i}.wav" for i in range(10)], similarity, relevant)
    for w in draws(30):
        idx = repeated(w)
        for metric in ("r@1", "r@5", "mAP@10"):
            expected = METRICS.get(metric)(similarity[idx], [relevant[i] for i in idx])
            assert weighted(items, metric, w[None])[0] == pytest.approx(expected, abs=1e-12)
    assert list(items.ids[:3]) == ["0.wav#0", "1.wav#0", "2.wav#0"] and items.ids[10] == "0.wav#1"


@pytest.mark.parametrize("metric", ["event_onset_200ms_fms", "segment_1s_er"])
def test_sed_counts_summed_over_resampled_files_give_sed_eval_on_those_files(metric):
    files = [f"f{i}.wav" for i in range(8)]
    reference = {f: [(0.5 * k, 0.5 * k + 0.4, "ab"[k % 2]) for k in range(i % 3)] for i, f in enumerate(files)}
    estimate = {f: [(on + RNG.uniform(-0.3, 0.3), off, label) for on, off, label in events if RNG.random() < 0.7]
                for f, events in reference.items()}
    counts = sed_file_counts(metric, reference, estimate)
    items = event_outputs(files, {metric: {k: [counts[f][k] for f in files] for k in counts[files[0]]}})
    for w in draws(len(files), rows=10):
        copies = [(f, c) for f, k in zip(files, w.astype(int)) for c in range(k)]
        expected = METRICS.get(metric)({f"{c}-{f}": reference[f] for f, c in copies},
                                       {f"{c}-{f}": estimate[f] for f, c in copies})
        assert weighted(items, metric, w[None])[0] == pytest.approx(expected, abs=1e-12)


def test_nothing_detected_scores_zero_as_the_metric_does():
    reference = {"a.wav": [(0.0, 1.0, "x")]}
    counts = sed_file_counts("event_onset_200ms_fms", reference, {"a.wav": []})
    items = event_outputs(["a.wav"], {"event_onset_200ms_fms": {k: [v] for k, v in counts["a.wav"].items()}})
    assert value(items, "event_onset_200ms_fms") == 0.0 == METRICS.get("event_onset_200ms_fms")(reference, {})


def test_what_is_not_covered_says_so():
    items = clips()
    assert not supports(items, "psds1") and supports(items, "mAP")
    assert not supports(ItemOutputs("clips", {"id": np.array(["a"]), "truth": np.array([0]),
                                              "prediction": np.array([0])}), "mAP")
    with pytest.raises(ValueError, match="cannot be recomputed"):
        weighted(items, "psds1", np.ones((1, len(items))))
