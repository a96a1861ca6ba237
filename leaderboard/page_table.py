"""A board as the page's HTML table: interval bars, task columns folded by domain, sortable.

Columns: rank [95% interval]; model; overall, its 95% interval drawn as a bar on a scale
shared by the rows (a tick at 0, the floor model); per domain its score, then its tasks
(`markdown.cell_text`: score over its interval), folded behind a button in the group's
header unless the board has at most FEW_TASKS tasks, so the table fits 1400 px (a board
without a floor has no overall or domain scores and shows its tasks); params, the cost
analysis' measurements where given (leaderboard/costs.py) and throughput, then (folded) pre-training compute, date and the entries it is not separable
from. Each cell has a sort key (`data-value`; empty for a missing value, which the page's
script always sorts last); folded cells carry `data-group` and start `hidden`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Callable

import numpy as np
import pandas as pd

from leaderboard import costs, markdown
from leaderboard.board import Board
from leaderboard.domains import DOMAINS

FEW_TASKS = 4  # a board with this many tasks or fewer shows them all (the table still fits 1400 px)
BAR_WIDTH, BAR_HEIGHT = 110, 14


def finite(x: object) -> bool:
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool) and math.isfinite(x)


def key(value: object) -> str:
    """A cell's sort key: the number as text, the text itself, or "" when missing."""
    if value is None or value is pd.NA or (isinstance(value, (float, np.floating)) and math.isnan(value)):
        return ""
    return repr(float(value)) if isinstance(value, (int, float, np.integer, np.floating)) else str(value)


def scale(values: list[object], zero: bool = True) -> tuple[float, float] | None:
    """The range that the bars of `values` share (0 included when `zero`); None when none is finite."""
    v = [float(x) for x in values if finite(x)]
    if not v:
        return None
    lo, hi = min(v + [0.0] * zero), max(v + [0.0] * zero)
    return (lo - 1, hi + 1) if hi - lo < 1e-9 else (lo, hi)


def interval_bar(mean: object, lo: object, hi: object, bounds: tuple[float, float] | None,
                 zero_tick: bool = False) -> str:
    """An inline SVG: a dot at `mean`, a whisker from `lo` to `hi` (when known), on `bounds`."""
    if bounds is None or not finite(mean):
        return ""
    a, b = bounds
    def x(v: float) -> str:
        return f"{3 + (float(v) - a) / (b - a) * (BAR_WIDTH - 6):.1f}"
    mid = BAR_HEIGHT / 2
    parts = [f'<line x1="3" y1="{mid}" x2="{BAR_WIDTH - 3}" y2="{mid}" stroke="#e4e4e4" stroke-width="4"/>']
    if zero_tick and a <= 0 <= b:
        parts.append(f'<line x1="{x(0)}" y1="1" x2="{x(0)}" y2="{BAR_HEIGHT - 1}" stroke="#999"/>')
    if finite(lo) and finite(hi):
        parts.append(f'<line class="whisker" x1="{x(lo)}" y1="{mid}" x2="{x(hi)}" y2="{mid}" stroke="#1f77b4" '
                     f'stroke-width="2"/>')
        parts += [f'<line x1="{x(v)}" y1="3" x2="{x(v)}" y2="{BAR_HEIGHT - 3}" stroke="#1f77b4"/>' for v in (lo, hi)]
    parts.append(f'<circle cx="{x(mean)}" cy="{mid}" r="3" fill="#222"/>')
    return (f'<svg class="ibar" width="{BAR_WIDTH}" height="{BAR_HEIGHT}" viewBox="0 0 {BAR_WIDTH} {BAR_HEIGHT}" '
            f'aria-hidden="true">{"".join(parts)}</svg>')


def interval_text(row: pd.Series, name: str, before: str = " ") -> str:
    """` [lo, hi]` of an overall or domain score, when the board has its interval."""
    lo, hi = row[f"{name}_lo"], row[f"{name}_hi"]
    return f'{before}<span class="ci">[{markdown.fmt(lo)}, {markdown.fmt(hi)}]</span>' if finite(lo) and finite(hi) \
        else ""


@dataclass(frozen=True)
class Column:
    head: str                                            # header HTML
    cell: Callable[[str, pd.Series], tuple[str, str]]    # (entry, row) -> (cell HTML, sort key)
    numeric: bool = True
    css: str = "num"
    group: str | None = None                             # folded with this group
    tip: str = ""                                        # the header's tooltip


@dataclass(frozen=True)
class Block:
    """Adjacent columns under one header; those with a `group` fold behind its button."""
    label: str
    columns: list[Column]
    group: str | None = None
    open: bool = False


def task_column(board: Board, task: str, group: str | None) -> Column:
    def cell(entry: str, _row: pd.Series) -> tuple[str, str]:
        text = markdown.cell_text(board, entry, task)
        if (entry, task) not in board.cells.index:
            return escape(text), ""
        mean, _, rest = text.partition(" ")
        return (f'{escape(mean)}<br><span class="ci">{escape(rest)}</span>' if rest else escape(mean),
                key(board.cells.at[(entry, task), "mean"]))
    arrow = "↑" if board.directions[task].higher_is_better else "↓"
    declared = board.declarations.get(task)
    return Column(f'{escape(task)}<br><span class="ci">{escape(board.metrics[task])} {arrow}</span>', cell,
                  css="num task", group=group, tip=declared or "")


