"""L-BFGS for a grid of independent problems at once: the linear probe's solver.

A linear head with an L2 penalty is logistic regression, which quasi-Newton methods solve
in tens of iterations where first-order methods need hundreds of epochs (scikit-learn's
LogisticRegression uses L-BFGS too). Here every grid point (one L2 penalty each) is its
own L-BFGS problem on a row of a [G, P] parameter matrix: values and gradients of all
points come from one batched evaluation, the two-loop recursion and an Armijo
backtracking line search run row-wise, and a point that has converged leaves the batch,
so the total work is about that of solving the problems one by one, without their
per-problem overhead. Full batch: the training features must fit in memory.

`minimize` is the solver in torch (any objective, any device: a learned layer weighting
goes through autograd; CUDA). The plain probe on CPU (`fit_logistic`) runs the same steps
in numpy, float32 as in torch: there an iteration is tens of small operations around two
matrix products, and torch's per-operation overhead, not arithmetic, was most of its time.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch

ARMIJO = 1e-4
MAX_HALVINGS = 30

#: (theta [A, P] of the active points, their indices [A]) -> (values [A], gradients [A, P])
ValueAndGrad = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


def minimize(theta: torch.Tensor, value_and_grad: ValueAndGrad, *, max_iter: int = 500, history: int = 10,
             tol: float = 1e-4, ftol: float = 1e-9) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise each row of `theta` [G, P] independently; returns (solution [G, P], iterations [G]).

    A point stops when its largest gradient entry is at most `tol` or its relative
    decrease falls below `ftol` (the criteria scikit-learn's lbfgs uses, gtol=1e-4).
    """
    theta = theta.detach().clone()
    grid, size = theta.shape
    S = torch.zeros(grid, history, size, dtype=theta.dtype, device=theta.device)
    Y = torch.zeros_like(S)
    rho = torch.zeros(grid, history, dtype=theta.dtype, device=theta.device)  # 0: empty or rejected slot
    gamma = torch.ones(grid, dtype=theta.dtype, device=theta.device)
    iterations = torch.zeros(grid, dtype=torch.long)
    idx = torch.arange(grid, device=theta.device)
    f, g = value_and_grad(theta, idx)
    for it in range(max_iter):
        keep = g.abs().amax(1) > tol
        idx, f, g = idx[keep], f[keep], g[keep]
        if not len(idx):
            break
        everyone = len(idx) == grid  # views, not copies, while no point has left
        d = _direction(g, *((S, Y, rho, gamma) if everyone else (S[idx], Y[idx], rho[idx], gamma[idx])), it)
        slope = (g * d).sum(1)
        uphill = slope >= 0  # numerical trouble: restart that point from steepest descent
        if uphill.any():
            d[uphill], slope[uphill] = -g[uphill], -(g[uphill] ** 2).sum(1)
            rho[idx[uphill]] = 0
        step = torch.ones_like(f) if it else torch.clamp(1.0 / g.abs().sum(1), max=1.0)
        x = theta[idx]
        f_new, g_new = value_and_grad(x + step[:, None] * d, idx)
        for _ in range(MAX_HALVINGS):
            bad = ~(f_new <= f + ARMIJO * step * slope)
            if not bad.any():
                break
            step[bad] /= 2
            f_new[bad], g_new[bad] = value_and_grad(x[bad] + step[bad, None] * d[bad], idx[bad])
        else:  # no decrease found: that point is as good as it gets
            step[bad], f_new[bad], g_new[bad] = 0.0, f[bad], g[bad]
        s, y = step[:, None] * d, g_new - g
        sy = (s * y).sum(1)
        slot = it % history
        S[idx, slot], Y[idx, slot] = s, y
        curved = sy > 1e-10
        rho[idx, slot] = torch.where(curved, 1.0 / sy.clamp_min(1e-10), torch.zeros_like(sy))
        gamma[idx] = torch.where(curved, sy / (y * y).sum(1).clamp_min(1e-20), gamma[idx])
        theta[idx] = x + s
        iterations[idx.cpu()] += 1
        decrease = (f - f_new) / torch.maximum(torch.maximum(f.abs(), f_new.abs()), torch.ones_like(f))
        moving = (decrease > ftol) & (step > 0)
        idx, f, g = idx[moving], f_new[moving], g_new[moving]
    return theta, iterations


