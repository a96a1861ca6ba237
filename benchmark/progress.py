"""One progress-bar helper (rich) so every long loop looks the same and can be silenced."""
from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Callable, Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


@contextmanager
def progress_bar(description: str, total: int, enabled: bool = True,
                 completed: int = 0) -> Iterator[Callable[..., None]]:
    """Yields `advance(n=1, total=None, **fields)` (`total` resizes the bar); a no-op when disabled
    or not on a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield lambda n=1, **fields: None
        return
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TimeRemainingColumn(), TextColumn("{task.fields[status]}"))
    with Progress(*columns, transient=False) as bar:
        task = bar.add_task(description, total=total, completed=completed, status="")

        def advance(n: int = 1, total: int | None = None, **fields: object) -> None:
            status = " ".join(f"{k}={v}" for k, v in fields.items())
            bar.update(task, advance=n, total=total, status=status)

        yield advance
