"""`earbench leaderboard`: render result records (plugged into the CLI by entry point)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from benchmark.storage import atomic_path
from leaderboard.markdown import markdown_table
from leaderboard.records import load_records


def leaderboard(results: Path = typer.Option(Path("results"), help="Directory of result records."),
                out: Optional[Path] = typer.Option(None, help="Also write LEADERBOARD.md here.")) -> None:
    """Aggregate result records into a table (mean ± 95% CI over seeds and folds)."""
    table = markdown_table(load_records(results))
    typer.echo(table)
    if out:
        with atomic_path(Path(out) / "LEADERBOARD.md") as tmp:
            tmp.write_text("# earbench leaderboard\n\n" + table)
