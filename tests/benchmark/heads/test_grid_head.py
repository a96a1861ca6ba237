"""The batched grid of heads: MLP capacity, learned layer weights, attention pooling, fast AP."""
import numpy as np
import pytest
import torch
from sklearn.metrics import average_precision_score

from benchmark.heads.grid import (GridHead, fit_grid, grid_accuracy, grid_average_precision, grid_cross_entropy,
                                  grid_points, minibatches)
from tests.support.linear_probe import predict


def fit(x, y, xv, yv, *, hidden=(), layers=None, attention=False, mask=None, mask_v=None, epochs=300, lrs=(1e-2,)):
    points = grid_points(lr=lrs, weight_decay=(0.0,))
    head = GridHead(len(points), x.shape[-1], int(y.max()) + 1, hidden=hidden, layers=layers, attention=attention,
                    weight_decay=[0.0] * len(points), generator=torch.Generator().manual_seed(0))

    def batches(gen):
        for idx in minibatches(len(x), 4096, gen):
            yield ((x[idx],) if mask is None else (x[idx], mask[idx])), y[idx]

    def validate(h):
        out = h(xv) if mask_v is None else h(xv, mask_v)
        return grid_accuracy(out, yv), grid_cross_entropy(out, yv)

    return fit_grid(head, points, batches, grid_cross_entropy, validate, max_epochs=epochs, patience=epochs)


def xor(n, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 2, generator=gen) * 2 - 1
    return x, ((x[:, 0] > 0) ^ (x[:, 1] > 0)).long()


def test_mlp_grid_learns_xor_that_a_linear_head_cannot():
    x, y = xor(400, 0)
    xv, yv = xor(200, 1)
    linear = fit(x, y, xv, yv, epochs=150)
    mlp = fit(x, y, xv, yv, hidden=(64,), epochs=150)
    assert linear.chosen["valid_score"] < 0.7
    assert mlp.chosen["valid_score"] > 0.9


def test_weighted_layer_sum_finds_the_informative_layer():
    gen = torch.Generator().manual_seed(0)
    n, layers, d = 300, 4, 8
    y = torch.randint(0, 3, (n,), generator=gen)
    x = torch.randn(n, layers, d, generator=gen)
    x[:, 2, :3] += 3.0 * torch.nn.functional.one_hot(y, 3)  # only layer 2 knows the class
    fitted = fit(x[:200], y[:200], x[200:], y[200:], layers=layers, epochs=200)
    weights = fitted.chosen["layer_weights"]
    assert len(weights) == layers and abs(sum(weights) - 1) < 1e-3
    assert int(np.argmax(weights)) == 2 and fitted.chosen["valid_score"] > 0.9


def test_attention_pooling_finds_a_short_cue_that_mean_pooling_dilutes():
    gen = torch.Generator().manual_seed(0)
    n, t, d = 240, 40, 6
    y = torch.randint(0, 2, (n,), generator=gen)
    x = torch.randn(n, t, d, generator=gen)
    where = torch.randint(0, t, (n,), generator=gen)
    x[torch.arange(n), where, 0] = 8.0  # a marker frame ...
    x[torch.arange(n), where, 1] = torch.where(y == 1, 4.0, -4.0)  # ... carries the class
    mask = torch.ones(n, t, dtype=torch.bool)
    attended = fit(x[:160], y[:160], x[160:], y[160:], attention=True, mask=mask[:160], mask_v=mask[160:], epochs=200)
    pooled = fit(x[:160].mean(1), y[:160], x[160:].mean(1), y[160:], epochs=200)
    assert attended.chosen["valid_score"] > 0.9
    assert attended.chosen["valid_score"] > pooled.chosen["valid_score"]


def test_grid_average_precision_matches_sklearn():
    rng = np.random.default_rng(0)
    y = (rng.random((50, 4)) < 0.3).astype(np.float32)
    y[:, 3] = 0  # a class without positives is left out, as in metrics.mAP
    scores = rng.random((2, 50, 4))
    ours = grid_average_precision(torch.as_tensor(scores), torch.as_tensor(y))
    for g in range(2):
        ref = np.mean([average_precision_score(y[:, c], scores[g, :, c]) for c in range(3)])
        assert float(ours[g]) == pytest.approx(ref, abs=1e-9)


def test_picked_head_equals_its_grid_point_and_grid_points_are_independent():
    x = torch.randn(20, 5)
    head = GridHead(3, 5, 4, hidden=(7,), weight_decay=[0.0, 0.1, 1.0])
    head.eval()
    full = predict(head, x)
    for g in range(3):
        torch.testing.assert_close(predict(head.pick(g), x)[0], full[g])
    assert head.pick(1).weight_decay.tolist() == pytest.approx([0.1])