def _direction(g: torch.Tensor, S: torch.Tensor, Y: torch.Tensor, rho: torch.Tensor, gamma: torch.Tensor,
               it: int) -> torch.Tensor:
    """-H g from the compact representation of the L-BFGS matrix (Byrd, Nocedal and Schnabel
    1994, thm 2.2), row-wise; S, Y [A, m, P] ring buffers, rho [A, m] (0 = empty or rejected).

    It equals the two-loop recursion over the accepted pairs, in a fixed handful of batched
    matrix products instead of 4m dependent vector operations: on small probes the loop's
    per-operation overhead, not arithmetic, was the cost.
    """
    history = S.shape[1]
    m = min(it, history)
    if m == 0:
        return -gamma[:, None] * g
    order = [(it - m + k) % history for k in range(m)]  # oldest first
    accepted = (rho[:, order] != 0).to(g.dtype)[..., None]
    s, y = S[:, order] * accepted, Y[:, order] * accepted  # a rejected pair contributes nothing
    u = (s @ g[..., None])  # S^T g, [A, m, 1]
    v = gamma[:, None, None] * (y @ g[..., None])  # gamma Y^T g
    sy = s @ y.transpose(1, 2)  # [A, m, m]: s_i . y_j
    d = torch.diagonal(sy, dim1=1, dim2=2)
    eye = torch.eye(m, dtype=g.dtype, device=g.device)
    r = torch.triu(sy) + eye * (1 - accepted)  # unit diagonal where a pair is missing
    r_inv_u = torch.linalg.solve_triangular(r, u, upper=True)
    middle = torch.diag_embed(d) + gamma[:, None, None] * (y @ y.transpose(1, 2))
    top = torch.linalg.solve_triangular(r.transpose(1, 2), middle @ r_inv_u - v, upper=False)
    hg = gamma[:, None] * g + (s.transpose(1, 2) @ top)[..., 0] - gamma[:, None] * (y.transpose(1, 2) @ r_inv_u)[..., 0]
    return -hg


