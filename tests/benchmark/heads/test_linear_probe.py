import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from tests.support.linear_probe import train_linear


def blobs(n: int, d: int, classes: int, seed: int, spread: float = 1.5):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 1, (classes, d))
    y = rng.integers(0, classes, n)
    return (centres[y] * spread + rng.normal(0, 1, (n, d))).astype(np.float32), y


def test_matches_logistic_regression_on_overlapping_blobs():
    x, y = blobs(1500, 32, 5, seed=0, spread=0.6)
    tr, va, te = slice(0, 900), slice(900, 1200), slice(1200, None)
    probe = train_linear(x[tr], y[tr], x[va], y[va], 5, seed=0)
    ours = (probe.scores(x[te]).argmax(1) == y[te]).mean()
    scaler = StandardScaler().fit(x[tr])
    ref = LogisticRegression(max_iter=2000).fit(scaler.transform(x[tr]), y[tr]).score(scaler.transform(x[te]), y[te])
    assert 0.5 < ref < 0.98  # the case is neither trivial nor hopeless
    assert abs(ours - ref) < 0.03, (ours, ref)


def test_same_seed_same_model_and_chosen_point_reported():
    x, y = blobs(300, 8, 3, seed=1)
    a = train_linear(x[:200], y[:200], x[200:], y[200:], 3, seed=7)
    b = train_linear(x[:200], y[:200], x[200:], y[200:], 3, seed=7)
    assert np.array_equal(a.scores(x), b.scores(x))
    assert set(a.chosen) == {"weight_decay", "solver", "iterations", "valid_score"}


def test_minibatch_mode_also_learns():
    x, y = blobs(3000, 16, 4, seed=2)
    probe = train_linear(x[:2000], y[:2000], x[2000:2500], y[2000:2500], 4, seed=0, batch_size=256, max_epochs=30,
                         optimizer="adam")
    assert (probe.scores(x[2500:]).argmax(1) == y[2500:]).mean() > 0.9
