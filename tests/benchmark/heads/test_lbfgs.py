"""The probe's L-BFGS: the numpy path (plain logistic regression on CPU) against the torch
solver, scikit-learn and an independent scipy solution."""
from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import torch

from benchmark.heads import lbfgs


def problem(kind: str, n: int = 120, dim: int = 6, classes: int = 4, grid: int = 3, seed: int = 0,
            dtype=torch.float64):
    """Overlapping classes (a finite optimum for every penalty), a small random start."""
    gen = torch.Generator().manual_seed(seed)
    centres = torch.randn(classes, dim, generator=gen, dtype=dtype)
    labels = torch.randint(0, classes, (n,), generator=gen)
    x = centres[labels] + 1.5 * torch.randn(n, dim, generator=gen, dtype=dtype)
    if kind == "softmax":
        y = labels
    else:  # multi-hot: the own class, sometimes a second one
        y = torch.nn.functional.one_hot(labels, classes).to(dtype)
        y[torch.rand(n, classes, generator=gen) < 0.15] = 1
    theta = torch.cat([0.01 * torch.randn(grid, dim * classes, generator=gen, dtype=dtype),
                       torch.zeros(grid, classes, dtype=dtype)], dim=1)
    weight_decay = torch.logspace(-3, -1, grid, dtype=dtype)
    return theta, x, y, classes, weight_decay


@pytest.mark.parametrize("kind", ["softmax", "sigmoid"])
def test_numpy_path_takes_the_torch_solvers_steps(kind):
    theta, x, y, classes, wd = problem(kind)
    ours, iterations = lbfgs.fit_logistic(theta, x, y, classes, wd, kind)
    ref, ref_iterations = lbfgs.minimize(theta, lbfgs.logistic(x, y, classes, wd, kind))
    assert ours.shape == theta.shape and ours.dtype == theta.dtype
    torch.testing.assert_close(ours, ref, atol=1e-6, rtol=0)
    assert (iterations - ref_iterations).abs().max() <= 1
    assert iterations.dtype == torch.long and (iterations > 0).all()


@pytest.mark.parametrize("kind", ["softmax", "sigmoid"])
def test_numpy_objective_matches_the_torch_objective(kind):
    theta, x, y, classes, wd = problem(kind, grid=3)
    theta = theta + 0.3 * torch.randn(theta.shape, generator=torch.Generator().manual_seed(1), dtype=theta.dtype)
    dim = x.shape[1]
    f, g = lbfgs.logistic(x, y, classes, wd, kind)(theta[[0, 2]], torch.tensor([0, 2]))
    # the numpy layout: per point [C, D+1], class c's weights then its bias
    rows = torch.cat([theta[:, :dim * classes].view(3, dim, classes).transpose(1, 2), theta[:, dim * classes:, None]],
                     dim=2).reshape(3, -1).numpy()
    x1 = np.concatenate([x.numpy(), np.ones((len(x), 1))], axis=1)
    f_np, g_np = lbfgs._logistic_np(x1, y.numpy(), classes, wd.numpy(), kind)(rows[[0, 2]], np.array([0, 2]))
    np.testing.assert_allclose(f_np, f.numpy(), rtol=1e-12)
    g_np = torch.from_numpy(g_np).view(2, classes, dim + 1)
    g_ref = torch.cat([g_np[:, :, :dim].transpose(1, 2).reshape(2, -1), g_np[:, :, dim]], dim=1)
    torch.testing.assert_close(g_ref, g, rtol=1e-10, atol=1e-12)


def test_softmax_solution_matches_scikit_learn():
    from sklearn.linear_model import LogisticRegression
    theta, x, y, classes, wd = problem("softmax")
    ours, _ = lbfgs.fit_logistic(theta, x, y, classes, wd, "softmax", tol=1e-9, ftol=0.0, max_iter=2000)
    dim, n = x.shape[1], len(x)
    for g, decay in enumerate(wd.tolist()):
        model = LogisticRegression(C=1.0 / (decay * n), tol=1e-10, max_iter=5000).fit(x.numpy(), y.numpy())
        w = ours[g, :dim * classes].view(dim, classes).numpy()
        b = ours[g, dim * classes:].numpy()
        np.testing.assert_allclose(w, model.coef_.T, atol=1e-5)
        # the intercepts are unpenalised and softmax ignores a shift common to all classes
        np.testing.assert_allclose(b - b.mean(), model.intercept_ - model.intercept_.mean(), atol=1e-5)


def test_sigmoid_solution_matches_an_independent_scipy_solution():
    theta, x, y, classes, wd = problem("sigmoid")
    ours, _ = lbfgs.fit_logistic(theta, x, y, classes, wd, "sigmoid", tol=1e-9, ftol=0.0, max_iter=2000)
    xn, yn = x.numpy(), y.numpy()
    n, dim = xn.shape

    def objective(p, decay):  # mean BCE over items and classes + 0.5 * decay * ||W||^2
        w, b = p[:dim * classes].reshape(dim, classes), p[dim * classes:]
        z = xn @ w + b
        f = np.mean(np.logaddexp(0, z) - yn * z) + 0.5 * decay * np.sum(w * w)
        dz = (1 / (1 + np.exp(-z)) - yn) / (n * classes)
        return f, np.concatenate([(xn.T @ dz + decay * w).ravel(), dz.sum(0)])

    for g, decay in enumerate(wd.tolist()):
        ref = scipy.optimize.minimize(objective, np.zeros(theta.shape[1]), args=(decay,), jac=True, method="L-BFGS-B",
                                      options={"gtol": 1e-12, "ftol": 1e-15, "maxiter": 10000})
        np.testing.assert_allclose(ours[g].numpy(), ref.x, atol=1e-5)


