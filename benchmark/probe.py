"""Linear heads on frozen features, trained for a whole hyper-parameter grid at once.

Each grid point (learning rate x L2 penalty) is an independent linear model; stacking them
as one [G, D, C] weight tensor trains the grid in a single pass of matrix products, with
per-point Adam, early stopping on the validation score, and the best epoch kept.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

DEFAULT_LRS = (1e-3, 1e-2)
DEFAULT_WEIGHT_DECAYS = (1e-4, 1e-3, 1e-2, 1e-1)


@dataclass
class LinearProbe:
    """A fitted linear head: standardisation, weights and the grid point that won."""

    mean: torch.Tensor
    std: torch.Tensor
    weight: torch.Tensor
    bias: torch.Tensor
    chosen: dict = field(default_factory=dict)

    def scores(self, x: np.ndarray) -> np.ndarray:
        """Logits [N, C]."""
        with torch.no_grad():
            z = (torch.as_tensor(np.asarray(x, dtype=np.float32)) - self.mean) / self.std
            return (z @ self.weight + self.bias).numpy()


def standardiser(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    mean = x.mean(0)
    std = x.std(0, unbiased=False).clamp_min(1e-6)
    return mean, std


def train_linear(x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray,
                 num_classes: int, *, seed: int = 0, loss: str = "softmax",
                 valid_score: Callable[[np.ndarray, np.ndarray], float] | None = None,
                 lrs: tuple[float, ...] = DEFAULT_LRS, weight_decays: tuple[float, ...] = DEFAULT_WEIGHT_DECAYS,
                 max_epochs: int = 1000, patience: int = 50, batch_size: int = 4096,
                 on_epoch: Callable[[int], None] | None = None) -> LinearProbe:
    """Fit every (lr, weight decay) on train, keep the best epoch of the best point on valid.

    `loss` is "softmax" (y: class indices) or "sigmoid" (y: [N, C] multi-hot). The weight
    decay is an L2 penalty on the weights (as in logistic regression), so its meaning does
    not depend on the optimiser. `valid_score(y, scores)` must be higher-is-better; it
    defaults to accuracy (softmax) or negative BCE (sigmoid).
    """
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(np.asarray(x_train, dtype=np.float32))
    xv = torch.as_tensor(np.asarray(x_valid, dtype=np.float32))
    mean, std = standardiser(xt)
    xt, xv = (xt - mean) / std, (xv - mean) / std
    yt = torch.as_tensor(y_train)
    yt = yt.long() if loss == "softmax" else yt.float()
    grid = list(itertools.product(lrs, weight_decays))
    lr = torch.tensor([g[0] for g in grid]).view(-1, 1, 1)
    wd = torch.tensor([g[1] for g in grid]).view(-1, 1, 1)
    n, d = xt.shape
    G = len(grid)
    weight = (torch.randn(G, d, num_classes, generator=gen) * 0.01).requires_grad_()
    bias = torch.zeros(G, 1, num_classes, requires_grad=True)
    params = [weight, bias]
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    score_fn = valid_score or (_accuracy if loss == "softmax" else _neg_bce)

    best_score = torch.full((G,), -float("inf"))
    best_loss = torch.full((G,), float("inf"))
    best_epoch = torch.zeros(G, dtype=torch.long)
    yv = torch.as_tensor(y_valid)
    yv = yv.long() if loss == "softmax" else yv.float()
    best_w, best_b = weight.detach().clone(), bias.detach().clone()
    step = 0
    batch_size = min(batch_size, n)
    for epoch in range(1, max_epochs + 1):
        order = torch.randperm(n, generator=gen) if batch_size < n else torch.arange(n)
        for start in range(0, n, batch_size):
            idx = order[start: start + batch_size]
            logits = xt[idx] @ weight + bias  # [G, b, C]
            if loss == "softmax":
                data_loss = F.cross_entropy(logits.reshape(-1, num_classes), yt[idx].repeat(G), reduction="sum") / len(idx)
            else:
                data_loss = F.binary_cross_entropy_with_logits(logits, yt[idx].expand(G, -1, -1), reduction="sum") / len(idx)
            total = data_loss + 0.5 * (wd * weight.pow(2)).sum()
            grads = torch.autograd.grad(total, params)
            step += 1
            with torch.no_grad():
                for p, g, (m, v) in zip(params, grads, moments):
                    m.mul_(beta1).add_(g, alpha=1 - beta1)
                    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    m_hat = m / (1 - beta1 ** step)
                    v_hat = v / (1 - beta2 ** step)
                    p.sub_(lr.view(-1, *[1] * (p.ndim - 1)) * m_hat / (v_hat.sqrt() + eps))
        with torch.no_grad():
            valid_logits = xv @ weight + bias
            losses = _valid_loss(valid_logits, yv, loss)
        scores = torch.tensor([score_fn(y_valid, valid_logits[g].numpy()) for g in range(G)])
        # better score, or an equal score at a lower loss: accuracy saturates long before the fit does
        improved = (scores > best_score) | ((scores == best_score) & (losses < best_loss))
        if improved.any():
            best_score = torch.where(improved, scores, best_score)
            best_loss = torch.where(improved, losses, best_loss)
            best_epoch[improved] = epoch
            best_w[improved] = weight.detach()[improved]
            best_b[improved] = bias.detach()[improved]
        if on_epoch:
            on_epoch(epoch)
        if bool((epoch - best_epoch >= patience).all()):
            break
    # lexicographic (score, -loss); ties go to the first grid point (smaller lr / penalty)
    ranking = sorted(range(G), key=lambda g: (-float(best_score[g]), float(best_loss[g]), g))
    winner = ranking[0]
    chosen = {"lr": grid[winner][0], "weight_decay": grid[winner][1], "epochs": int(best_epoch[winner]),
              "valid_score": float(best_score[winner])}
    return LinearProbe(mean, std, best_w[winner], best_b[winner, 0], chosen)


def _valid_loss(logits: torch.Tensor, y: torch.Tensor, loss: str) -> torch.Tensor:
    """Mean validation loss of each grid point, [G]."""
    if loss == "softmax":
        G, n, c = logits.shape
        return F.cross_entropy(logits.reshape(-1, c), y.repeat(G), reduction="none").view(G, n).mean(1)
    return F.binary_cross_entropy_with_logits(logits, y.expand_as(logits), reduction="none").mean((1, 2))


def _accuracy(y: np.ndarray, logits: np.ndarray) -> float:
    return float((logits.argmax(1) == np.asarray(y)).mean())


def _neg_bce(y: np.ndarray, logits: np.ndarray) -> float:
    return -float(F.binary_cross_entropy_with_logits(torch.as_tensor(logits), torch.as_tensor(y, dtype=torch.float32)))
