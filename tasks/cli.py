"""`earbench data ...`: fetch and prepare the real datasets (tasks/datasets/), build the mini suite.

    earbench data list
    earbench data download DATASET --target DIR
    earbench data prepare DATASET --corpus-dir DIR [--out DIR]
    earbench data build mini [--size tiny|small|full]

Each subcommand is one `@app.command(...)` on the Typer app below, wrapped with
`benchmark.cli.guarded` so harness errors print as one line (exit 2); a new subcommand
(e.g. `build`) is one more decorated function.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from benchmark.cli import guarded

app = typer.Typer(help="Real datasets: list them, download a corpus, prepare it as tasks; build the mini suite.",
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
out = Console()
err = Console(stderr=True)


@app.command("list")
@guarded
def list_datasets() -> None:
    """Every dataset, the tasks it prepares, and whether they are prepared in $EARBENCH_HOME/data."""
    from tasks.datasets import DATASETS, default_out_dir, get_dataset
    table = Table(title=f"datasets (prepared tasks live in {default_out_dir()})")
    for column in ("dataset", "tasks", "prepared", "description"):
        table.add_column(column)
    for name in DATASETS:
        dataset = get_dataset(name)
        done = [t for t in dataset.tasks if (default_out_dir() / t / "task.toml").is_file()]
        table.add_row(name, ", ".join(dataset.tasks), ", ".join(done) or "-", dataset.description)
    out.print(table)


@app.command("download")
@guarded
def download(dataset: str = typer.Argument(..., help="A dataset name (see `earbench data list`)."),
             target: Path = typer.Option(..., "--target", help="Directory for the archives and the unpacked corpus.")
             ) -> None:
    """Download a corpus's published archives (resumable, checksummed) and unpack them."""
    from tasks.datasets import get_dataset
    d = get_dataset(dataset)
    corpus = d.download(target)
    out.print(f"{d.name}: corpus in {corpus}. Next: earbench data prepare {d.name} --corpus-dir {corpus}")


@app.command("prepare")
@guarded
def prepare(dataset: str = typer.Argument(..., help="A dataset name (see `earbench data list`)."),
            corpus_dir: Path = typer.Option(..., "--corpus-dir", help="The corpus as published (unpacked)."),
            out_dir: Optional[Path] = typer.Option(None, "--out", help="Where the folder tasks go "
                                                   "(default $EARBENCH_HOME/data, where registered tasks look).")
            ) -> None:
    """Turn a corpus's own layout into earbench folder tasks (validated before they are written)."""
    from tasks.datasets import get_dataset
    for path in get_dataset(dataset).prepare(corpus_dir, out_dir):
        out.print(f"prepared {path.name}: {path}")


@app.command("build")
@guarded
def build(suite: str = typer.Argument("mini", help="The locally built suite (only `mini`)."),
          size: str = typer.Option("small", help="tiny (tests, < 1 min) | small (demo, minutes) | full (pre-training)."),
          out_dir: Optional[Path] = typer.Option(None, "--out", help="Default: $EARBENCH_HOME/data/mini/<size>, "
                                                 "where the registered mini-* tasks look."),
          seed: int = typer.Option(0, help="Everything is deterministic in this seed."),
          workers: Optional[int] = typer.Option(None, help="Rendering processes (default: one per core)."),
          task: Optional[list[str]] = typer.Option(None, "--task", "-t", help="Only these mini tasks (repeatable; "
                                                   "default: all, and the pre-training corpus).")) -> None:
    """Build the offline `mini` suite from local sound sources (cached: a second build is instant)."""
    from benchmark.errors import EarbenchError
    from tasks.mini import MINI_CORPUS, MINI_TASKS, MissingSourceError, build_mini
    from tasks.mini_tasks import mini_root
    if suite != "mini":
        raise EarbenchError(f"only the `mini` suite is built locally, not {suite!r}; real datasets use "
                            "`earbench data download` and `earbench data prepare`")
    unknown = [t for t in task or () if t not in (*MINI_TASKS, MINI_CORPUS)]
    if unknown:
        raise EarbenchError(f"no mini task {unknown[0]!r}; the mini suite has {', '.join((*MINI_TASKS, MINI_CORPUS))}")
    try:
        folders = build_mini(out_dir or mini_root(size), size=size, seed=seed, workers=workers, names=task or None)
    except MissingSourceError as exc:
        raise EarbenchError(str(exc)) from exc
    out.print(f"built {len(folders)} folders in {folders[0].parent} (size {size}, seed {seed})")
    if size != "small" and out_dir is None:
        out.print(f"set EARBENCH_MINI_SIZE={size} so that `--task mini-...` uses this build")
