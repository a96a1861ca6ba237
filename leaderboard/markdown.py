"""LEADERBOARD.md: one table (a row per entry, ranked first), then notes, the other protocols'
boards of a benchmark (leaderboard/boards.py) and skipped files.

The text depends on the records only (no clock, fixed bootstrap seed, file names relative
to the results folder), so a committed LEADERBOARD.md can be checked against its records.
"""
from __future__ import annotations

import math
from typing import Sequence

import pandas as pd

from benchmark.scoring.bootstrap import N_BOOT
from leaderboard import costs, intervals
from leaderboard.board import Board
from leaderboard.domains import DOMAINS


def fmt(value: object, spec: str = ".1f") -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return "—"
    return format(value + 0.0 if isinstance(value, float) else value, spec)  # + 0.0: no "-0.0"


def scaled(value: float, sep: str = "") -> str:
    """A count with its SI prefix to three figures: `640k`, `1.28 M` (with `sep=" "`)."""
    for div, unit in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if value >= div:
            return f"{value / div:.3g}{sep}{unit}"
    return f"{value:.3g}" if isinstance(value, float) else str(value)


def params_text(n: object) -> str:
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "—"
    return scaled(int(n))


def macs_text(value: float) -> str:
    """Multiply-adds per second: `1.26 M`, `65.1 M`, `3.31 G`."""
    return scaled(float(value), " ")


def rank_text(row: pd.Series) -> str:
    if pd.isna(row["rank"]):
        return "—"
    return f"{row['rank']} [{row['rank_lo']}–{row['rank_hi']}]"


#: marks a cell whose records hold no per-item outputs (its interval, if any, is over seeds only)
SEED_MARK = "†"


def cell_text(board: Board, entry: str, task: str) -> str:
    """`mean [lo, hi]` over test items; `mean ± half†` over seeds alone; `mean†` for one such run."""
    if (entry, task) not in board.cells.index:
        return "—"
    c = board.cells.loc[(entry, task)]
    if c["interval"] == intervals.ITEMS:
        return f"{c['mean']:.4f} [{c['lo']:.4f}, {c['hi']:.4f}]"
    if c["interval"] == intervals.SEEDS:
        return f"{c['mean']:.4f} ± {(c['hi'] - c['lo']) / 2:.4f}{SEED_MARK}"
    return f"{c['mean']:.4f}{SEED_MARK}"


def task_header(board: Board, task: str) -> str:
    if task not in board.metrics:
        return f"{task} (no records)"
    return f"{task} ({board.metrics[task]}) {'↑' if board.directions[task].higher_is_better else '↓'}"


COST_COLUMNS = [f"multiply-adds / s ({costs.COST_SECONDS:g} s clip)", "real-time factor (device)", "peak MiB"]


def columns(board: Board) -> list[str]:
    return ["rank [95% interval]", "model", "overall", *DOMAINS, *(task_header(board, t) for t in board.tasks),
            "params", *COST_COLUMNS * costs.has_costs(board.entries), "clips/s (device)", "pre-training", "date",
            "not separable from"]


def cost_cells(r: pd.Series) -> list[str]:
    if r["macs_per_s"] is None or pd.isna(r["macs_per_s"]):
        return ["—"] * len(COST_COLUMNS)
    return [macs_text(r["macs_per_s"]), f"{r['rtf']:.3g} ({r['cost_device']})", f"{r['peak_mib']:.3g}"]


def score_text(row: pd.Series, column: str) -> str:
    """A normalised score with its 95% interval (the rank bootstrap's) where it has one: `12.3 [10.1, 14.2]`."""
    lo, hi = row.get(f"{column}_lo"), row.get(f"{column}_hi")
    if lo is None or hi is None or pd.isna(lo) or pd.isna(hi) or pd.isna(row[column]):
        return fmt(row[column])
    return f"{fmt(row[column])} [{fmt(lo)}, {fmt(hi)}]"


