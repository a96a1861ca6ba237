"""Write the three outputs of one board (each atomically, so a reader never sees half a file)."""
from __future__ import annotations

from pathlib import Path

from benchmark.storage import write_text
from leaderboard import markdown, page, table_csv
from leaderboard.board import Board, build_from

OUTPUTS = ("LEADERBOARD.md", "leaderboard.csv", "index.html")


def write_all(results: str | Path, out: str | Path | None, **kwargs) -> tuple[Board, str]:
    """Build the board of `results` (kwargs go to `board.build`); write LEADERBOARD.md,
    leaderboard.csv and index.html under `out` when given; return the board and its Markdown."""
    board = build_from(results, **kwargs)
    text = markdown.render(board)
    if out is not None:
        out = Path(out)
        write_text(out / "LEADERBOARD.md", text)
        write_text(out / "leaderboard.csv", table_csv.frame(board).to_csv(index=False, float_format="%.6g"))
        write_text(out / "index.html", page.render(board))
    return board, text
