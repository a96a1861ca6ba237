"""Heads on frozen features, trained for a whole hyper-parameter grid at once.

Each grid point (learning rate x L2 penalty x ...) is an independent head; stacking them
as tensors with a leading grid dimension G (e.g. one [G, D, C] weight) trains the grid in
a single pass of batched matrix products, with per-point Adam, early stopping on the
validation score of each point, and the best epoch of each point kept. The grid then costs
about as much as one model: the matrix products are larger, the Python overhead is shared.

`GridHead` covers every frozen-feature head of the harness (linear or MLP; on one layer or
on SUPERB's learned softmax-weighted sum of all layers; on pooled clips, on frames, or with
attention pooling over frames); `fit_grid` trains any such stack with any loss.
"""
from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from benchmark.device import autocast, device_of, to_device

DEFAULT_LRS = (1e-3, 1e-2)
DEFAULT_WEIGHT_DECAYS = (1e-4, 1e-3, 1e-2, 1e-1)
#: HEAR's MLP grid (hear-eval-kit): hidden width 1024, dropout 0.1, Adam, these learning rates
MLP_LRS = (1e-4, 3.2e-4, 1e-3, 3.2e-3)
MLP_HIDDEN = 1024
MLP_DROPOUT = 0.1

Batch = tuple[tuple[Any, ...], Any]  # (inputs to the head, target)


class GridHead(torch.nn.Module):
    """G independent heads `[mix layers] -> [attention pool] -> (Linear -> ReLU -> Dropout)* -> Linear`.

    Inputs: `x` [b, D] (one layer) or [b, L, D] (all layers, `layers=L`: a learned softmax
    weighting per grid point, SUPERB's Featurizer); with `attention`, a time axis after b
    ([b, T, D] / [b, T, L, D]) and `mask` [b, T] of valid frames. Output [G, b, out].
    """

    def __init__(self, grid: int, dim: int, out: int, *, hidden: Sequence[int] = (), dropout: float = 0.0,
                 layers: int | None = None, attention: bool = False, weight_decay: Sequence[float] | None = None,
                 generator: torch.Generator | None = None, init_std: float | None = None) -> None:
        super().__init__()
        gen = generator or torch.Generator().manual_seed(0)
        self.grid, self.dropout, self.hidden = grid, dropout, tuple(hidden)
        self.register_buffer("weight_decay", torch.as_tensor(
            weight_decay if weight_decay is not None else [0.0] * grid, dtype=torch.float32))
        self.mix = torch.nn.Parameter(torch.zeros(grid, layers)) if layers else None
        self.attention = torch.nn.Parameter(torch.randn(grid, dim, generator=gen) * 0.01) if attention else None
        sizes = [dim, *hidden, out]
        self.weights = torch.nn.ParameterList()
        self.biases = torch.nn.ParameterList()
        for k, (a, b) in enumerate(zip(sizes, sizes[1:])):
            last = k == len(sizes) - 2
            std = init_std if (init_std is not None and last) else (2.0 / (a + b)) ** 0.5  # Xavier normal
            self.weights.append(torch.nn.Parameter(torch.randn(grid, a, b, generator=gen) * std))
            self.biases.append(torch.nn.Parameter(torch.zeros(grid, 1, b)))
        self._dropout_gen = torch.Generator().manual_seed(int(torch.randint(2**31, (1,), generator=gen)))

    def layer_weights(self) -> torch.Tensor | None:
        """[G, L] softmax layer weights, or None for a single layer."""
        return None if self.mix is None else self.mix.detach().softmax(-1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        per_grid = False
        if self.mix is not None:  # [b, (T,) L, D] -> [G, b, (T,) D]
            x = torch.einsum("gl,...ld->g...d", self.mix.softmax(-1).to(x.dtype), x)
            per_grid = True
        if self.attention is not None:
            x, per_grid = self._attend(x, mask, per_grid), True
        for k, (w, b) in enumerate(zip(self.weights, self.biases)):
            x = _grid_matmul(x, w, b, per_grid)
            per_grid = True
            if k < len(self.weights) - 1:
                x = F.relu(x)
                if self.training and self.dropout > 0:
                    keep = torch.rand(x.shape, generator=self._dropout_gen).to(x.device) >= self.dropout
                    x = x * keep / (1 - self.dropout)
        return x

    def _attend(self, x: torch.Tensor, mask: torch.Tensor | None, per_grid: bool) -> torch.Tensor:
        """Attention pooling over frames: a learned query per grid point, softmax over valid frames."""
        a = self.attention.to(x.dtype)
        scores = torch.einsum("gbtd,gd->gbt", x, a) if per_grid else torch.einsum("btd,gd->gbt", x, a)
        if mask is not None:
            scores = scores.masked_fill(~mask.to(scores.device)[None], float("-inf"))
        weights = scores.softmax(-1)
        return torch.einsum("gbt,gbtd->gbd", weights, x) if per_grid else torch.einsum("gbt,btd->gbd", weights, x)

    def penalty(self) -> torch.Tensor:
        """[G]: 0.5 * weight_decay * ||W||^2 over the weight matrices (L2, as in logistic regression)."""
        if not bool(self.weight_decay.any()):
            return torch.zeros(self.grid, device=self.weights[0].device)
        squares = sum(w.pow(2).sum((1, 2)) for w in self.weights)
        return 0.5 * self.weight_decay.to(squares.device) * squares

    def pick(self, index: int) -> "GridHead":
        """Grid point `index` alone, as a G=1 head."""
        return pick_grid(self, index, self.grid)


def pick_grid(module: torch.nn.Module, index: int, grid: int) -> Any:
    """A copy of a grid module keeping only grid point `index` (every tensor with a leading G)."""
    one = copy.deepcopy(module)
    with torch.no_grad():
        for sub in one.modules():
            for name, p in list(sub._parameters.items()):
                if p is not None:
                    sub._parameters[name] = torch.nn.Parameter(p[index: index + 1].clone())
            for name, buf in list(sub._buffers.items()):
                if buf is not None and buf.ndim >= 1 and buf.shape[0] == grid:
                    sub._buffers[name] = buf[index: index + 1].clone()
            if hasattr(sub, "grid"):
                sub.grid = 1
    return one


def _grid_matmul(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor, per_grid: bool) -> torch.Tensor:
    """x [b, ..., D] (shared by all grid points) or [G, b, ..., D], times w [G, D, O] -> [G, b, ..., O].

    Shared input is one [*, D] x [D, G*O] product: much faster than broadcasting x to G copies.
    """
    g, d, o = w.shape
    if per_grid:
        lead = x.shape[1:-1]
        y = torch.bmm(x.reshape(g, -1, d), w).view(g, *lead, o)
    else:
        lead = x.shape[:-1]
        y = (x.reshape(-1, d) @ w.permute(1, 0, 2).reshape(d, g * o)).view(*lead, g, o).movedim(-2, 0)
    return y + b.view(g, *[1] * (y.ndim - 2), o)


@dataclass
class GridFit:
    """The winning head (G=1) and what was chosen on valid."""

    head: GridHead
    chosen: dict
    index: int
    valid_scores: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))