def logistic(x: torch.Tensor, y: torch.Tensor, classes: int, weight_decay: torch.Tensor, kind: str) -> ValueAndGrad:
    """Value and analytic gradient of L2-regularised logistic regression for rows theta = [W (D*C), b (C)].

    `kind` "softmax" (y: class indices, mean cross-entropy) or "sigmoid" (y: [n, C]
    multi-hot, BCE averaged over items and classes), plus 0.5 * weight_decay * ||W||^2.
    Two matrix products per evaluation, no autograd.
    """
    n, dim = x.shape
    wsize = dim * classes
    onehot = torch.nn.functional.one_hot(y, classes).to(x.dtype) if kind == "softmax" else y.to(x.dtype)

    def value_and_grad(theta: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        a = len(theta)
        w = theta[:, :wsize].view(a, dim, classes)
        z = (x @ w.permute(1, 0, 2).reshape(dim, a * classes)).view(n, a, classes) + theta[:, wsize:]
        wd = weight_decay[idx]
        if kind == "softmax":
            lse = torch.logsumexp(z, 2, keepdim=True)
            f = (lse[..., 0] - (z * onehot[:, None, :]).sum(2)).mean(0)
            dz = ((z - lse).exp_() - onehot[:, None, :]) / n  # softmax from the log-normaliser
        else:
            f = torch.nn.functional.binary_cross_entropy_with_logits(
                z, onehot[:, None, :].expand_as(z), reduction="none").mean((0, 2))
            dz = (torch.sigmoid(z) - onehot[:, None, :]) / (n * classes)
        f = f + 0.5 * wd * w.pow(2).sum((1, 2))
        gw = (x.T @ dz.reshape(n, a * classes)).view(dim, a, classes).permute(1, 0, 2) + wd[:, None, None] * w
        return f, torch.cat([gw.reshape(a, -1), dz.sum(0)], dim=1)

    return value_and_grad


# --- the plain linear probe on CPU: the same solver in numpy --------------------------------

def fit_logistic(theta: torch.Tensor, x: torch.Tensor, y: torch.Tensor, classes: int, weight_decay: torch.Tensor,
                 kind: str, *, max_iter: int = 500, history: int = 10, tol: float = 1e-4,
                 ftol: float = 1e-9) -> tuple[torch.Tensor, torch.Tensor]:
    """`minimize` of `logistic` for rows theta = [W (D*C), b (C)]: (solution [G, P], iterations [G]).

    On CPU the same algorithm runs in numpy: an iteration is a few dozen small array
    operations around two matrix products, and numpy's per-operation overhead is a small
    fraction of torch's, which dominated the probe's time. Elsewhere (CUDA) the batched
    torch solver runs.
    """
    if not (x.device.type == theta.device.type == "cpu"):
        return minimize(theta, logistic(x, y, classes, weight_decay.to(theta), kind), max_iter=max_iter,
                        history=history, tol=tol, ftol=ftol)
    grid = len(theta)
    n, dim = x.shape
    dtype = theta.dtype
    # rows [G, C*(D+1)]: each point as [C, D+1] (class c's weights, then its bias), so that the
    # logits of all points are one product theta.reshape(G*C, D+1) @ x1.T with no copy of theta
    theta = theta.detach()
    w = theta[:, :dim * classes].reshape(grid, dim, classes).transpose(1, 2)
    rows = torch.cat([w, theta[:, dim * classes:, None]], dim=2).reshape(grid, -1).numpy()
    x1 = np.empty((n, dim + 1), dtype=rows.dtype)
    x1[:, :dim], x1[:, dim] = x.detach().to(dtype).numpy(), 1
    target = y.detach().numpy()
    objective = _logistic_np(x1, target, classes, weight_decay.detach().to(dtype).numpy(), kind)
    with _blas_threads(torch.get_num_threads()):
        rows, iterations = _minimize_np(rows, objective, max_iter=max_iter, history=history, tol=tol, ftol=ftol)
    rows = torch.from_numpy(rows).view(grid, classes, dim + 1)
    solution = torch.cat([rows[:, :, :dim].transpose(1, 2).reshape(grid, -1), rows[:, :, dim]], dim=1)
    return solution.to(theta.device), torch.from_numpy(iterations)


_vdot = getattr(np, "vecdot", None) or (lambda a, b: np.einsum("...p,...p->...", a, b))  # row-wise dot products


def _minimize_np(theta: np.ndarray, value_and_grad: Callable, *, max_iter: int, history: int, tol: float,
                 ftol: float) -> tuple[np.ndarray, np.ndarray]:
    """`minimize` in numpy, with the same steps and stopping rules. The active points are kept
    in the leading rows of every state array (compacted when one leaves), so an iteration
    works on contiguous views, never on gathered copies; the direction is the two-loop
    recursion, which numpy runs at about a microsecond per operation."""
    grid, size = theta.shape
    dt = theta.dtype
    out = theta.copy()
    theta = theta.copy()
    iterations = np.zeros(grid, dtype=np.int64)
    ids = np.arange(grid)
    S = np.zeros((history, grid, size), dtype=dt)  # S[j] [A, P]: slot j of every active point
    Y = np.zeros_like(S)
    rho = np.zeros((history, grid), dtype=dt)  # 0: empty or rejected slot
    gamma = np.ones(grid, dtype=dt)
    f, g = value_and_grad(theta, ids)
    for it in range(max_iter):
        keep = np.abs(g).max(1) > tol
        if not keep.all():
            out[ids[~keep]] = theta[~keep]
            ids, theta, f, g, gamma = ids[keep], theta[keep], f[keep], g[keep], gamma[keep]
            S, Y, rho = S[:, keep], Y[:, keep], rho[:, keep]
            if not len(ids):
                break
        d = _two_loop(g, S, Y, rho, gamma, it)
        slope = _vdot(g, d)
        uphill = slope >= 0  # numerical trouble: restart that point from steepest descent
        if uphill.any():
            d[uphill] = -g[uphill]
            slope[uphill] = -_vdot(g[uphill], g[uphill])
            rho[:, uphill] = 0
        step = np.ones_like(f) if it else np.minimum(1 / np.abs(g).sum(1), 1).astype(dt)
        f_new, g_new = value_and_grad(theta + step[:, None] * d, ids)
        for _ in range(MAX_HALVINGS):
            bad = ~(f_new <= f + ARMIJO * step * slope)
            if not bad.any():
                break
            step[bad] /= 2
            f_new[bad], g_new[bad] = value_and_grad(theta[bad] + step[bad, None] * d[bad], ids[bad])
        else:  # no decrease found: that point is as good as it gets
            step[bad], f_new[bad], g_new[bad] = 0, f[bad], g[bad]
        s = d
        s *= step[:, None]
        y = g_new - g
        sy = _vdot(s, y)
        slot = it % history
        S[slot], Y[slot] = s, y
        curved = sy > 1e-10
        rho[slot] = np.where(curved, 1 / np.maximum(sy, 1e-10), 0)
        gamma = np.where(curved, sy / np.maximum(_vdot(y, y), 1e-20), gamma).astype(dt)
        theta += s
        iterations[ids] += 1
        decrease = (f - f_new) / np.maximum(np.maximum(np.abs(f), np.abs(f_new)), 1)
        moving = (decrease > ftol) & (step > 0)
        f, g = f_new, g_new
        if not moving.all():
            out[ids[~moving]] = theta[~moving]
            ids, theta, f, g, gamma = ids[moving], theta[moving], f[moving], g[moving], gamma[moving]
            S, Y, rho = S[:, moving], Y[:, moving], rho[:, moving]
            if not len(ids):
                break
    out[ids] = theta
    return out, iterations


def _two_loop(g: np.ndarray, S: np.ndarray, Y: np.ndarray, rho: np.ndarray, gamma: np.ndarray,
              it: int) -> np.ndarray:
    """-H g by the two-loop recursion (Nocedal and Wright, algorithm 7.4), row-wise; S, Y
    [m, A, P] ring buffers, rho [m, A]: a pair with rho 0 (empty or rejected) changes nothing."""
    history = len(S)
    slots = [(it - 1 - k) % history for k in range(min(it, history))]  # newest first
    q = -g
    alphas = []
    for j in slots:
        a = rho[j] * _vdot(S[j], q)
        q -= a[:, None] * Y[j]
        alphas.append(a)
    q *= gamma[:, None]
    for j, a in zip(reversed(slots), reversed(alphas)):
        q += (a - rho[j] * _vdot(Y[j], q))[:, None] * S[j]
    return q


def _logistic_np(x1: np.ndarray, y: np.ndarray, classes: int, weight_decay: np.ndarray, kind: str) -> Callable:
    """`logistic` in numpy for rows [C, D+1] (weights and bias of each class); x1 [n, D+1] ends in a
    column of ones. Logits of all points are one product [A*C, D+1] @ [D+1, n], gradients another,
    with no copy of theta; the logits' layout [A, C, n] makes the reductions over classes
    element-wise operations on contiguous rows."""
    n, width = x1.shape
    dt = x1.dtype
    if kind == "softmax":
        true = y.astype(np.int64) * n + np.arange(n)  # the true class of each item in the flat [C*n] logits
    else:
        target = np.ascontiguousarray(y.T, dtype=dt)  # [C, n]

    def value_and_grad(theta: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        a = len(theta)
        z = (theta.reshape(a * classes, width) @ x1.T).reshape(a, classes, n)
        if kind == "softmax":
            z -= z.max(1, keepdims=True)
            flat = z.reshape(a, classes * n)
            picked = np.take(flat, true, axis=1)  # [A, n]: the true class's (shifted) logit
            np.exp(z, out=z)
            total = z.sum(1, keepdims=True)
            f = (np.log(total[:, 0]) - picked).mean(1)
            z *= 1 / (n * total)  # softmax / n
            flat[:, true] -= 1 / n
        else:
            e = np.exp(-np.abs(z))
            f = (np.maximum(z, 0) - z * target + np.log1p(e)).mean((1, 2))
            z = np.where(z >= 0, 1, e) / (1 + e) - target
            z *= 1 / (n * classes)
        g = (z.reshape(a * classes, n) @ x1).reshape(a, classes, width)
        w = theta.reshape(a, classes, width)[:, :, :-1]
        wd = weight_decay[ids]
        f += 0.5 * wd * np.einsum("acd,acd->a", w, w)
        g[:, :, :-1] += wd[:, None, None] * w
        return f.astype(dt, copy=False), g.reshape(a, -1)

    return value_and_grad


_controller = None


def _blas_threads(threads: int):
    """numpy's BLAS limited to `threads` (torch's setting) while the numpy solver runs."""
    global _controller
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # pragma: no cover
        import contextlib
        return contextlib.nullcontext()
    if _controller is None:
        _controller = ThreadpoolController()
    return _controller.limit(limits=threads, user_api="blas")
