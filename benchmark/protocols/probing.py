"""Frozen features in, a fitted grid of heads out: the shared machinery of linear and mlp.

Features are standardised with training statistics (per layer with --layer weighted, so
layers of different scale mix fairly), then a `GridHead` grid is trained with
`probe.fit_grid`. Pooled clips and frame rows are one matrix (`Pooled`); attention
pooling and sequence losses need variable-length items, padded per minibatch
(`Sequences`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import torch

from benchmark.errors import ProtocolError
from benchmark.device import device_of, to_device
from benchmark.heads.grid import (DEFAULT_LRS, DEFAULT_WEIGHT_DECAYS, MLP_DROPOUT, MLP_HIDDEN, MLP_LRS, GridFit,
                                  GridHead, fit_grid, fit_lbfgs, grid_points, minibatches)
from benchmark.features.streamed import StreamedSequences
from benchmark.protocols.base import RunContext, cls_frames


class Pooled:
    """One feature vector per row ([n, D] or [n, L, D]), standardised."""

    def __init__(self, x: np.ndarray, stats: tuple[np.ndarray, np.ndarray]) -> None:
        self.x = torch.from_numpy(((x - stats[0]) / stats[1]).astype(np.float32, copy=False))

    @staticmethod
    def stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return x.mean(0), np.maximum(x.std(0), 1e-6)

    def __len__(self) -> int:
        return len(self.x)

    @property
    def dim(self) -> int:
        return int(self.x.shape[-1])

    @property
    def layers(self) -> int | None:
        """L with --layer weighted (features [n, L, D]), else None."""
        return int(self.x.shape[1]) if self.x.ndim == 3 else None

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        return (self.x[idx],)


class Sequences:
    """Variable-length items (frames of each clip), padded per batch: (x [b, T, ...], mask [b, T])."""

    def __init__(self, data: np.ndarray, offsets: np.ndarray, stats: tuple[np.ndarray, np.ndarray]) -> None:
        self.data = torch.from_numpy(((data - stats[0]) / stats[1]).astype(np.float32, copy=False))
        self.offsets = np.asarray(offsets)
        self.lengths = np.diff(self.offsets)

    stats = staticmethod(Pooled.stats)

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def dim(self) -> int:
        return int(self.data.shape[-1])

    @property
    def layers(self) -> int | None:
        return int(self.data.shape[1]) if self.data.ndim == 3 else None

    def batch(self, idx: torch.Tensor) -> tuple[torch.Tensor, ...]:
        idx = [int(i) for i in idx]
        lengths = torch.as_tensor(self.lengths[idx])
        padded = torch.zeros(len(idx), int(lengths.max()), *self.data.shape[1:])
        for row, i in enumerate(idx):
            padded[row, : lengths[row]] = self.data[self.offsets[i]: self.offsets[i + 1]]
        mask = torch.arange(padded.shape[1])[None, :] < lengths[:, None]
        return padded, mask


Inputs = Pooled | Sequences | StreamedSequences


def sequence_inputs(ctx: RunContext, parts: Sequence) -> list:
    """The frames of each part as padded sequences, standardised with the first part's
    statistics: read from the cache, or encoded per batch where the pairing streams them
    (`RunContext.streams_frames`: its frame cache would exceed the budget)."""
    if not ctx.streams_frames:
        frames = [ctx.frames(p) for p in parts]
        stats = Sequences.stats(frames[0][0])
        return [Sequences(data, offsets, stats) for data, offsets in frames]
    inputs: list[StreamedSequences] = []
    for part in parts:
        inputs.append(StreamedSequences(
            ctx.upstream, list(part.manifest["path"]), layers=ctx.kept_layers(part.splits[0], "frames"),
            skip=cls_frames(ctx.upstream), stats=inputs[0].stats if inputs else None,
            batch_seconds=ctx.settings.batch_seconds, progress=ctx.settings.progress,
            what=f"{ctx.task.name}/{part.role}", frame_pool=ctx.frame_pool))
    return inputs


def clip_inputs(ctx: RunContext, parts: Sequence) -> list[Inputs]:
    """Inputs of each part for a clip head: pooled features, or frames for attention pooling."""
    if ctx.settings.pooling == "attention":
        return sequence_inputs(ctx, parts)
    arrays = [ctx.clip(p) for p in parts]
    stats = Pooled.stats(arrays[0])
    return [Pooled(x, stats) for x in arrays]


def run_inputs(head: GridHead, inputs: Inputs, chunk: int = 4096) -> torch.Tensor:
    """Outputs of every grid point on every item, [G, n, out], without gradients, on the host
    (each chunk goes to the head's device and its outputs come back). In float32 even on
    CUDA: bf16 logits would tie scores that ranking metrics must order."""
    step = chunk if isinstance(inputs, Pooled) else max(1, chunk // 64)
    device = device_of(head)
    with torch.no_grad():
        return torch.cat([head(*to_device(inputs.batch(torch.arange(i, min(i + step, len(inputs)))), device))
                          .float().cpu() for i in range(0, len(inputs), step)], dim=1)


@dataclass(frozen=True)
class HeadConfig:
    """One family of grids: linear (L2 penalties, solved by L-BFGS) or HEAR's MLP (depth x lr,
    dropout, Adam with early stopping). Inputs that must be padded per batch (attention
    pooling) and losses on sequences (CTC) always use Adam."""

    hidden_layers: tuple[int, ...] = (0,)
    hidden: int = MLP_HIDDEN
    dropout: float = 0.0
    lrs: tuple[float, ...] = DEFAULT_LRS
    weight_decays: tuple[float, ...] = DEFAULT_WEIGHT_DECAYS
    max_epochs: int = 1000
    patience: int = 50
    batch_size: int = 4096
    converge: bool = True  # patience also restarts on a lower valid loss at an equal score
    solver: str = "lbfgs"  # "lbfgs" (full batch, to convergence) or "adam" (minibatches, early stopping)


LINEAR = HeadConfig()
MLP = HeadConfig(hidden_layers=(1, 2), dropout=MLP_DROPOUT, lrs=MLP_LRS, weight_decays=(0.0,),
                 max_epochs=500, patience=20, batch_size=1024, converge=False, solver="adam")


def config_for(ctx: RunContext, kind: str, base: HeadConfig | None = None) -> HeadConfig:
    """The protocol's grid (`base`, or the family's), with `-o hidden=.. max_epochs=.. patience=..
    batch_size=.. solver=..` overrides."""
    base = base or (MLP if kind == "mlp" else LINEAR)
    solver = ctx.option("solver", base.solver)
    if solver not in ("lbfgs", "adam"):
        raise ProtocolError(f"option solver={solver!r}: expected lbfgs or adam")
    return HeadConfig(base.hidden_layers, ctx.option("hidden", base.hidden), base.dropout, base.lrs,
                      base.weight_decays, ctx.option("max_epochs", base.max_epochs),
                      ctx.option("patience", base.patience), ctx.option("batch_size", base.batch_size), base.converge,
                      solver)


def fit_heads(config: HeadConfig, train: Inputs, y_train: torch.Tensor | Callable[[torch.Tensor], Any],
              valid: Inputs, out_dim: int, *, loss: Callable[[torch.Tensor, Any], torch.Tensor],
              score: Callable[[Any], tuple[torch.Tensor, torch.Tensor]], seed: int, attention: bool = False,
              valid_outputs: Callable[[GridHead, Inputs], Any] | None = None,
              device: torch.device | None = None) -> GridFit:
    """Train the grid(s) of `config`; the best point over all depths on valid wins.

    `y_train` is indexed by minibatch (or called with the indices, for structured targets);
    `loss(out [G, b, ...], y) -> [G]`; `score(valid_outputs(head, valid)) -> (scores [G],
    losses [G])`, where `valid_outputs` defaults to the head's outputs [G, n, out]. The heads
    train on `device` (default the CPU); inputs and outputs stay on the host.
    """
    valid_outputs = valid_outputs or run_inputs
    targets = y_train if callable(y_train) else (lambda idx: y_train[idx])
    fits = []
    for depth in config.hidden_layers:
        if config.solver == "lbfgs" and depth == 0 and isinstance(train, Pooled) and not attention:
            points = grid_points(weight_decay=config.weight_decays)
            head = GridHead(len(points), train.dim, out_dim, layers=train.layers,
                            weight_decay=[p["weight_decay"] for p in points],
                            generator=torch.Generator().manual_seed(seed), init_std=0.01).to(device or "cpu")
            fits.append(fit_lbfgs(head, points, (train.x,), targets(torch.arange(len(train))), loss,
                                  lambda h: score(valid_outputs(h, valid))))
            continue
        points = grid_points(lr=config.lrs, weight_decay=config.weight_decays)
        if len(config.hidden_layers) > 1 or depth:
            points = [{"hidden_layers": depth, "hidden": config.hidden, "dropout": config.dropout, **p} for p in points]
        gen = torch.Generator().manual_seed(seed)
        head = GridHead(len(points), train.dim, out_dim, hidden=[config.hidden] * depth, dropout=config.dropout,
                        layers=train.layers, attention=attention, weight_decay=[p["weight_decay"] for p in points],
                        generator=gen, init_std=0.01 if depth == 0 else None).to(device or "cpu")

        def batches(g: torch.Generator, head_batch: int = config.batch_size if isinstance(train, Pooled)
                    else max(8, config.batch_size // 64)):
            for idx in minibatches(len(train), head_batch, g):
                yield train.batch(idx), targets(idx)

        fits.append(fit_grid(head, points, batches, loss, lambda h: score(valid_outputs(h, valid)), seed=seed,
                             max_epochs=config.max_epochs, patience=config.patience, converge=config.converge))
    best = max(range(len(fits)), key=lambda k: (fits[k].chosen["valid_score"], -k))  # ties: the shallower
    return fits[best]
