"""leaderboard.csv: the boards as numbers, one row per entry, for other tools to read.

`board` names the board a row is on; `overall_lo`/`overall_hi` and `<domain>_lo`/`_hi` are
the 95% intervals of the normalised scores (the rank bootstrap's).

Per task: `<task>:mean`, its 95% interval `<task>:lo` and `<task>:hi`, `<task>:interval`
(how it was made: `items`, the bootstrap over test items and seeds; `seeds`, Student t over
seeds for records without per-item outputs; `none`), `<task>:n` (runs) and
`<task>:normalised` (0 = floor, 100 = ceiling); lists are joined with `;`. The cost columns
(`macs_per_s`, `rtf`, `peak_mib` on `cost_device`, `cost_match`: `fingerprint` or `name`) are
the cost analysis' measurements on a 10 s clip (leaderboard/costs.py), empty where none was given.
"""
from __future__ import annotations

from typing import Sequence

import pandas as pd

from leaderboard.board import Board
from leaderboard.costs import COLUMNS
from leaderboard.domains import DOMAINS


def frame(boards: Board | Sequence[Board]) -> pd.DataFrame:
    """Every board's rows, the first column naming the board (`benchmark B`, or a protocol variant)."""
    boards = [boards] if isinstance(boards, Board) else list(boards)
    return pd.concat([board_frame(b) for b in boards], ignore_index=True)


def board_frame(board: Board) -> pd.DataFrame:
    bounds = [f"{c}_{end}" for c in ("overall", *DOMAINS) for end in ("lo", "hi")]
    out = board.entries.reset_index()[["rank", "rank_lo", "rank_hi", "entry", "model", "protocol", "layer", "pooling",
                                       "overall", *DOMAINS, *bounds]].copy()
    out.insert(0, "board", board.title)
    for task in board.tasks:
        for stat in ("mean", "lo", "hi", "interval", "n", "normalised"):
            out[f"{task}:{stat}"] = [board.cells[stat].get((e, task)) for e in out["entry"]]
    facts = board.entries.reset_index()
    for col in ("params", *COLUMNS, "clips_per_s", "device", "compute", "date", "missing"):
        out[col] = facts[col]
    out["not_separable_from"] = [";".join(x) for x in facts["not_separable_from"]]
    return out