def fit_grid(head: torch.nn.Module, points: Sequence[dict], batches: Callable[[torch.Generator], Iterable[Batch]],
             loss: Callable[[torch.Tensor, Any], torch.Tensor],
             validate: Callable[[GridHead], tuple[torch.Tensor, torch.Tensor]], *, seed: int = 0,
             max_epochs: int = 1000, patience: int = 50, converge: bool = True, min_delta: float = 0.0,
             on_epoch: Callable[[int], None] | None = None) -> GridFit:
    """Train every grid point of `head` at once; keep each point's best epoch; pick the best point.

    `points[g]` describes grid point g and must hold its "lr". `batches(generator)` yields
    one epoch of `((inputs...), target)`; `loss(output [G, b, ...], target) -> [G]` is the
    mean loss of each point on the batch (the L2 penalty is added here). `validate(head) ->
    (scores [G], losses [G])` scores every point on valid (higher score is better; among
    equal scores, lower loss is better: accuracy saturates long before the fit does).
    Training stops once no point has improved for `patience` epochs: improved means a
    score better by more than `min_delta` (a noisy score, such as an EER on few pairs, keeps
    finding ever smaller gains otherwise) or, with `converge`, an equal score at a lower
    loss; the epoch kept is the best by (score, then lower loss) among those trained.
    """
    before = torch.get_num_threads()
    try:
        return _fit_grid(head, points, batches, loss, validate, seed=seed, max_epochs=max_epochs, patience=patience,
                         converge=converge, min_delta=min_delta, on_epoch=on_epoch)
    finally:
        torch.set_num_threads(before)


#: multiply-adds per step below which a head trains on one thread
SMALL_WORK = 200_000_000


def small_work_threads(num_params: int, rows: int) -> None:
    """One intra-op thread for small steps: their many small kernels gain nothing from
    threads, and on a busy machine thread hand-offs make them several times slower.
    Larger steps keep every thread (fit_grid restores the setting when it returns)."""
    if num_params * max(rows, 1) < SMALL_WORK:
        torch.set_num_threads(1)


