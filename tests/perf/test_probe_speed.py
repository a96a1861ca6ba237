"""The linear probe's speed target, measured in one run (`make perf`): the batched linear probe against
scikit-learn's LogisticRegression on the same cached embeddings, as a cold grid (one fit per
penalty) and as a warm-started path (each penalty's fit starting from the last solution).

All choose among the same L2 penalties on the valid split (our `weight_decay` w on the mean
loss is sklearn's C = 1 / (w * n_train)), ours with batched L-BFGS, every penalty at once.
Reported: test accuracy of each with its 95% interval (binomial, over the test clips), and
the wall-time ratios sklearn / ours (target: warm path / ours >= 1, at least as fast as the
faster peer). Both run on one thread (torch intra-op, sklearn's BLAS): a fair race
that a busy machine cannot skew with thread oversubscription. Best of REPEATS interleaved
runs.
"""
from __future__ import annotations

import copy
import math
import time

import numpy as np
import pytest
import soundfile as sf
import torch
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from benchmark.features.cache import EmbeddingCache
from benchmark.features.extract import extract
from benchmark.heads.grid import DEFAULT_WEIGHT_DECAYS
from tests.support.linear_probe import train_linear
from models.baselines import LogMel, RandomCNN

pytestmark = pytest.mark.perf
REPEATS = 3
RATE = 16000
REPORT_TITLE = "Linear probe speed"
REPORT_INTRO = """The batched L-BFGS linear probe against scikit-learn's `LogisticRegression` on the same
features and penalty grid, both on one thread, best of 3 interleaved runs. Accuracy: test
accuracy, with the 95% binomial interval of sklearn's over the test clips (they must agree
within it); beside it the same penalties as one warm-started scikit-learn path (strongest
first, each fit from the last one's solution), the fairer peer. Target: warm path / ours >= 1
(at least as fast as the faster peer)."""