def rows(board: Board) -> list[list[str]]:
    """The table's cells as text, in display order (shared with the HTML page)."""
    out, show_costs = [], costs.has_costs(board.entries)
    for entry, r in board.entries.iterrows():
        speed = "—" if r["clips_per_s"] is None or pd.isna(r["clips_per_s"]) else \
            f"{r['clips_per_s']:.0f}" + (f" ({r['device']})" if r["device"] else "")
        out.append([rank_text(r), entry, score_text(r, "overall"), *(score_text(r, d) for d in DOMAINS),
                    *(cell_text(board, entry, t) for t in board.tasks), params_text(r["params"]),
                    *cost_cells(r) * show_costs, speed,
                    r["compute"] if isinstance(r["compute"], str) else "—",  # NaN where others have compute
                    r["date"] or "—", ", ".join(r["not_separable_from"]) or "—"])
    return out


def method_text(board: Board) -> str:
    """The legend: how cells, overall scores and ranks are computed (what the intervals cover)."""
    scaled = [t for t in board.tasks if t in board.scales]
    kinds = set(board.cells["interval"]) if len(board.cells) else set()
    parts = ["Cells: the main metric, mean over runs."]
    if intervals.ITEMS in kinds:
        parts.append(f"[lo, hi]: 95% BCa interval of a bootstrap over test items ({N_BOOT} replicates, fixed "
                     f"seed; retrieval captions resampled by clip, verification trials by enrolment speaker, SED by "
                     f"file), the same item draws for every seed and every entry on a test set, seeds resampled too, "
                     f"folds kept as strata, bias-corrected and accelerated by a jackknife over the same "
                     f"clusters: it covers test-set sampling and training randomness.")
    if kinds - {intervals.ITEMS}:
        parts.append(f"{SEED_MARK} records without per-item outputs: mean ± 95% Student-t half-width over seeds and "
                     f"folds (training randomness only; test items not covered); none for a single run.")
    parts.append(f"Overall and {', '.join(DOMAINS)}: the normalised score (0 = {board.floor_model}, 100 = ceiling) "
                 f"averaged over {len(scaled)} task(s) ({', '.join(scaled) or 'none'}) and over each domain's tasks, "
                 f"with the 95% percentile interval of the same bootstrap as the ranks.")
    parts.append("Rank: by overall score, with a 95% interval from the same bootstrap; entries whose intervals "
                 "overlap are not separable. Where some entries are resampled over test items, entries with cells "
                 "over seeds only are not ranked; a board of such cells alone resamples their seeds/folds. See "
                 "earbench's docs/leaderboard.md.")
    if costs.has_costs(board.entries):
        parts.append(costs.legend())
    return " ".join(parts)


def escape(text: str) -> str:
    return text.replace("|", "\\|")


def pipe_table(head: list[str], body: list[list[str]]) -> str:
    """A GitHub Markdown table of text cells (pipes escaped)."""
    lines = ["| " + " | ".join(map(escape, head)) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(map(escape, row)) + " |" for row in body]
    return "\n".join(lines)


def markdown_table(board: Board) -> str:
    if board.entries.empty:
        return "_no result records_\n"
    return pipe_table(columns(board), rows(board)) + "\n"


def board_section(board: Board, level: str = "##") -> list[str]:
    """One board's table and notes (an other-protocol board of a benchmark page)."""
    parts = [f"{level} {board.title}", "", markdown_table(board)]
    if board.notes:
        parts += [*(f"- {n}" for n in board.notes), ""]
    return parts


def render(boards: Board | Sequence[Board]) -> str:
    """The whole LEADERBOARD.md: the main board (a benchmark's, when there is one), then the
    other protocols' boards, then the files left out."""
    boards = [boards] if isinstance(boards, Board) else list(boards)
    board = boards[0]
    if board.benchmark:
        title = f"# earbench leaderboard: benchmark `{board.benchmark}`"
    else:
        title = "# earbench leaderboard" + (f": suite `{board.suite}`" if board.suite else "")
    parts = [title, "", method_text(board), "", markdown_table(board)]
    if board.notes:
        parts += ["## Notes", "", *(f"- {n}" for n in board.notes), ""]
    if len(boards) > 1:
        parts += ["## Other protocols", "", "Records that are not the benchmark's declared protocol for their task, "
                  "each protocol variant its own board (one row per model; the same cells and intervals; each task's floor is "
                  "the floor model's score under that variant).", ""]
        for other in boards[1:]:
            parts += board_section(other, "###")
    if board.problems:
        parts += ["## Records left out or partly ignored", "", *(f"- `{p.file}`: {p.reason}" for p in board.problems),
                  ""]
    return "\n".join(parts).rstrip("\n") + "\n"
