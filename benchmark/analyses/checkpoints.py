"""Learning curves of a representation: the probe on each checkpoint of a pre-training run,
score vs pre-training step with item-level intervals.

The analysis takes, per run, its checkpoints as (step, upstream spec, display name) points;
reading a run folder into them is the pre-training plugin's part (`models/learning_curve.py`,
`earbench analyse checkpoints RUN`). Each checkpoint runs under its own name, so its records
are ordinary ones, kept side by side and reused by any run of the same name. Reference
upstreams (`logmel`) are drawn flat across the steps: no pre-training, the same test items."""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, NamedTuple, Sequence

from benchmark.analyses.report import Analysis, Point, curves, interval_text, markdown, point, write_report
from benchmark.analyses.runs import run_records
from benchmark.errors import EarbenchError
from benchmark.settings import RunSettings
from benchmark.task import TaskSpec

KIND = "checkpoints"


class Checkpoint(NamedTuple):
    step: int
    spec: str  # the upstream spec that loads it (`ckpt:RUN/step-00000200`)
    name: str  # its display name, the records' `model`


def checkpoints(runs: Mapping[str, Sequence[Checkpoint]], tasks: Sequence[str | Path | TaskSpec],
                settings: RunSettings, *, references: Sequence[str] = (), seeds: int = 1,
                out: str | Path = "analyses") -> Analysis:
    """Probe every checkpoint of each run (`runs`: series name -> its checkpoints) on each task;
    write OUT/checkpoints.md and its plot (score vs step, a line per run, references flat).
    The summary is each run's newest checkpoint: its score and interval per task."""
    if settings.results is None:
        raise EarbenchError("checkpoint learning curves: give a results folder (its records are the curve's points)")
    points: list[Point] = []
    rows, summary = [], {}
    for series, steps in runs.items():
        for step, spec, name in sorted(steps):
            for task, records in run_records(spec, tasks, settings, seeds, name=name).items():
                p = point(records, settings.results, series=series, panel=task, x=step)
                points.append(p)
                rows.append((series, task, step, name, records[0].main_metric, p.score, interval_text(p.lo, p.hi),
                             p.over, p.runs))
                summary[series, task] = (p.score, p.lo, p.hi)
    steps_drawn = sorted({step for steps in runs.values() for step, _, _ in steps})
    for reference in references:
        for task, records in run_records(reference, tasks, settings, seeds).items():
            flat = [point(records, settings.results, series=records[0].model, panel=task, x=x) for x in steps_drawn]
            points.extend(flat)
            rows.append((flat[0].series, task, "-", flat[0].series, records[0].main_metric, flat[0].score,
                         interval_text(flat[0].lo, flat[0].hi), flat[0].over, flat[0].runs))
    table = markdown(("run", "task", "step", "model", "metric", "score", "95% interval", "over", "runs"), rows)
    notes = [f"{seeds} seed(s) per checkpoint; intervals: 95% bootstrap over test items (and seeds), the same items "
             "drawn at every step, so the points of one task are paired. Step 0 is the random initialisation."]
    if references:
        notes.append(f"{', '.join(references)}: no pre-training, drawn flat across the steps.")
    figure = curves(points, xlabel="pre-training step", ylabel="test score (the task's main metric)")
    report = write_report(Path(out), KIND, "Learning curves of the representation", table, figure, notes)
    return Analysis(KIND, points, summary, report)
