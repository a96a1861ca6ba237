"""The committed leaderboard: `leaderboard/results/` and the LEADERBOARD.md generated from it.

`python -m leaderboard.committed` regenerates LEADERBOARD.md; a test checks that the
committed file equals what the committed records give (and that none of them is bad).
It is the `mini` benchmark's board (tasks/benchmarks.py: one row per model), followed by
the boards of the other protocols the records hold, with the cost columns of
docs/analyses/cost.json, so the text depends on the records, that file and this code only.
"""
from __future__ import annotations

from pathlib import Path

from leaderboard import markdown
from leaderboard.board import Board
from leaderboard.boards import boards_from
from leaderboard.costs import read_costs

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: the cost analysis' measurements that docs/analyses.md's command made (the board's cost columns)
COSTS = HERE.parent / "docs" / "analyses" / "cost.json"
MARKDOWN = HERE / "LEADERBOARD.md"
REGENERATE = "python -m leaderboard.committed"
BENCHMARK = "mini"


def boards(results: Path | None = None) -> list[Board]:
    return boards_from(RESULTS if results is None else results, benchmark=BENCHMARK,
                       costs=read_costs(COSTS) if COSTS.is_file() else None)


def expected(results: Path | None = None) -> str:
    return markdown.render(boards(results))


def main() -> None:
    from benchmark.storage import write_text
    write_text(MARKDOWN, expected())
    print(f"wrote {MARKDOWN}")


if __name__ == "__main__":
    main()
