"""Result records written by hand, as plain JSON, for the leaderboard's tests."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from benchmark.record import Record
from benchmark.scoring.items import ItemOutputs


def write_record(root: Path, model: str, task: str, score: float, *, seed: int | None = 0, fold: str | None = None,
                 metric: str = "accuracy", family: str = "classification", protocol: str = "linear",
                 layer: str | int = "last", pooling: str = "mean", params: int = 0, clips_per_s: float | None = 100.0,
                 date: str = "2026-01-02T00:00:00Z", name: str | None = None, outputs: ItemOutputs | None = None,
                 **extra) -> Path:
    """One result record as `benchmark.run.evaluate` writes it (schema 1), at the same path;
    with `outputs`, its per-item outputs beside it (`Record.write`)."""
    record = {"schema": 1,
              "upstream": {"name": model, "fingerprint": f"sha256:{model}", "params": params, "sample_rate": 16000,
                           "hop_ms": 10.0, "source": model},
              "task": {"name": task, "version": "1", "family": family, "split": "test"},
              "protocol": {"name": protocol, "layer": layer, "pooling": pooling, "chosen": {"lr": 0.01}},
              "seed": seed, "fold": fold, "metrics": {metric: score}, "main_metric": metric,
              "timing": {"embed_s": 1.0, "probe_s": 1.0, "clips_per_s": clips_per_s},
              "env": {"earbench": "0.1.0", "torch": "2.4", "git": None, "device": "cpu"}, "date": date}
    for key, value in extra.items():  # e.g. layer_weights=[...], pretraining={...}
        if key == "layer_weights":
            record["protocol"]["chosen"]["layer_weights"] = value
        else:
            record["upstream"][key] = value
    leaf = name or (f"seed{seed}" + (f"-fold_{fold}" if fold is not None else "") + ".json")
    path = root / model / task / f"{protocol}-layer_{layer}-{pooling}" / leaf
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record))
    if outputs is not None:
        Record.read(path).write(path, outputs)
    return path


def correct_clips(correct: list[int], prefix: str = "clip") -> ItemOutputs:
    """Classification outputs of a run that got `correct[i]` (1 or 0) of clip i right."""
    n = len(correct)
    return ItemOutputs("clips", {"id": np.array([f"{prefix}{i}.wav" for i in range(n)]), "truth": np.zeros(n, int),
                                 "prediction": 1 - np.asarray(correct, int)})


def write_runs(root: Path, model: str, task: str, scores: list[float], **kw) -> None:
    for seed, score in enumerate(scores):
        write_record(root, model, task, score, seed=seed, **kw)
