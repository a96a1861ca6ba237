"""`earbench leaderboard`: render result records (plugged into the CLI by entry point).

Only typer and light modules load at the top, so that `earbench --help` stays instant; the
board (pandas, scipy, matplotlib) loads when the command runs (docs/design.md, the CLI's start-up)."""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from benchmark.benchmarks import FLOOR_MODEL
from benchmark.errors import EarbenchError


#: where `earbench analyse cost` writes by default (its --out, analyses/)
DEFAULT_COST = Path("analyses") / "cost.json"


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
                benchmark: Optional[str] = typer.Option(None, "--benchmark", "-b", help="Rank one row per model "
                                                        "on this benchmark's declared protocols (`earbench list "
                                                        "benchmarks`); other records get their protocol's board."),
                floor: Optional[str] = typer.Option(None, help=f"Reference model: 0 on the normalised score "
                                                    f"(default: the benchmark's, else {FLOOR_MODEL})."),
                ceiling: List[str] = typer.Option([], help="TASK=VALUE: a best known score used as that task's "
                                                  "ceiling instead of the perfect value; repeatable."),
                best_ceiling: bool = typer.Option(False, help="Use the best observed score as every task's ceiling."),
                cost: Optional[Path] = typer.Option(None, help="The cost analysis' measurements (`earbench analyse "
                                                    "cost` writes OUT/cost.json), shown as columns; default: "
                                                    f"{DEFAULT_COST} where it exists.")
                ) -> None:
    """Aggregate result records: main metric mean ± 95% CI per task, normalised overall and
    per-domain scores, ranks with bootstrap intervals. Prints the Markdown table."""
    if not results.is_dir():
        raise EarbenchError(f"no results folder {str(results)!r}")
    if benchmark and suite:
        raise EarbenchError(f"--benchmark {benchmark} fixes its tasks; drop --suite {suite}")
    tasks = None
    if suite:
        from benchmark.task import suite_tasks
        tasks = suite_tasks(suite)
    if benchmark:
        from benchmark.benchmarks import BENCHMARKS
        BENCHMARKS.get(benchmark)  # an unknown name fails here, with the known ones
    from leaderboard.costs import read_costs
    from leaderboard.write import write_all
    cost_file = cost or (DEFAULT_COST if DEFAULT_COST.is_file() else None)
    boards, text = write_all(results, out, tasks=tasks, suite=suite, benchmark=benchmark,
                             costs=read_costs(cost_file) if cost_file else None,
                             floor_model=floor if floor or benchmark else FLOOR_MODEL,
                             known_ceilings=parse_ceilings(ceiling), best_ceiling=best_ceiling)
    for problem in boards[0].problems:
        typer.echo(f"warning: {results / problem.file}: {problem.reason}", err=True)
    typer.echo(text, nl=False)
    if out:
        typer.echo(f"wrote {out / 'LEADERBOARD.md'}, {out / 'leaderboard.csv'}, {out / 'index.html'}", err=True)
