"""Sound event detection: a frame head (sigmoid per class) on frame embeddings, HEAR-style.

Frame j of a clip is labelled with the events covering its centre, (j + 0.5) * hop. The
head's grid is chosen on valid frame mAP; post-processing (threshold, median filter,
minimum duration) is then chosen on the valid split with the task's event metric, and the
test split is scored with every metric of the task (sed_eval, PSDS).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import soundfile as sf
import torch

from benchmark.family import family_of
from benchmark.heads.postprocess import choose, sed_metrics, selection_metric
from benchmark.heads.grid import grid_average_precision, grid_bce
from benchmark.protocols.base import HeadResult, Part, RunContext
from benchmark.protocols.probing import Pooled, config_for, fit_heads, run_inputs

#: at most this many training frames feed the head (evenly strided): frames are highly redundant
MAX_TRAIN_FRAMES = 200_000
#: and at most this many bytes of them as float32 (all layers of a large model are big)
FRAME_BUDGET_BYTES = 2 << 30


def frame_targets(manifest: pd.DataFrame, offsets: np.ndarray, hop_s: float, labels: list[str]) -> np.ndarray:
    """Multi-hot [sum T, C]: frame j of item i is active for each event covering its centre."""
    index = {label: c for c, label in enumerate(labels)}
    y = np.zeros((int(offsets[-1]), len(labels)), dtype=np.float32)
    for i, events in enumerate(manifest["events"]):
        n = int(offsets[i + 1] - offsets[i])
        centres = (np.arange(n) + 0.5) * hop_s
        for onset, offset, label in events:
            if label in index:
                y[offsets[i]: offsets[i + 1], index[label]] += (centres >= onset) & (centres < offset)
    return np.minimum(y, 1.0)


def reference(part: Part) -> dict[str, list]:
    return {path: [tuple(e) for e in events] for path, events in zip(part.manifest["path"], part.manifest["events"])}


def durations(part: Part) -> dict[str, float]:
    return {path: sf.info(path).frames / sf.info(path).samplerate for path in part.manifest["path"]}


def by_file(part: Part, probs: np.ndarray, offsets: np.ndarray) -> dict[str, np.ndarray]:
    return {path: probs[offsets[i]: offsets[i + 1]] for i, path in enumerate(part.manifest["path"])}


def strided(n: int, limit: int) -> np.ndarray:
    return np.arange(n) if n <= limit else np.linspace(0, n - 1, limit).round().astype(np.int64)


def finish(ctx: RunContext, valid: Part, test: Part, probs_valid: np.ndarray, probs_test: np.ndarray,
           offsets_valid: np.ndarray, offsets_test: np.ndarray, labels: list[str]) -> HeadResult:
    """Choose post-processing on valid, score the test split (with its per-file event counts)."""
    hop_s = float(ctx.hop_ms) / 1000.0
    metric = selection_metric(ctx.task.metrics, ctx.task.main_metric)
    pp, valid_score = choose(by_file(valid, probs_valid, offsets_valid), reference(valid), hop_s, labels, metric)
    metrics, items = sed_metrics(ctx.task.metrics, by_file(test, probs_test, offsets_test), reference(test),
                                 durations(test), hop_s, labels, pp)
    return metrics, {"postprocessing": pp.as_dict(), "postprocessing_metric": metric,
                     "postprocessing_valid_score": valid_score}, items


def run_sed(ctx: RunContext, roles: dict[str, list[str]], seed: int, kind: str) -> HeadResult:
    """Fit a linear or MLP frame head, choose post-processing on valid, score test."""
    ctx.require_frames()
    hop_s = float(ctx.hop_ms) / 1000.0
    train, valid, test = (ctx.part(roles, role, seed) for role in ("train", "valid", "test"))
    labels = family_of(ctx.task.family).vocabulary(ctx.manifest(roles["train"]))
    (x_train, o_train), (x_valid, o_valid), (x_test, o_test) = (ctx.frames(p) for p in (train, valid, test))
    rows = strided(len(x_train), min(ctx.option("max_train_frames", MAX_TRAIN_FRAMES),
                                      FRAME_BUDGET_BYTES // (4 * int(np.prod(x_train.shape[1:])))))
    stats = Pooled.stats(x_train[rows])
    y_train = torch.as_tensor(frame_targets(train.manifest, o_train, hop_s, labels)[rows])
    y_valid = torch.as_tensor(frame_targets(valid.manifest, o_valid, hop_s, labels))
    inputs_valid = Pooled(x_valid, stats)

    def score(out: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return grid_average_precision(out, y_valid), grid_bce(out, y_valid)

    # frame mAP on valid is a fine-grained score: stop on it alone (HEAR's rule), as thousands
    # of frames make every extra epoch of loss polishing expensive
    config = replace(config_for(ctx, kind), converge=False)
    fit = fit_heads(config, Pooled(x_train[rows], stats), y_train, inputs_valid, len(labels),
                    loss=grid_bce, score=score, seed=seed, device=ctx.probe_device)
    probs_valid = torch.sigmoid(run_inputs(fit.head, inputs_valid)[0]).numpy()
    probs_test = torch.sigmoid(run_inputs(fit.head, Pooled(x_test, stats))[0]).numpy()
    metrics, post, items = finish(ctx, valid, test, probs_valid, probs_test, o_valid, o_test, labels)
    return metrics, {**fit.chosen, **post, "train_frames": int(len(rows))}, items
