"""`earbench analyse checkpoints RUN ...`: a pre-training run's learning curve, the probe on its
random init and on every saved checkpoint (benchmark/analyses/checkpoints.py draws it).

A run's checkpoints are named `RECIPE@init`, `RECIPE@STEP`, and the newest plain `RECIPE`, as
`ckpt:RUN/init` and `ckpt:RUN` name them, so the curve's end points reuse the records of
`earbench run --model ckpt:RUN --model ckpt:RUN/init`. Keep every checkpoint for a full curve
(`earbench pretrain --keep 0`); a run pruned to its newest three draws only those and its init."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from benchmark.analyses.cli import OUT, POOLING, PROTOCOL, RERUN, RESULTS, SUITE, TASKS

def evenly(items: list, points: int | None) -> list:
    """At most `points` of `items`, evenly spaced, the first and the last always kept."""
    if points is None or len(items) <= points:
        return items
    if points < 2:
        raise ValueError("a learning curve needs at least 2 points (the init and the newest checkpoint)")
    return [items[round(k * (len(items) - 1) / (points - 1))] for k in range(points)]


def run_checkpoints(run: str | Path, points: int | None = None) -> tuple[str, list]:
    """The run's recipe name and its checkpoints (step, `ckpt:` spec, display name), init first;
    at most `points` of them, evenly spaced, the init and the newest always among them."""
    from benchmark.analyses.checkpoints import Checkpoint
    from models.checkpoint import CONFIG, INIT, CheckpointError, checkpoint_name, list_checkpoints, read_json
    run = Path(run)
    steps = list_checkpoints(run)
    if not steps:
        raise CheckpointError(f"{run}: no checkpoints; give a run folder of `earbench pretrain` (step-* folders)")
    configs = [read_json(folder / CONFIG) for folder in steps]
    recipe = checkpoint_name(configs[-1]) or run.name
    found = [Checkpoint(int(config.get("step", 0)), f"ckpt:{folder}",
                        recipe if folder == steps[-1] else f"{recipe}@{int(config.get('step', 0))}")
             for folder, config in zip(steps, configs)]
    if (run / INIT / CONFIG).is_file():
        found.insert(0, Checkpoint(0, f"ckpt:{run / INIT}", f"{recipe}@init"))
    return recipe, evenly(found, points)


def analyse_checkpoints(
    run: List[Path] = typer.Argument(..., help="Run folder(s) of `earbench pretrain`."),
    task: List[str] = TASKS,
    suite: Optional[str] = SUITE,
    reference: List[str] = typer.Option([], "--reference", help="An upstream without pre-training drawn flat "
                                                                "across the steps (e.g. logmel); repeatable."),
    protocol: str = PROTOCOL,
    layer: str = typer.Option("weighted", help="'last', a hidden-state index or 'weighted' (default: SUPERB's "
                                               "weighted sum, since the best layer moves during training)."),
    pooling: Optional[str] = POOLING,
    points: Optional[int] = typer.Option(None, min=2, help="At most N checkpoints per run, evenly spaced (the "
                                                           "init and the newest always among them; default all)."),
    seeds: int = typer.Option(1, min=1, help="Seeds 0..N-1 per checkpoint (combined in its interval)."),
    results: Path = RESULTS,
    out: Path = OUT,
    rerun: bool = RERUN,
) -> None:
    """The learning curve of a representation: the probe on a run's init and on each saved
    checkpoint, score vs pre-training step with item-level 95% intervals."""
    from benchmark.analyses.checkpoints import checkpoints
    from benchmark.analyses.cli import tasks_of
    from benchmark.cli import command_line
    from benchmark.settings import RunSettings
    tasks = tasks_of(task, suite)
    runs = dict(run_checkpoints(r, points) for r in run)
    settings = RunSettings(protocol=protocol, layer=layer, pooling=pooling, results=results, rerun=rerun,
                           command=command_line())
    analysis = checkpoints(runs, tasks, settings, references=reference, seeds=seeds, out=out)
    typer.echo(f"wrote {analysis.report} and {analysis.report.with_suffix('.svg')}")