def blocks(board: Board) -> list[Block]:
    bounds = scale([v for c in ("overall", "overall_lo", "overall_hi") for v in board.entries[c]])

    def overall(_entry: str, r: pd.Series) -> tuple[str, str]:
        bar = interval_bar(r["overall"], r["overall_lo"], r["overall_hi"], bounds, zero_tick=True)
        return escape(markdown.fmt(r["overall"])) + interval_text(r, "overall") + bar, key(r["overall"])

    def domain(d: str) -> Callable[[str, pd.Series], tuple[str, str]]:
        return lambda _entry, r: (escape(markdown.fmt(r[d])) + interval_text(r, d, "<br>"),
                                  key(r[d]))

    def speed(_entry: str, r: pd.Series) -> tuple[str, str]:
        if not finite(r["clips_per_s"]):
            return "—", ""
        device = f'<br><span class="ci">{escape(str(r["device"]))}</span>' if r["device"] else ""
        return f"{r['clips_per_s']:.0f}{device}", key(r["clips_per_s"])

    def text(name: str, show: Callable[[object], str]) -> Callable[[str, pd.Series], tuple[str, str]]:
        return lambda _entry, r: (escape(show(r[name])), key(r[name]))

    present = [t for t in board.tasks if t in board.domains]
    scored = bool(board.scales)  # without a floor there are no overall or domain scores: the tasks are all
    unfold = len(present) <= FEW_TASKS or not scored
    out = [Block("", [Column("rank<br>[95% interval]", lambda _e, r: (escape(markdown.rank_text(r)), key(r["rank"]))),
                      Column("model", lambda e, _r: (escape(e), e), numeric=False, css="model")]
                 + [Column(f'overall<br><span class="ci">0 = {escape(board.floor_model)}, 100 = ceiling</span>',
                           overall, css="num overall")] * scored)]
    for d in DOMAINS:
        tasks = [t for t in present if board.domains[t] == d]
        if tasks:
            group = d if scored else None  # folding needs the domain's score to stay in view
            out.append(Block(f"{d} · {len(tasks)} task{'s' * (len(tasks) > 1)}",
                             [Column(escape(d), domain(d))] * scored + [task_column(board, t, group) for t in tasks],
                             group, unfold))
    def measured(name: str, show: Callable[[float], str], device: bool = False
                 ) -> Callable[[str, pd.Series], tuple[str, str]]:
        def cell(_entry: str, r: pd.Series) -> tuple[str, str]:
            if not finite(r[name]):
                return "—", ""
            where = f'<br><span class="ci">{escape(str(r["cost_device"]))}</span>' if device else ""
            return escape(show(r[name])) + where, key(r[name])
        return cell

    spent = [Column(f'MACs / s<br><span class="ci">{costs.COST_SECONDS:g} s clip</span>', measured(
                 "macs_per_s", markdown.macs_text), tip="multiply-adds per second of audio (earbench analyse cost)"),
             Column("real-time<br>factor", measured("rtf", lambda v: f"{v:.3g}", device=True),
                    tip="wall time of a forward over the clip's duration"),
             Column("peak MiB", measured("peak_mib", lambda v: f"{v:.3g}"), tip="peak memory of the forward")
             ] * costs.has_costs(board.entries)
    out.append(Block("cost · more", [
        Column("params", text("params", markdown.params_text)),
        *spent,
        Column("clips/s", speed),
        Column("pre-training", text("compute", lambda v: v if isinstance(v, str) else "—"), numeric=False,
               css="", group="details"),
        Column("date", text("date", lambda v: v or "—"), numeric=False, css="", group="details"),
        Column("not separable from", lambda _e, r: (escape(", ".join(r["not_separable_from"]) or "—"),
                                                    ", ".join(r["not_separable_from"])),
               numeric=False, css="", group="details")], "details"))
    return out


def group_head(block: Block) -> str:
    closed = sum(c.group is None for c in block.columns)
    span = len(block.columns) if block.open else closed
    if block.group is None:
        return f'<th class="group" colspan="{span}">{escape(block.label)}</th>'
    button = (f'<button class="fold" data-group="{block.group}" aria-expanded="{"true" if block.open else "false"}"'
              f' title="show or hide these columns">{escape(block.label)} ±</button>')
    return (f'<th class="group" colspan="{span}" data-open="{len(block.columns)}" data-closed="{closed}">'
            f"{button}</th>")


def table(board: Board, table_id: str) -> str:
    """The board's table (see the module docstring), wrapped so that an unfolded one scrolls."""
    layout = blocks(board)
    columns = [(c, c.group is not None and not b.open) for b in layout for c in b.columns]
    def folded(c: Column, hidden: bool) -> str:
        return (f' data-group="{c.group}"' if c.group else "") + (" hidden" if hidden else "")
    heads = "".join(f'<th data-col="{k}" data-type="{"num" if c.numeric else "text"}"{folded(c, hidden)}'
                    + (f' title="{escape(c.tip)}"' if c.tip else "") + f">{c.head}</th>"
                    for k, (c, hidden) in enumerate(columns))
    body = []
    for entry, r in board.entries.iterrows():
        tds = []
        for c, hidden in columns:
            html, sort_key = c.cell(entry, r)
            css = f' class="{c.css}"' if c.css else ""
            tds.append(f'<td{css} data-value="{escape(sort_key)}"{folded(c, hidden)}>{html}</td>')
        cls = "" if pd.notna(r["rank"]) else ' class="unranked"'
        body.append(f'<tr data-entry="{escape(entry)}"{cls}>{"".join(tds)}</tr>')
    return (f'<div class="scroll"><table class="board" id="{table_id}"><thead>'
            f'<tr>{"".join(map(group_head, layout))}</tr><tr>{heads}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table></div>')