def _fit_grid(head: torch.nn.Module, points: Sequence[dict], batches: Callable[[torch.Generator], Iterable[Batch]],
              loss: Callable[[torch.Tensor, Any], torch.Tensor],
              validate: Callable[[GridHead], tuple[torch.Tensor, torch.Tensor]], *, seed: int,
              max_epochs: int, patience: int, converge: bool, min_delta: float,
              on_epoch: Callable[[int], None] | None) -> GridFit:
    gen = torch.Generator().manual_seed(seed)
    G = len(points)
    params = [p for p in head.parameters()]
    device = device_of(head)
    lr = torch.tensor([float(p["lr"]) for p in points], device=device)
    moments = [(torch.zeros_like(p), torch.zeros_like(p)) for p in params]
    beta1, beta2, eps = 0.9, 0.999, 1e-8
    best_score = torch.full((G,), -float("inf"))
    best_loss = torch.full((G,), float("inf"))
    best_epoch = torch.zeros(G, dtype=torch.long)
    progress_epoch = torch.zeros(G, dtype=torch.long)  # last epoch with real progress (patience)
    progress_score = torch.full((G,), -float("inf"))
    best_state = [p.detach().clone() for p in params]
    step = 0
    for epoch in range(1, max_epochs + 1):
        head.train()
        for inputs, target in batches(gen):
            if step == 0:
                small_work_threads(sum(p.numel() for p in params), int(inputs[0].shape[0]))
            inputs, target = to_device(inputs, device), to_device(target, device)
            with autocast(device):
                out = head(*inputs)
                total = (loss(out, target) + head.penalty()).sum()  # grid points are independent
            grads = torch.autograd.grad(total, params, allow_unused=True)
            step += 1
            with torch.no_grad():
                for p, g, (m, v) in zip(params, grads, moments):
                    if g is None:
                        continue
                    m.mul_(beta1).add_(g, alpha=1 - beta1)
                    v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
                    update = (m / (1 - beta1 ** step)) / ((v / (1 - beta2 ** step)).sqrt() + eps)
                    p.sub_(lr.view(-1, *[1] * (p.ndim - 1)) * update)
        head.eval()
        with torch.no_grad():
            scores, losses = (torch.as_tensor(t, dtype=torch.float64).cpu() for t in validate(head))
        scores = torch.nan_to_num(scores, nan=-float("inf"))
        improved = (scores > best_score) | ((scores == best_score) & (losses < best_loss))
        if improved.any():
            best_score = torch.where(improved, scores, best_score)
            best_loss = torch.where(improved, losses, best_loss)
            best_epoch[improved] = epoch
            for p, keep in zip(params, best_state):
                keep[improved.to(p.device)] = p.detach()[improved.to(p.device)]
        # patience restarts on a better score, and, with `converge`, also on an equal score
        # at a lower loss (a convex linear head is then trained to convergence, as
        # logistic regression is); without it only the score counts (HEAR's MLP rule)
        progress = (scores > progress_score + min_delta) | (improved if converge else torch.zeros_like(improved))
        progress_epoch[progress] = epoch
        progress_score = torch.where(progress, scores, progress_score)
        if on_epoch:
            on_epoch(epoch)
        if bool((epoch - progress_epoch >= patience).all()):
            break
    with torch.no_grad():
        for p, keep in zip(params, best_state):
            p.copy_(keep)
    # lexicographic (score, -loss); ties go to the first grid point (the more conservative one)
    winner = sorted(range(G), key=lambda g: (-float(best_score[g]), float(best_loss[g]), g))[0]
    chosen = {**{k: v for k, v in points[winner].items()}, "epochs": int(best_epoch[winner]),
              "valid_score": float(best_score[winner])}
    weights = head.layer_weights()
    if weights is not None:
        chosen["layer_weights"] = [round(float(w), 4) for w in weights[winner]]
    return GridFit(head.pick(winner), chosen, winner, best_score.numpy())