def test_float32_probe_matches_the_float64_optimum():
    """float32 (what the probe runs in) stops at sklearn's gtol near the float64 optimum."""
    theta, x, y, classes, wd = problem("softmax", n=400, dim=16, classes=6, grid=4)
    exact, _ = lbfgs.fit_logistic(theta, x, y, classes, wd, "softmax", tol=1e-9, ftol=0.0, max_iter=2000)
    ours, iterations = lbfgs.fit_logistic(theta.float(), x.float(), y, classes, wd.float(), "softmax")
    assert ours.dtype == torch.float32 and (iterations < 500).all()
    value = lbfgs.logistic(x, y, classes, wd, "softmax")
    f_ours, _ = value(ours.double(), torch.arange(4))
    f_exact, _ = value(exact, torch.arange(4))
    assert (f_ours - f_exact).max() < 2e-5  # gtol 1e-4: within ~gtol^2 / (2 * weight decay) of the optimum
    assert (x @ ours[:, :16 * 6].double().view(4, 16, 6)).argmax(-1).eq(
        (x @ exact[:, :16 * 6].view(4, 16, 6)).argmax(-1)).double().mean() > 0.99


def test_numpy_solver_is_deterministic_and_leaves_the_start_alone():
    theta, x, y, classes, wd = problem("softmax", dtype=torch.float32)
    start = theta.clone()
    a, ia = lbfgs.fit_logistic(theta, x, y, classes, wd, "softmax")
    b, ib = lbfgs.fit_logistic(theta, x, y, classes, wd, "softmax")
    assert torch.equal(a, b) and torch.equal(ia, ib)
    assert torch.equal(theta, start)


def test_numpy_minimize_solves_each_row_and_stops_each_on_its_own():
    scales = np.array([1.0, 10.0, 100.0, 3.0])
    target = np.array([[1.0, -2.0], [3.0, 0.5], [-1.0, 4.0], [0.0, 0.0]])
    seen = []

    def value_and_grad(theta, ids):  # independent ill-conditioned quadratics, one per row
        seen.append(ids.tolist())
        diff = theta - target[ids]
        weights = np.stack([np.ones(len(ids)), scales[ids]], 1)
        return 0.5 * (weights * diff ** 2).sum(1), weights * diff

    theta, iterations = lbfgs._minimize_np(np.zeros((4, 2)), value_and_grad, max_iter=500, history=10, tol=1e-8,
                                          ftol=0.0)
    np.testing.assert_allclose(theta, target, atol=1e-6)
    assert iterations[3] == 0  # at its optimum from the start: never evaluated again
    assert iterations[0] < iterations[2]  # the well-conditioned row left the batch first
    assert all(3 not in ids for ids in seen[1:]) and 0 not in seen[-1]  # the compacted batch keeps the right rows


@pytest.mark.parametrize("it", [0, 1, 4, 10, 23])
def test_two_loop_equals_the_compact_direction(it):
    from tests.benchmark.heads.test_grid_head import lbfgs_history
    g, S, Y, rho, gamma = lbfgs_history(it)
    ref = lbfgs._direction(g, S, Y, rho, gamma, it)
    got = lbfgs._two_loop(g.numpy(), S.transpose(0, 1).numpy(), Y.transpose(0, 1).numpy(), rho.T.numpy(),
                          gamma.numpy(), it)
    np.testing.assert_allclose(got, ref.numpy(), rtol=1e-9, atol=1e-12)


def test_fit_lbfgs_reports_the_winners_iterations():
    from tests.support.linear_probe import train_linear
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 300)
    x = (rng.normal(0, 1, (5, 12))[labels] + rng.normal(0, 1.5, (300, 12))).astype(np.float32)
    one = train_linear(x[:200], labels[:200], x[200:], labels[200:], 5)
    two = train_linear(x[:200], labels[:200], x[200:], labels[200:], 5)
    assert one.chosen["solver"] == "lbfgs" and 0 < one.chosen["iterations"] < 500
    assert one.chosen == two.chosen and torch.equal(one.weight, two.weight)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_cuda_runs_the_torch_solver_to_the_same_solution():
    theta, x, y, classes, wd = problem("softmax")
    cpu, _ = lbfgs.fit_logistic(theta, x, y, classes, wd, "softmax")
    gpu, _ = lbfgs.fit_logistic(theta.cuda(), x.cuda(), y.cuda(), classes, wd.cuda(), "softmax")
    assert gpu.device.type == "cuda"
    torch.testing.assert_close(gpu.cpu(), cpu, atol=1e-6, rtol=0)
