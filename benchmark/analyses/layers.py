"""Layer-wise analysis: the probe on every hidden layer, score vs depth with item-level
intervals, beside the learned weights of a weighted-sum run where one exists.

The embedding cache holds every layer of an extraction (frame caches too: the runs ask for
all, `frame_layers="all"`), so the upstream is run once per task: the first layer's runs
extract, the others read the cache (`--layer i` for each i).
Each layer's records are ordinary ones (`linear-layer_3-mean/...`)."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import numpy as np
import torch

from benchmark.analyses.report import Analysis, curves, interval_text, markdown, point, write_report
from benchmark.analyses.runs import run_records
from benchmark.errors import EarbenchError
from benchmark.record import Record, RecordError, record_path
from benchmark.scoring.metrics import METRICS
from benchmark.settings import RunSettings
from benchmark.task import TaskSpec
from benchmark.upstream import load_upstream

KIND = "layers"


def count_layers(model: str | torch.nn.Module) -> int:
    """How many hidden states the upstream returns (one forward of a second of silence)."""
    upstream = load_upstream(model)
    with torch.no_grad():
        audio = torch.zeros(1, int(upstream.sample_rate))
        return len(upstream(audio, torch.tensor([audio.shape[1]])).hidden_states)


def weighted_records(results: Path, layer_records: Sequence[Record]) -> list[Record]:
    """The `--layer weighted` records of the same model, task, protocol, pooling and seeds, if
    they are in `results` (unreadable ones are skipped: the weights are an extra)."""
    found = []
    for r in layer_records:
        identity = {key: r.protocol.get(key) for key in ("name", "pooling", "train_fraction", "options")}
        path = record_path(results, r.model, r.task_name, {**identity, "layer": "weighted"}, r.seed,
                           None if r.fold is None else str(r.fold))
        try:
            other = Record.read(path)
        except RecordError:
            continue
        if other.fingerprint == r.fingerprint and other.layer_weights is not None:
            found.append(other)
    return found


def layers(models: Sequence[str | torch.nn.Module], tasks: Sequence[str | Path | TaskSpec], settings: RunSettings,
           *, seeds: int = 3, weighted: bool = False, out: str | Path = "analyses") -> Analysis:
    """Probe every hidden layer of each model on each task (seeds 0..seeds-1); with `weighted`,
    also run the learned weighted sum; write OUT/layers.md and its plot (score vs layer, the
    mean learned weight of each layer beside it where weighted-sum records exist)."""
    if settings.results is None:
        raise EarbenchError("layer-wise analysis: give a results folder (its records are the curve's points)")
    points, rows, weights, metrics = [], [], {}, {}
    for model in models:
        by_layer = {}
        for layer in range(count_layers(model)):
            by_layer[layer] = run_records(model, tasks, replace(settings, layer=layer, frame_layers="all"), seeds)
        if weighted:
            run_records(model, tasks, replace(settings, layer="weighted"), seeds)
        for task in by_layer[0]:
            mean_weights = None
            found = weighted_records(settings.results, by_layer[0][task])
            if found:
                mean_weights = np.mean([r.layer_weights for r in found], axis=0)
                weights[found[0].model, task] = mean_weights
            for layer, grouped in by_layer.items():
                records = grouped[task]
                first = records[0]
                p = point(records, settings.results, series=first.model, panel=task, x=layer)
                points.append(p)
                metrics[first.model, task] = first.main_metric
                rows.append((first.model, task, layer, first.main_metric, p.score, interval_text(p.lo, p.hi), p.over,
                             p.runs, "" if mean_weights is None else float(mean_weights[layer])))
    best = {}
    for key in dict.fromkeys((p.series, p.panel) for p in points):
        sign = 1.0 if METRICS.get(metrics[key]).higher_is_better else -1.0  # an EER's best layer is its lowest
        top = max((p for p in points if (p.series, p.panel) == key), key=lambda p: (sign * p.score, -p.x))
        best[key] = (float(top.x), top.score, math.nan)
    table = markdown(("model", "task", "layer", "metric", "score", "95% interval", "over", "runs",
                      "learned weight"), rows)
    notes = [f"Layer 0 is the first hidden state the upstream returns; {seeds} seed(s) per layer; intervals: 95% "
             f"bootstrap over test items (and seeds). Best layer: "
             + "; ".join(f"{s} on {t}: {int(b[0])} ({b[1]:.4f})" for (s, t), b in best.items()) + "."]
    if weights:
        notes.append("Learned weight: the mean over seeds of the softmax weight of each layer in the "
                     "`--layer weighted` runs (`protocol.chosen.layer_weights`), drawn as grey bars.")
    figure = curves(points, xlabel="layer", ylabel="test score (the task's main metric)")
    panels = list(dict.fromkeys(p.panel for p in points))
    for ax, panel in zip(figure.axes, panels):
        mine = [(s, w) for (s, t), w in weights.items() if t == panel]
        if mine:
            twin = ax.twinx()
            for k, (_, w) in enumerate(mine):
                twin.bar(np.arange(len(w)) + 0.8 * k / len(mine) - 0.4, w, width=0.8 / len(mine), align="edge",
                         color="#999999", alpha=0.35, zorder=0)
            twin.set_ylabel("learned weight", fontsize=8)
            twin.tick_params(labelsize=8)
    report = write_report(Path(out), KIND, "Layer-wise probes", table, figure, notes)
    return Analysis(KIND, points, best, report)