def test_batched_lbfgs_solves_each_row_and_stops_each_on_its_own():
    from benchmark.heads.lbfgs import minimize
    scales = torch.tensor([1.0, 10.0, 100.0])
    target = torch.tensor([[1.0, -2.0], [3.0, 0.5], [-1.0, 4.0]])

    def value_and_grad(theta, idx):  # independent ill-conditioned quadratics, one per row
        diff = theta - target[idx]
        weights = torch.stack([torch.ones(len(idx)), scales[idx]], 1)
        return 0.5 * (weights * diff ** 2).sum(1), weights * diff

    theta, iterations = minimize(torch.zeros(3, 2), value_and_grad, tol=1e-8)
    torch.testing.assert_close(theta, target, atol=1e-5, rtol=0)
    assert iterations[0] < iterations[2]  # the well-conditioned row left the batch first


def two_loop_direction(g, pairs, gamma):
    """Nocedal & Wright's algorithm 7.4 for one point: pairs (s, y) oldest first, H0 = gamma I."""
    q, alphas = g.clone(), []
    for s, y in reversed(pairs):
        a = (s @ q) / (y @ s)
        q -= a * y
        alphas.append(a)
    r = gamma * q
    for (s, y), a in zip(pairs, reversed(alphas)):
        r += (a - (y @ r) / (y @ s)) * s
    return -r


def lbfgs_history(it: int) -> tuple[torch.Tensor, ...]:
    """A gradient and L-BFGS ring buffers after `it` steps: g [A, P], S and Y [A, m, P] with
    positive curvature (y = H s), rho [A, m] with two rejected pairs, gamma [A]."""
    gen = torch.Generator().manual_seed(it)
    A, m, P = 3, 10, 7
    B = torch.randn(P, P, generator=gen, dtype=torch.float64)
    S = torch.randn(A, m, P, generator=gen, dtype=torch.float64)
    Y = S @ (B @ B.T + P * torch.eye(P, dtype=torch.float64))
    rho = 1 / (S * Y).sum(2)
    rho[1, 2] = rho[2, (it - 1) % m] = 0  # rejected pairs: skipped
    gamma = torch.tensor([1.0, 0.5, 2.0], dtype=torch.float64)
    g = torch.randn(A, P, generator=gen, dtype=torch.float64)
    return g, S, Y, rho, gamma


@pytest.mark.parametrize("it", [0, 1, 4, 10, 23])
def test_compact_lbfgs_direction_equals_the_two_loop_recursion(it):
    from benchmark.heads.lbfgs import _direction
    g, S, Y, rho, gamma = lbfgs_history(it)
    (A, m, _) = S.shape
    got = _direction(g, S, Y, rho, gamma, it)
    for a in range(A):
        slots = [(it - min(it, m) + k) % m for k in range(min(it, m))]  # ring buffer, oldest first
        pairs = [(S[a, j], Y[a, j]) for j in slots if rho[a, j] != 0]
        torch.testing.assert_close(got[a], two_loop_direction(g[a], pairs, gamma[a]))


@pytest.mark.parametrize("kind", ["softmax", "sigmoid"])
def test_analytic_logistic_gradient_matches_autograd(kind):
    from benchmark.heads.lbfgs import logistic
    from benchmark.heads.grid import grid_bce
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(30, 5, generator=gen, dtype=torch.float64)
    y = torch.randint(0, 4, (30,), generator=gen) if kind == "softmax" else (torch.rand(30, 4, generator=gen) < 0.4).double()
    wd = torch.tensor([0.1, 0.01], dtype=torch.float64)
    theta = torch.randn(2, 5 * 4 + 4, generator=gen, dtype=torch.float64, requires_grad=True)
    f, g = logistic(x, y, 4, wd, kind)(theta.detach(), torch.arange(2))
    w, b = theta[:, :20].view(2, 5, 4), theta[:, 20:].view(2, 1, 4)
    logits = x @ w + b
    ref = (grid_cross_entropy(logits, y) if kind == "softmax" else grid_bce(logits, y)) + 0.5 * wd * w.pow(2).sum((1, 2))
    torch.testing.assert_close(f, ref.detach())
    torch.testing.assert_close(g, torch.autograd.grad(ref.sum(), theta)[0])


def test_a_noisy_score_stops_training_once_its_gains_fall_below_min_delta():
    """A valid score that is noise around a slow drift (an EER on few pairs) keeps setting tiny
    records: patience restarted by any gain trains on, a least gain stops it."""
    x, y = torch.randn(64, 4, generator=torch.Generator().manual_seed(0)), torch.zeros(64, dtype=torch.long)

    def run(min_delta: float) -> int:
        head = GridHead(1, 4, 2, generator=torch.Generator().manual_seed(0))
        noise, epochs = np.random.default_rng(0), []

        def validate(h):
            epochs.append(len(epochs) + 1)
            score = 2e-3 * len(epochs) + 0.01 * noise.standard_normal()  # a new record every so often
            return torch.tensor([score]), torch.tensor([0.0])

        fit_grid(head, [{"lr": 1e-3}], lambda g: [((x,), y)], grid_cross_entropy, validate, max_epochs=600,
                 patience=20, converge=False, min_delta=min_delta)
        return len(epochs)

    assert run(min_delta=0.0) == 600  # records keep coming from the drift: the cap stops it
    assert run(min_delta=0.1) < 100  # a gain of 0.1 takes the drift 50 epochs, more than the patience
