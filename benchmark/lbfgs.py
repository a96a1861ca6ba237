"""L-BFGS for a grid of independent problems at once: the linear probe's solver.

A linear head with an L2 penalty is logistic regression, which quasi-Newton methods solve
in tens of iterations where first-order methods need hundreds of epochs (scikit-learn's
LogisticRegression uses L-BFGS too). Here every grid point (one L2 penalty each) is its
own L-BFGS problem on a row of a [G, P] parameter matrix: values and gradients of all
points come from one batched evaluation, the two-loop recursion and an Armijo
backtracking line search run row-wise, and a point that has converged leaves the batch,
so the total work is about that of solving the problems one by one, without their
per-problem overhead. Full batch: the training features must fit in memory.
"""
from __future__ import annotations

from typing import Callable

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
