"""Linear probing of pooled clip embeddings (the frozen-feature protocol of HEAR and SUPERB)."""
from __future__ import annotations

import numpy as np

from benchmark.metrics import METRICS
from benchmark.probe import train_linear
from benchmark.protocols.base import Protocol, RunContext


def classification(ctx: RunContext, plan: dict[str, list[str]], seed: int) -> tuple[dict[str, float], dict]:
    """Softmax head on standardised features; lr and weight decay chosen on valid."""
    column = "pitch" if ctx.task.family == "pitch" else "label"
    frames = {part: ctx.manifest(plan[part]) for part in ("train", "valid", "test")}
    vocabulary = sorted(set(frames["train"][column]))
    index = {label: i for i, label in enumerate(vocabulary)}
    y = {part: np.array([index.get(v, -1) for v in frame[column]]) for part, frame in frames.items()}
    x = {part: ctx.clip_features(plan[part]) for part in ("train", "valid", "test")}
    probe = train_linear(x["train"], y["train"], x["valid"], y["valid"], len(vocabulary), seed=seed)
    predicted = probe.scores(x["test"]).argmax(1)
    if ctx.task.family == "pitch":
        y_true, y_pred = frames["test"][column].to_numpy(), np.array(vocabulary)[predicted]
    else:
        y_true, y_pred = y["test"], predicted
    metrics = {name: METRICS.get(name)(y_true, y_pred) for name in ctx.task.metrics}
    return metrics, probe.chosen


LINEAR = Protocol("linear", ("classification",), classification)
