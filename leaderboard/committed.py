"""The committed leaderboard: `leaderboard/results/` and the LEADERBOARD.md generated from it.

`python -m leaderboard.committed` regenerates LEADERBOARD.md; a test checks that the
committed file equals what the committed records give (and that none of them is bad).
All tasks found in the records are columns, in name order, so the text depends on the
records and this code only.
"""
from __future__ import annotations

from pathlib import Path

from leaderboard import markdown
from leaderboard.board import Board, build_from

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
MARKDOWN = HERE / "LEADERBOARD.md"
REGENERATE = "python -m leaderboard.committed"


def board(results: Path | None = None) -> Board:
    return build_from(RESULTS if results is None else results)


def expected(results: Path | None = None) -> str:
    return markdown.render(board(results))


def main() -> None:
    from benchmark.storage import write_text
    write_text(MARKDOWN, expected())
    print(f"wrote {MARKDOWN}")


if __name__ == "__main__":
    main()
