"""`earbench compare A B`: a verdict per task (plugged into the CLI by entry point).

Only typer loads at the top, so that `earbench --help` stays instant; the tests (pandas, scipy)
load when the command runs (docs/design.md, the CLI's start-up)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer


def compare(a: str = typer.Argument(..., help="A model name (or an entry label when it has several)."),
            b: str = typer.Argument(..., help="The model to compare it with."),
            results: Path = typer.Option(Path("results"), help="Directory of result records."),
            suite: Optional[str] = typer.Option(None, "--suite", "-s", help="Compare on this suite's tasks."),
            benchmark: Optional[str] = typer.Option(None, "--benchmark", "-b", help="Compare the two models on this "
                                                    "benchmark's tasks, each under its declared protocol."),
            task: List[str] = typer.Option([], "--task", "-t", help="Compare on this task; repeatable.")) -> None:
    """Per task: A - B tested over test items (paired bootstrap 95% CI and p; exact McNemar for
    accuracy), and a one-line verdict: better, or not separable."""
    from benchmark.task import suite_tasks
    from leaderboard.compare import ALPHA, compare as compare_entries
    from leaderboard.records import read_records
    frame, problems = read_records(results)
    for problem in problems:
        typer.echo(f"warning: {results / problem.file}: {problem.reason}", err=True)
    tasks = [*task, *(suite_tasks(suite) if suite else [])] or None
    if benchmark:
        from benchmark.benchmarks import BENCHMARKS
        from leaderboard.boards import declared
        bench = BENCHMARKS.get(benchmark)
        frame, tasks = frame[declared(frame, bench)], tasks or bench.task_names
    found = compare_entries(frame, a, b, tasks, by_model=bool(benchmark))
    width = max([len(c.task) for c in found] + [4])
    for c in found:
        typer.echo(f"{c.task:<{width}}  {c.verdict}")
    wins = {w: sum(c.winner == w for c in found) for w in ("A", "B")}
    compared = sum(c.n > 0 for c in found)
    typer.echo(f"{a} better on {wins['A']}, {b} better on {wins['B']}, not separable on "
               f"{compared - wins['A'] - wins['B']} of {compared} compared task(s) (item-level tests, alpha {ALPHA}, "
               f"per task, uncorrected); {len(found) - compared} not compared")
