"""Write the three outputs of a results folder's boards (each atomically, so a reader never sees half a file)."""
from __future__ import annotations

from pathlib import Path

from benchmark.storage import write_text
from leaderboard import markdown, page, table_csv
from leaderboard.board import Board
from leaderboard.boards import boards_from

OUTPUTS = ("LEADERBOARD.md", "leaderboard.csv", "index.html")


def write_all(results: str | Path, out: str | Path | None, **kwargs) -> tuple[list[Board], str]:
    """Build the boards of `results` (kwargs go to `boards.build_boards`: `benchmark`, ...);
    write LEADERBOARD.md, leaderboard.csv and index.html under `out` when given; return the
    boards (the main one first) and their Markdown."""
    boards = boards_from(results, **kwargs)
    text = markdown.render(boards)
    if out is not None:
        out = Path(out)
        write_text(out / "LEADERBOARD.md", text)
        write_text(out / "leaderboard.csv", table_csv.frame(boards).to_csv(index=False, float_format="%.6g"))
        write_text(out / "index.html", page.render(boards))
    return boards, text
