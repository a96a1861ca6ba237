"""The page's figures as inline SVG text (matplotlib, no pyplot state, no network).

Each function returns the SVG, or None when the board has nothing to draw, so the page
can say why a figure is absent. The SVG is deterministic (fixed id salt, no date).
Labels are horizontal and placed so that they do not overlap (`place_labels`).
"""
from __future__ import annotations

import io
import math

import numpy as np
import pandas as pd
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, MaxNLocator

from leaderboard.board import Board
from leaderboard.costs import COST_SECONDS
from leaderboard.domains import DOMAINS

COLORS = {"overall": "#444444", "speech": "#1f77b4", "environment": "#2ca02c", "music": "#d62728"}
FRONT, OTHER = "#d62728", "#7f7f7f"
FONT = 9  # points: every label and tick


def svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "earbench", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def column(board: Board, name: str) -> pd.Series:
    """An entries column as floats (NaN where missing)."""
    return pd.to_numeric(board.entries[name], errors="coerce").astype(float)


def errors(values: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray | None:
    """matplotlib's (2, n) error extents from an interval, 0 where it is unknown; None when none is known."""
    if not np.isfinite(lo).any():
        return None
    return np.vstack([np.nan_to_num(np.clip(values - lo, 0, None)), np.nan_to_num(np.clip(hi - values, 0, None))])


def params_label(n: float, _pos: object = None) -> str:
    for div, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if n >= div:
            return f"{n / div:g}{unit}"
    return f"{n:g}"


def place_labels(ax: Axes, xs: np.ndarray, ys: np.ndarray, names: list[str]) -> None:
    """Label each point with its name, horizontally, where it overlaps no label placed before
    it nor any point: candidate offsets around the point, then further up and down with a
    leader line. Points are labelled in the given order (put the important ones first)."""
    fig = ax.figure
    px = fig.dpi / 72  # display pixels per point
    points = ax.transData.transform(np.column_stack([xs, ys]))
    frame = ax.bbox
    taken = [(x - 4 * px, y - 4 * px, x + 4 * px, y + 4 * px) for x, y in points]
    h = FONT * 1.25 * px
    for k, ((x, y), name) in enumerate(zip(points, names)):
        w = (0.6 * FONT * len(name) + 2) * px
        near = [(5, 2), (5, -h / px - 2), (-5 - w / px, 2), (-5 - w / px, -h / px - 2)]
        far = [(dx, dy + sign * step * (h / px + 1)) for step in range(1, 8) for sign in (1, -1)
               for dx, dy in ((8, -h / px / 2), (-8 - w / px, -h / px / 2))]
        chosen = near[0]
        for dx, dy in near + far:
            box = (x + dx * px, y + dy * px, x + dx * px + w, y + dy * px + h)
            inside = box[0] >= frame.x0 and box[2] <= frame.x1 and box[1] >= frame.y0 and box[3] <= frame.y1
            clear = not any(box[0] < b[2] and b[0] < box[2] and box[1] < b[3] and b[1] < box[3]
                            for i, b in enumerate(taken) if i != k)
            if inside and clear:
                chosen = (dx, dy)
                break
        dx, dy = chosen
        taken.append((x + dx * px, y + dy * px, x + dx * px + w, y + dy * px + h))
        leader = {"arrowstyle": "-", "color": "#999999", "lw": 0.6} if (dx, dy) not in near else None
        ax.annotate(name, (xs[k], ys[k]), xytext=(dx, dy), textcoords="offset points", fontsize=FONT,
                    ha="left", va="bottom", arrowprops=leader)


def pareto_front(x: np.ndarray, y: np.ndarray, lower_x_better: bool) -> np.ndarray:
    """Whether each point is on the Pareto front: no other point is at least as good on both
    axes and better on one (higher y; lower or higher x as said)."""
    gx = -x if lower_x_better else x
    return np.array([not np.any((gx >= gx[i]) & (y >= y[i]) & ((gx > gx[i]) | (y > y[i]))) for i in range(len(x))])


def pareto(board: Board) -> str | None:
    """Overall score against cost, one panel per cost (parameters; multiply-adds per second where
    the cost analysis measured them; embedding throughput), the
    Pareto front drawn and its points in colour, each point with its 95% interval and label."""
    overall, lo, hi = column(board, "overall"), column(board, "overall_lo"), column(board, "overall_hi")
    params, speed, macs = column(board, "params"), column(board, "clips_per_s"), column(board, "macs_per_s")
    panels = [("parameters (log scale; 0: a fixed front end)", params[(params >= 0) & overall.notna()], True),
              (f"multiply-adds per second of audio (log scale; {COST_SECONDS:g} s clip)",
               macs[(macs > 0) & overall.notna()], True),
              ("embedding throughput (clips/s, device as recorded)", speed[(speed > 0) & overall.notna()], False)]
    panels = [p for p in panels if len(p[1])]
    if not panels:
        return None
    fig = Figure(figsize=(6.4 * len(panels), 4.8))
    labels = []
    for k, (label, cost, lower_better) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        names = list(cost.index)
        x, y = cost.to_numpy(float), overall[names].to_numpy(float)
        front = pareto_front(x, y, lower_better)
        zero = 10.0 ** (math.floor(math.log10(np.min(x[x > 0], initial=1e4))) - 1)  # where 0 parameters sit
        x = np.where(x > 0, x, zero)
        ax.errorbar(x, y, yerr=errors(y, lo[names].to_numpy(float), hi[names].to_numpy(float)), fmt="none",
                    ecolor="#bbbbbb", elinewidth=0.8, zorder=1)
        ax.scatter(x[~front], y[~front], s=22, color="white", edgecolors=OTHER, zorder=2, label="dominated")
        ax.scatter(x[front], y[front], s=30, color=FRONT, zorder=3, label="Pareto front")
        order = np.argsort(x[front], kind="stable")
        ax.step(x[front][order], y[front][order], where="post" if lower_better else "pre", color=FRONT,
                linewidth=1, alpha=0.6, zorder=2)
        ax.set_xscale("log")
        if lower_better:
            ax.xaxis.set_major_formatter(FuncFormatter(
                lambda v, _pos, zero=zero: "0" if math.isclose(v, zero) else params_label(v)))
        ax.margins(x=0.15, y=0.15)
        ax.set_xlabel(label, fontsize=FONT)
        ax.set_ylabel(f"overall normalised score (0 = {board.floor_model})", fontsize=FONT)
        ax.tick_params(labelsize=FONT)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=FONT - 1, loc="lower right" if lower_better else "lower left", frameon=False)
        best_first = np.argsort(-y, kind="stable")
        labels.append((ax, x, y, names, [i for i in best_first if front[i]] + [i for i in best_first if not front[i]]))
    fig.tight_layout()
    for ax, x, y, names, order in labels:  # once the axes have their final size and limits
        ax.set_xlim(ax.get_xlim())
        ax.set_ylim(ax.get_ylim())
        place_labels(ax, x[order], y[order], [names[i] for i in order])
    return svg(fig)