def fit_lbfgs(head: GridHead, points: Sequence[dict], inputs: tuple, target: Any,
              loss: Callable[[torch.Tensor, Any], torch.Tensor],
              validate: Callable[[GridHead], tuple[torch.Tensor, torch.Tensor]], *, max_iter: int = 500) -> GridFit:
    """Fit every grid point to convergence with batched L-BFGS (full batch), then pick the
    best point on valid by (score, then lower loss). For heads whose objective is (close to)
    convex: the linear probe is L2-regularised logistic regression, solved as scikit-learn
    solves it, one L-BFGS problem per L2 penalty, all at once (with analytic gradients for
    a plain linear head, solved in numpy on CPU: `lbfgs.fit_logistic`; autograd for a
    learned layer weighting)."""
    from benchmark.heads import lbfgs

    before = torch.get_num_threads()
    small_work_threads(sum(p.numel() for p in head.parameters()), int(inputs[0].shape[0]))
    try:
        head.eval()  # no dropout: the objective must be deterministic for the line search
        inputs, target = to_device(inputs, device_of(head)), to_device(target, device_of(head))
        params = list(head.parameters())
        G = head.grid
        theta = torch.cat([p.detach().reshape(G, -1) for p in params], dim=1)
        plain = (head.mix is None and head.attention is None and len(head.weights) == 1 and inputs[0].ndim == 2
                 and loss in (grid_cross_entropy, grid_bce))
        if plain:
            kind = "softmax" if loss is grid_cross_entropy else "sigmoid"
            theta, iterations = lbfgs.fit_logistic(theta, inputs[0], target, head.weights[0].shape[-1],
                                                   head.weight_decay.to(theta), kind, max_iter=max_iter)
        else:
            value_and_grad = _autograd_objective(head, params, inputs, target, loss, theta)
            theta, iterations = lbfgs.minimize(theta, value_and_grad, max_iter=max_iter)
        _write(params, theta)
        with torch.no_grad():
            scores, losses = (torch.as_tensor(t, dtype=torch.float64).cpu() for t in validate(head))
    finally:
        torch.set_num_threads(before)
    scores = torch.nan_to_num(scores, nan=-float("inf"))
    winner = sorted(range(len(points)), key=lambda g: (-float(scores[g]), float(losses[g]), g))[0]
    chosen = {**points[winner], "solver": "lbfgs", "iterations": int(iterations[winner]),
              "valid_score": float(scores[winner])}
    weights = head.layer_weights()
    if weights is not None:
        chosen["layer_weights"] = [round(float(w), 4) for w in weights[winner]]
    return GridFit(head.pick(winner), chosen, winner, scores.numpy())


def _write(params: list[torch.Tensor], theta: torch.Tensor) -> None:
    """Rows of theta [G, P] back into the [G, ...] parameters."""
    sizes = [p[0].numel() for p in params]
    with torch.no_grad():
        for p, chunk in zip(params, theta.split(sizes, dim=1)):
            p.copy_(chunk.view(p.shape))


def _autograd_objective(head: GridHead, params: list[torch.Tensor], inputs: tuple, target: Any,
                        loss: Callable[[torch.Tensor, Any], torch.Tensor], theta: torch.Tensor) -> Callable:
    """Value and gradient of any grid head through autograd: all G points are evaluated
    (the head is one batched program), the rows asked for are returned."""
    current = theta.clone()

    def value_and_grad(rows: torch.Tensor, idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        current[idx] = rows
        _write(params, current)
        f = loss(head(*inputs), target) + head.penalty()
        grads = torch.autograd.grad(f.sum(), params, allow_unused=True)
        flat = torch.cat([(torch.zeros_like(p) if g is None else g).reshape(head.grid, -1)
                          for p, g in zip(params, grads)], dim=1)
        return f.detach()[idx], flat[idx]

    return value_and_grad


# --- batching and validation helpers -------------------------------------------------

def minibatches(n: int, batch_size: int, gen: torch.Generator) -> list[torch.Tensor]:
    """Index tensors of one epoch: shuffled minibatches, or everything at once if it fits."""
    if batch_size >= n:
        return [torch.arange(n)]
    order = torch.randperm(n, generator=gen)
    return [order[i: i + batch_size] for i in range(0, n, batch_size)]


def grid_cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean softmax cross-entropy of each grid point, [G]; logits [G, b, C], y [b]."""
    G, b, c = logits.shape
    return F.cross_entropy(logits.reshape(-1, c), y.repeat(G), reduction="none").view(G, b).mean(1)


def grid_bce(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean sigmoid binary cross-entropy of each grid point, [G]; y [b, C] in {0, 1}."""
    return F.binary_cross_entropy_with_logits(logits, y.expand_as(logits), reduction="none").flatten(1).mean(1)


def grid_accuracy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return (logits.argmax(-1) == y).double().mean(1)


def grid_average_precision(scores: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Macro average precision of each grid point, [G]; scores [G, n, C], y [n, C].

    Vectorised over grid points and classes, so it can run every epoch; classes without
    a positive are left out, as in `metrics.mAP` (ties are ranked arbitrarily here).
    """
    G, n, c = scores.shape
    order = scores.argsort(dim=1, descending=True)
    hits = y.to(scores.dtype).expand(G, n, c).gather(1, order)
    positives = hits.sum(1)
    precision = hits.cumsum(1) / torch.arange(1, n + 1, dtype=scores.dtype, device=scores.device).view(1, n, 1)
    ap = (precision * hits).sum(1) / positives.clamp_min(1)
    keep = positives[0] > 0
    return ap[:, keep].mean(1) if keep.any() else torch.zeros(G, dtype=scores.dtype)


def grid_points(**axes: Sequence[Any]) -> list[dict]:
    """The cartesian product of named axes, in order: grid_points(lr=(..), weight_decay=(..))."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]
