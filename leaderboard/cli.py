"""`earbench leaderboard`: render result records (plugged into the CLI by entry point)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from benchmark.errors import EarbenchError
from leaderboard.board import FLOOR_MODEL
from leaderboard.write import write_all


def parse_ceilings(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        task, sep, value = item.partition("=")
        try:
            out[task] = float(value)
        except ValueError:
            sep = ""
        if not sep or not task:
            raise EarbenchError(f"--ceiling expects TASK=VALUE (a number), got {item!r}")
    return out


def leaderboard(results: Path = typer.Option(Path("results"), help="Directory of result records."),
                out: Optional[Path] = typer.Option(None, help="Write LEADERBOARD.md, leaderboard.csv and "
                                                               "index.html here."),
                suite: Optional[str] = typer.Option(None, "--suite", "-s", help="Only this suite's tasks, in its "
                                                    "order; the overall score averages over them."),
                floor: str = typer.Option(FLOOR_MODEL, help="Reference model: 0 on the normalised score."),
                ceiling: List[str] = typer.Option([], help="TASK=VALUE: a best known score used as that task's "
                                                  "ceiling instead of the perfect value; repeatable."),
                best_ceiling: bool = typer.Option(False, help="Use the best observed score as every task's ceiling.")
                ) -> None:
    """Aggregate result records: main metric mean ± 95% CI per task, normalised overall and
    per-domain scores, ranks with bootstrap intervals. Prints the Markdown table."""
    if not results.is_dir():
        raise EarbenchError(f"no results folder {str(results)!r}")
    tasks = None
    if suite:
        from benchmark.task import suite_tasks
        tasks = suite_tasks(suite)
    board, text = write_all(results, out, tasks=tasks, suite=suite, floor_model=floor,
                            known_ceilings=parse_ceilings(ceiling), best_ceiling=best_ceiling)
    for problem in board.problems:
        typer.echo(f"warning: {results / problem.file}: {problem.reason}", err=True)
    typer.echo(text, nl=False)
    if out:
        typer.echo(f"wrote {out / 'LEADERBOARD.md'}, {out / 'leaderboard.csv'}, {out / 'index.html'}", err=True)