def domain_bars(board: Board) -> str | None:
    """Per domain, a horizontal bar per entry, best on top, with its 95% interval; a diamond at
    each score and its value, so that a score of exactly 0 (the floor model) still shows."""
    panels = [d for d in DOMAINS if column(board, d).notna().any()]
    if not panels:
        return None
    n = max(int(column(board, d).notna().sum()) for d in panels)
    fig = Figure(figsize=(4.4 * len(panels), 0.26 * n + 1.1))
    for k, domain in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        scores = column(board, domain).dropna().sort_values(kind="stable")  # ascending: barh draws bottom-up
        names = list(scores.index)
        values = scores.to_numpy(float)
        lo, hi = column(board, f"{domain}_lo")[names].to_numpy(float), column(board, f"{domain}_hi")[names].to_numpy(
            float)
        rows = np.arange(len(names))
        ax.barh(rows, values, height=0.65, color=COLORS[domain], alpha=0.75)
        ax.errorbar(values, rows, xerr=errors(values, lo, hi), fmt="none", ecolor="#333333", elinewidth=0.9,
                    capsize=2)
        ax.plot(values, rows, "D", color="black", markersize=3.5, zorder=3)
        ax.axvline(0, color="black", linewidth=0.8)
        ax.set_yticks(rows, names, fontsize=FONT)
        ax.set_ylim(-0.6, n - 0.4)
        ax.tick_params(axis="x", labelsize=FONT)
        ax.set_title(domain, fontsize=FONT + 1)
        ax.set_xlabel(f"normalised score (0 = {board.floor_model})", fontsize=FONT)
        ax.grid(axis="x", alpha=0.25)
        right = np.where(np.isfinite(hi), np.maximum(hi, values), values)
        span = max(float(np.max(right, initial=0)) - float(min(np.min(np.where(np.isfinite(lo), lo, values)), 0)), 1)
        for row, value, end in zip(rows, values, right):
            ax.text(max(end, 0) + 0.02 * span, row, f"{value + 0.0:.1f}", va="center", fontsize=FONT - 1)
        ax.margins(x=0.15)
    fig.tight_layout()
    return svg(fig)


def layer_weights(board: Board) -> str | None:
    """Per entry (a small panel each, three to a row), the learned weight of each layer
    (weighted-sum runs), a line per task in the same colour in every panel, one legend."""
    entries = sorted({e for e, _ in board.layer_weights})
    if not entries:
        return None
    tasks = sorted({t for _, t in board.layer_weights})
    colors = {t: f"C{k % 10}" for k, t in enumerate(tasks)}
    styles = {t: "-" if k < 10 else "--" for k, t in enumerate(tasks)}
    ncols = min(3, len(entries))
    nrows = math.ceil(len(entries) / ncols)
    fig = Figure(figsize=(4.0 * ncols + 1.8, 2.8 * nrows))
    for k, entry in enumerate(entries):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        for (e, task), weights in sorted(board.layer_weights.items()):
            if e == entry:
                ax.plot(range(len(weights)), weights, styles[task], marker="o", markersize=3, color=colors[task],
                        label=task)
        ax.set_title(entry, fontsize=FONT)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("layer", fontsize=FONT)
        ax.set_ylabel("weight", fontsize=FONT)
        ax.tick_params(labelsize=FONT - 1)
        ax.grid(alpha=0.25)
    fig.tight_layout(rect=(0, 0, 1 - 1.8 / (4.0 * ncols + 1.8), 1))
    handles = [Line2D([], [], color=colors[t], linestyle=styles[t], marker="o", markersize=3) for t in tasks]
    fig.legend(handles, tasks, loc="upper right", fontsize=FONT - 1, frameon=False)
    return svg(fig)
