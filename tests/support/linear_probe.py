"""A linear probe on plain arrays (fit, then score), built from the grid machinery that the
protocols use; the tests and the probe benchmark use it to check that machinery against
scikit-learn without going through a task."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np
import torch

from benchmark.heads.grid import (DEFAULT_LRS, DEFAULT_WEIGHT_DECAYS, Batch, GridHead, fit_grid, fit_lbfgs,
                                  grid_accuracy, grid_bce, grid_cross_entropy, grid_points, minibatches)


def predict(head: GridHead, x: torch.Tensor, chunk: int = 8192) -> torch.Tensor:
    """head(x) in chunks along the batch axis, without gradients: [G, n, out]."""
    with torch.no_grad():
        return torch.cat([head(x[i: i + chunk]) for i in range(0, len(x), chunk)], dim=1)



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
    """Mean and std over the first axis (per feature, or per layer and feature)."""
    mean = x.mean(0)
    std = x.std(0, unbiased=False).clamp_min(1e-6)
    return mean, std


def train_linear(x_train: np.ndarray, y_train: np.ndarray, x_valid: np.ndarray, y_valid: np.ndarray,
                 num_classes: int, *, seed: int = 0, loss: str = "softmax",
                 valid_score: Callable[[np.ndarray, np.ndarray], float] | None = None,
                 lrs: tuple[float, ...] = DEFAULT_LRS, weight_decays: tuple[float, ...] = DEFAULT_WEIGHT_DECAYS,
                 max_epochs: int = 1000, patience: int = 50, batch_size: int = 4096, optimizer: str = "lbfgs",
                 on_epoch: Callable[[int], None] | None = None) -> LinearProbe:
    """Fit a linear head for every weight decay (and, with Adam, learning rate); the best on valid wins.

    `optimizer="lbfgs"` (default) solves each L2-regularised problem to convergence, all
    grid points at once; `"adam"` trains minibatches (`batch_size`) with early stopping
    (`max_epochs`, `patience`) and keeps each point's best epoch. `loss` is "softmax"
    (y: class indices) or "sigmoid" (y: [N, C] multi-hot). The weight decay is an L2
    penalty on the weights (as in logistic regression), so its meaning does not depend on
    the optimiser. `valid_score(y, scores)` must be higher-is-better; it defaults to
    accuracy (softmax) or negative BCE (sigmoid).
    """
    gen = torch.Generator().manual_seed(seed)
    xt = torch.as_tensor(np.asarray(x_train, dtype=np.float32))
    xv = torch.as_tensor(np.asarray(x_valid, dtype=np.float32))
    mean, std = standardiser(xt)
    xt, xv = (xt - mean) / std, (xv - mean) / std
    to_target = (lambda y: torch.as_tensor(y).long()) if loss == "softmax" else (lambda y: torch.as_tensor(y).float())
    yt, yv = to_target(y_train), to_target(y_valid)
    points = grid_points(weight_decay=weight_decays) if optimizer == "lbfgs" else \
        grid_points(lr=lrs, weight_decay=weight_decays)
    head = GridHead(len(points), xt.shape[1], num_classes, weight_decay=[p["weight_decay"] for p in points],
                    generator=gen, init_std=0.01)
    loss_fn = grid_cross_entropy if loss == "softmax" else grid_bce

    def batches(g: torch.Generator) -> Iterable[Batch]:
        for idx in minibatches(len(xt), batch_size, g):
            yield (xt[idx],), yt[idx]

    def validate(h: GridHead) -> tuple[torch.Tensor, torch.Tensor]:
        logits = predict(h, xv)
        if valid_score is not None:
            scores = torch.tensor([valid_score(y_valid, logits[g].numpy()) for g in range(len(points))])
        elif loss == "softmax":
            scores = grid_accuracy(logits, yv)
        else:
            scores = -grid_bce(logits, yv)
        return scores, loss_fn(logits, yv)

    if optimizer == "lbfgs":
        fit = fit_lbfgs(head, points, (xt,), yt, loss_fn, validate)
    else:
        fit = fit_grid(head, points, batches, loss_fn, validate, seed=seed, max_epochs=max_epochs,
                       patience=patience, on_epoch=on_epoch)
    return LinearProbe(mean, std, fit.head.weights[0][0].detach(), fit.head.biases[0][0, 0].detach(), fit.chosen)
