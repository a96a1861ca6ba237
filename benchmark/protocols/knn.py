"""k-nearest neighbours by cosine similarity: a probe with no training at all.

Features are standardised with training statistics and compared by cosine. A clip's
class scores are the similarity-weighted votes of its k nearest training clips (label
sets for tagging); sound event detection votes frame by frame over (a strided sample of)
the training frames, then post-processing is chosen on valid as for the trained heads.
k is chosen on valid. Speaker verification (`knn` = cosine scoring of trials) and
retrieval (caption neighbours) have their own no-training variants; each family names
its head (`benchmark.family`).
"""
from __future__ import annotations

import numpy as np
import torch

from benchmark.family import family_of
from benchmark.heads.grid import grid_accuracy, grid_average_precision
from benchmark.protocols import sed
from benchmark.protocols.base import HeadResult, Protocol, RunContext
from benchmark.protocols.clip import clip_metrics, encode
from benchmark.protocols.options import Option

NEIGHBOURS = (1, 3, 5, 10, 20, 50)
#: SED: training frames kept as neighbours (evenly strided), bounding the similarity matrix
MAX_NEIGHBOUR_FRAMES = 20_000


def unit(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> torch.Tensor:
    z = torch.from_numpy(((x - mean) / std).astype(np.float32, copy=False))
    return torch.nn.functional.normalize(z, dim=-1)


def neighbours(query: torch.Tensor, keys: torch.Tensor, k: int, chunk: int = 2048) -> tuple[torch.Tensor, torch.Tensor]:
    """Similarities and indices of the k most similar keys of each query, [n, k]."""
    sims, idx = [], []
    for i in range(0, len(query), chunk):
        s = query[i: i + chunk] @ keys.T
        top = s.topk(min(k, len(keys)), dim=1)
        sims.append(top.values)
        idx.append(top.indices)
    return torch.cat(sims), torch.cat(idx)


def vote(sims: torch.Tensor, idx: torch.Tensor, labels: torch.Tensor, k: int, weighted: bool) -> torch.Tensor:
    """Scores [n, C]: (similarity-weighted) mean of the k nearest neighbours' one/multi-hot labels."""
    w = sims[:, :k].clamp_min(0) if weighted else torch.ones_like(sims[:, :k])
    w = w / w.sum(1, keepdim=True).clamp_min(1e-12)
    return torch.einsum("nk,nkc->nc", w, labels[idx[:, :k]])


def run_clip_knn(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
    family = family_of(ctx.task.family)
    train, valid, test = (ctx.part(roles, role, seed, family.stratify) for role in ("train", "valid", "test"))
    vocab = family.vocabulary(ctx.manifest(roles["train"]))
    x_train, x_valid, x_test = (ctx.clip(p) for p in (train, valid, test))
    mean, std = x_train.mean(0), np.maximum(x_train.std(0), 1e-6)
    keys, z_valid, z_test = unit(x_train, mean, std), unit(x_valid, mean, std), unit(x_test, mean, std)
    y = torch.as_tensor(encode(family, train.manifest, vocab))
    labels = y.float() if family.multilabel else torch.nn.functional.one_hot(y, len(vocab)).float()
    grid = [k for k in NEIGHBOURS if k <= len(keys)] or [len(keys)]
    sims, idx = neighbours(z_valid, keys, max(grid))
    y_valid = torch.as_tensor(encode(family, valid.manifest, vocab))
    valid_scores = []
    for k in grid:
        s = vote(sims, idx, labels, k, weighted=True)[None]
        valid_scores.append(float((grid_average_precision(s, y_valid) if family.multilabel
                                   else grid_accuracy(s, y_valid))[0]))
    best = int(np.argmax(valid_scores))  # ties: the smaller k
    sims, idx = neighbours(z_test, keys, grid[best])
    scores = vote(sims, idx, labels, grid[best], weighted=True).numpy()
    metrics, items = clip_metrics(ctx, test.manifest, scores, vocab)
    return metrics, {"k": grid[best], "valid_score": valid_scores[best], "similarity": "cosine",
                     "votes": "similarity-weighted"}, items


def run_sed_knn(ctx: RunContext, roles: dict[str, list[str]], seed: int) -> HeadResult:
    ctx.require_frames()
    hop_s = float(ctx.hop_ms) / 1000.0
    train, valid, test = (ctx.part(roles, role, seed) for role in ("train", "valid", "test"))
    labels = family_of(ctx.task.family).vocabulary(ctx.manifest(roles["train"]))
    (x_train, o_train), (x_valid, o_valid), (x_test, o_test) = (ctx.frames(p) for p in (train, valid, test))
    rows = sed.strided(len(x_train), ctx.option("max_train_frames", MAX_NEIGHBOUR_FRAMES))
    mean, std = x_train[rows].mean(0), np.maximum(x_train[rows].std(0), 1e-6)
    keys = unit(x_train[rows], mean, std)
    y = torch.as_tensor(sed.frame_targets(train.manifest, o_train, hop_s, labels)[rows])
    y_valid = torch.as_tensor(sed.frame_targets(valid.manifest, o_valid, hop_s, labels))
    grid = [k for k in NEIGHBOURS if k <= len(keys)] or [len(keys)]
    sims, idx = neighbours(unit(x_valid, mean, std), keys, max(grid))
    valid_scores = [float(grid_average_precision(vote(sims, idx, y, k, weighted=False)[None], y_valid)[0])
                    for k in grid]
    k = grid[int(np.argmax(valid_scores))]
    probs_valid = vote(sims, idx, y, k, weighted=False).numpy()
    sims, idx = neighbours(unit(x_test, mean, std), keys, k)
    probs_test = vote(sims, idx, y, k, weighted=False).numpy()
    metrics, post, items = sed.finish(ctx, valid, test, probs_valid, probs_test, o_valid, o_test, labels)
    return metrics, {"k": k, "valid_frame_mAP": max(valid_scores), "neighbour_frames": int(len(rows)), **post}, items


KNN = Protocol("knn", trains=False, options=(
    Option("max_train_frames", int, "SED: training frames kept as neighbours (evenly strided)", minimum=1),
))