def write_sounds(root, classes: int, per_class: int, seed: int = 0) -> tuple[list[str], np.ndarray]:
    """Harmonic sounds whose classes differ in pitch and timbre, overlapping enough that
    accuracy is neither trivial nor chance."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True)
    centres = [(rng.uniform(150, 1200), rng.uniform(0, 1, 6)) for _ in range(classes)]
    paths, labels = [], []
    for c, (f0, timbre) in enumerate(centres):
        for i in range(per_class):
            t = np.arange(int(rng.uniform(0.4, 1.0) * RATE)) / RATE
            f = f0 * rng.uniform(0.9, 1.1)
            amps = np.clip(timbre + rng.normal(0, 0.35, 6), 0, None)
            wave = sum(a * np.sin(2 * np.pi * f * (h + 1) * t) for h, a in enumerate(amps))
            wave = 0.2 * wave / (np.abs(wave).max() + 1e-9) + rng.normal(0, 0.08, len(t))
            path = root / f"{c:02d}_{i:03d}.wav"
            sf.write(path, wave.astype(np.float32), RATE)
            paths.append(str(path))
            labels.append(c)
    return paths, np.array(labels)


def sklearn_grid(x_tr, y_tr, x_va, y_va):
    """LogisticRegression (lbfgs) over the same penalties, chosen on valid accuracy."""
    scaler = StandardScaler().fit(x_tr)
    a, b = scaler.transform(x_tr), scaler.transform(x_va)
    best = None
    for wd in DEFAULT_WEIGHT_DECAYS:
        model = LogisticRegression(C=1.0 / (wd * len(a)), max_iter=1000).fit(a, y_tr)
        score = model.score(b, y_va)
        if best is None or score > best[0]:
            best = (score, model)
    return scaler, best[1]


def sklearn_warm_path(x_tr, y_tr, x_va, y_va):
    """The same penalties as one warm-started path (strongest first, each fit starting from the
    last one's solution, as a regularisation path is solved), chosen on valid accuracy."""
    scaler = StandardScaler().fit(x_tr)
    a, b = scaler.transform(x_tr), scaler.transform(x_va)
    model, best = LogisticRegression(max_iter=1000, warm_start=True), None
    for wd in sorted(DEFAULT_WEIGHT_DECAYS, reverse=True):
        model.set_params(C=1.0 / (wd * len(a))).fit(a, y_tr)
        score = model.score(b, y_va)
        if best is None or score > best[0]:
            best = (score, copy.deepcopy(model))
    return scaler, best[1]


def binomial_ci(p: float, n: int) -> float:
    return 1.96 * math.sqrt(max(p * (1 - p), 1e-12) / n)


def race(x: np.ndarray, labels: np.ndarray, classes: int, what: str, report, ratio_line) -> None:
    torch.set_num_threads(1)
    order = np.random.default_rng(0).permutation(len(x))
    tr, va, te = np.split(order, [int(0.6 * len(x)), int(0.8 * len(x))])
    ours_s, ref_s, warm_s = [], [], []
    for _ in range(REPEATS):
        start = time.perf_counter()
        probe = train_linear(x[tr], labels[tr], x[va], labels[va], classes, seed=0)
        ours_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        with threadpool_limits(1):
            scaler, model = sklearn_grid(x[tr], labels[tr], x[va], labels[va])
        ref_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        with threadpool_limits(1):
            warm_scaler, warm_model = sklearn_warm_path(x[tr], labels[tr], x[va], labels[va])
        warm_s.append(time.perf_counter() - start)
    ours = float((probe.scores(x[te]).argmax(1) == labels[te]).mean())
    ref = float(model.score(scaler.transform(x[te]), labels[te]))
    warm = float(warm_model.score(warm_scaler.transform(x[te]), labels[te]))
    ci = binomial_ci(ref, len(te))
    ratio, warm_ratio = min(ref_s) / min(ours_s), min(warm_s) / min(ours_s)
    print(f"\n[linear probe] {len(tr)} train / {len(va)} valid / {len(te)} test, {x.shape[1]}-d {what}, "
          f"{classes} classes: ours {ours:.3f} (chosen {probe.chosen}) vs "
          f"LogisticRegression {ref:.3f} ± {ci:.3f} (95% CI; grid of 4 C values) -> difference {ours - ref:+.3f}; "
          f"time ours {min(ours_s):.2f} s, sklearn {min(ref_s):.2f} s -> sklearn/ours = {ratio:.2f}x, "
          f"warm-started sklearn path {min(warm_s):.2f} s ({warm:.3f}) -> {warm_ratio:.2f}x (target >= 1)")
    report.row(["features", "train / valid / test", "dims", "classes", "ours accuracy", "sklearn accuracy",
                "warm path accuracy", "ours s", "sklearn s", "warm path s", "sklearn / ours", "warm path / ours (>= 1)"],
               [what, f"{len(tr)} / {len(va)} / {len(te)}", x.shape[1], classes, f"{ours:.3f}",
                f"{ref:.3f} ± {ci:.3f}", f"{warm:.3f}", f"{min(ours_s):.2f}", f"{min(ref_s):.2f}", f"{min(warm_s):.2f}",
                f"{ratio:.2f}x", f"{warm_ratio:.2f}x"])
    ratio_line(f"warm-started scikit-learn path / our linear probe ({x.shape[1]}-d {what}, {classes} classes)",
               f"{warm_ratio:.2f}x", ">= 1x", warm_ratio >= 1)
    assert 0.3 < ref < 0.98  # neither trivial nor hopeless
    assert abs(ours - ref) <= ci and abs(warm - ref) <= ci


@pytest.mark.parametrize("upstream", ["logmel", "random-cnn"])
def test_on_cached_embeddings(tmp_path, upstream, perf_report, perf_ratio):
    paths, labels = write_sounds(tmp_path / "clips", classes=12, per_class=150)
    model = LogMel() if upstream == "logmel" else RandomCNN()
    emb = extract(model, paths, task="perf-probe", task_version="1", split="all", progress=False,
                  cache=EmbeddingCache(tmp_path / "cache"))
    x = np.asarray(emb.data[:, -1], dtype=np.float32)  # cached float16 -> the last layer, [N, D]
    race(x, labels, 12, f"cached {upstream} features", perf_report, perf_ratio)


def test_at_esc50_scale(perf_report, perf_ratio):
    """ESC-50's shape (1600 train clips, 50 classes) on 768-d features (a ViT-B upstream):
    Gaussian class clusters, overlapping enough to leave errors."""
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 50, 2700)
    x = (0.15 * rng.normal(0, 1, (50, 768))[labels] + rng.normal(0, 1, (2700, 768))).astype(np.float32)
    race(x, labels, 50, "synthetic embeddings", perf_report, perf_ratio)
