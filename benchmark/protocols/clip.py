"""Clip heads: softmax for classification and pitch, sigmoid for tagging (HEAR "scene" tasks).

The head sees one embedding per clip, pooled from the frames of the chosen layer (mean by
default; max, CLS, or attention pooling learned with the head). Metrics that rank
(mAP, ROC-AUC, d') get the head's scores; the others get its top-1 prediction.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from benchmark.family import Family, family_of
from benchmark.scoring.items import RANKING, ItemOutputs, clip_outputs
from benchmark.scoring.metrics import METRICS
from benchmark.heads.grid import grid_accuracy, grid_average_precision, grid_bce, grid_cross_entropy
from benchmark.protocols.base import HeadResult, RunContext, streams
from benchmark.protocols.probing import clip_inputs, config_for, fit_heads, run_inputs


def encode(family: Family, manifest: pd.DataFrame, vocab: list) -> np.ndarray:
    """Class indices ([n], -1 if unseen) or, for label sets, a multi-hot matrix [n, C]."""
    index = {label: i for i, label in enumerate(vocab)}
    column = manifest[family.label_column]
    if family.multilabel:
        y = np.zeros((len(manifest), len(vocab)), dtype=np.float32)
        for row, labels in enumerate(column):
            for label in labels:
                if label in index:
                    y[row, index[label]] = 1.0
        return y
    return np.array([index.get(v, -1) for v in column], dtype=np.int64)


def clip_metrics(ctx: RunContext, manifest: pd.DataFrame, scores: np.ndarray,
                 vocab: list) -> tuple[dict[str, float], ItemOutputs]:
    """Every metric of the task, from the scores [n, C] of the test items, and the per-item
    outputs they were computed from (what the top-1 metrics compare; targets and scores
    when a metric ranks)."""
    family = family_of(ctx.task.family)
    y = encode(family, manifest, vocab)
    if family.scored_on_values:
        truth, prediction = manifest[family.label_column].to_numpy(), np.asarray(vocab)[scores.argmax(1)]
    else:
        truth, prediction = y, scores.argmax(1)
    targets = y if family.multilabel else np.eye(len(vocab), dtype=np.float32)[y]
    metrics = {name: METRICS.get(name)(targets, scores) if name in RANKING else METRICS.get(name)(truth, prediction)
               for name in ctx.task.metrics}
    ranks = any(name in RANKING for name in ctx.task.metrics)
    top1 = any(name not in RANKING for name in ctx.task.metrics)
    items = clip_outputs(list(manifest["path"]), truth=truth if top1 else None, prediction=prediction if top1 else None,
                         targets=targets.astype(np.uint8) if ranks else None, scores=scores if ranks else None)
    return metrics, items


@streams  # with attention pooling, its frames are sequences
def run_clip(ctx: RunContext, roles: dict[str, list[str]], seed: int, kind: str) -> HeadResult:
    """Fit a linear or MLP clip head (grid chosen on valid) and score the test split."""
    family = family_of(ctx.task.family)
    train, valid, test = (ctx.part(roles, role, seed, family.stratify) for role in ("train", "valid", "test"))
    vocab = family.vocabulary(ctx.manifest(roles["train"]))
    x_train, x_valid, x_test = clip_inputs(ctx, [train, valid, test])
    y_train = torch.as_tensor(encode(family, train.manifest, vocab))
    y_valid = torch.as_tensor(encode(family, valid.manifest, vocab))
    if family.multilabel:
        loss = grid_bce

        def score(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return grid_average_precision(out, y_valid), grid_bce(out, y_valid)
    else:
        loss = grid_cross_entropy

        def score(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return grid_accuracy(out, y_valid), grid_cross_entropy(out, y_valid.clamp_min(0))
    fit = fit_heads(config_for(ctx, kind), x_train, y_train, x_valid, len(vocab), loss=loss, score=score,
                    seed=seed, attention=ctx.settings.pooling == "attention", device=ctx.probe_device)
    scores = run_inputs(fit.head, x_test)[0].numpy()
    metrics, items = clip_metrics(ctx, test.manifest, scores, vocab)
    return metrics, fit.chosen, items
