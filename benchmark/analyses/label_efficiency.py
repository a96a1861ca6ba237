"""Label efficiency: one protocol at several training fractions, score vs fraction with
item-level intervals, and the area under that curve.

Each fraction is an ordinary run with `--train-fraction F` (a stratified draw per seed, at
least one clip per class), so its records sit beside the others (`linear-frac_0.1-...`) and
a fraction of 1 is the plain run itself. The area is taken over log10(fraction) scaled to
[0, 1] from the smallest fraction to the largest: the mean score over log-spaced label
budgets, in the metric's units; its interval comes from the points' paired replicates (the
same test-item draws at every fraction)."""
from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path
from typing import Sequence

import torch

from benchmark.analyses.report import (Analysis, curve_area, curves, interval_text, markdown, point,
                                       write_report)
from benchmark.analyses.runs import run_records
from benchmark.errors import EarbenchError
from benchmark.settings import RunSettings
from benchmark.task import TaskSpec

KIND = "label-efficiency"
FRACTIONS = (0.01, 0.05, 0.1, 0.25, 1.0)


def log_positions(fractions: Sequence[float]) -> list[float]:
    """Where each fraction sits on the area's axis: log10(fraction)."""
    return [math.log10(f) for f in fractions]


def label_efficiency(models: Sequence[str | torch.nn.Module], tasks: Sequence[str | Path | TaskSpec],
                     settings: RunSettings, *, fractions: Sequence[float] = FRACTIONS, seeds: int = 3,
                     out: str | Path = "analyses") -> Analysis:
    """Run `settings`' protocol on each model x task at each of `fractions` (seeds 0..seeds-1),
    then write OUT/label-efficiency.md (a row per point, the areas) and its plot."""
    fractions = sorted(set(float(f) for f in fractions))
    if not fractions or not all(0.0 < f <= 1.0 for f in fractions):
        raise EarbenchError(f"label efficiency: fractions must be in (0, 1], got {fractions}")
    if settings.results is None:
        raise EarbenchError("label efficiency: give a results folder (its records are the curve's points)")
    points, rows, metrics = [], [], {}
    for model in models:
        for fraction in fractions:
            for task, records in run_records(model, tasks, replace(settings, train_fraction=fraction), seeds).items():
                first = records[0]
                p = point(records, settings.results, series=first.model, panel=task, x=fraction)
                points.append(p)
                metrics[task] = first.main_metric
                n_train = sum(r.task.get("n", {}).get("train", 0) for r in records) / len(records)
                rows.append((first.model, task, first.label.split(" frac=")[0], f"{fraction:g}", f"{n_train:g}",
                             first.main_metric, p.score, interval_text(p.lo, p.hi), p.over, p.runs))
    areas = {}
    for key in dict.fromkeys((p.series, p.panel) for p in points):
        mine = sorted((p for p in points if (p.series, p.panel) == key), key=lambda p: p.x)
        areas[key] = curve_area(mine, log_positions([p.x for p in mine]))
    table = markdown(("model", "task", "protocol", "fraction", "train items", "metric", "score", "95% interval",
                      "over", "runs"), rows)
    table += "\n" + markdown(("model", "task", "metric", "area under the curve", "95% interval"),
                             [(s, task, metrics[task], a, interval_text(lo, hi))
                              for (s, task), (a, lo, hi) in areas.items()])
    notes = [f"Fractions {', '.join(f'{f:g}' for f in fractions)} of the training split (stratified, a fresh draw "
             f"per seed; {seeds} seed(s)); intervals: 95% bootstrap over test items (and seeds). The area is under "
             f"score vs log10(fraction), x scaled to [0, 1] from {fractions[0]:g} to {fractions[-1]:g}: the mean "
             f"score over log-spaced label budgets."]
    figure = curves(points, xlabel="training fraction (log scale)", ylabel="test score (the task's main metric)",
                    log_x=True)
    for ax in figure.axes:
        ax.set_xticks(fractions, [f"{f:g}" for f in fractions])
        ax.minorticks_off()
    report = write_report(Path(out), KIND, "Label efficiency", table, figure, notes)
    return Analysis(KIND, points, areas, report)


