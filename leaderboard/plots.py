"""The page's figures as inline SVG text (matplotlib, no pyplot state, no network).

Each function returns the SVG, or None when the board has nothing to draw, so the page
can say why a figure is absent. The SVG is deterministic (fixed id salt, no date).
"""
from __future__ import annotations

import io
import math

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from leaderboard.board import Board
from leaderboard.domains import DOMAINS

COLORS = {"overall": "#444444", "speech": "#1f77b4", "environment": "#2ca02c", "music": "#d62728"}


def svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "earbench", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def finite(x: object) -> bool:
    return x is not None and isinstance(x, (int, float)) and math.isfinite(x)


def domain_bars(board: Board) -> str | None:
    """Grouped bars: per entry, the overall and per-domain normalised scores."""
    cols = ["overall", *DOMAINS]
    rows = board.entries[cols].astype(float)
    rows = rows[rows.notna().any(axis=1)]
    if rows.empty:
        return None
    fig = Figure(figsize=(max(5.0, 1.1 * len(rows) + 2), 3.4))
    ax = fig.add_subplot()
    width = 0.8 / len(cols)
    x = np.arange(len(rows))
    for k, col in enumerate(cols):
        ax.bar(x + (k - (len(cols) - 1) / 2) * width, rows[col].to_numpy(), width,
               label=col, color=COLORS[col])
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticks(x, list(rows.index), rotation=20, ha="right", fontsize=8)
    ax.set_ylabel(f"normalised score (0 = {board.floor_model})")
    ax.legend(fontsize=8, ncols=len(cols), loc="upper center", bbox_to_anchor=(0.5, 1.15), frameon=False)
    return svg(fig)


def throughput_scatter(board: Board) -> str | None:
    """Overall score against embedding throughput (clips/s, log scale), one point per ranked entry."""
    points = board.entries[[finite(o) and finite(c) and c > 0
                            for o, c in zip(board.entries["overall"], board.entries["clips_per_s"])]]
    if points.empty:
        return None
    fig = Figure(figsize=(5.5, 3.6))
    ax = fig.add_subplot()
    ax.scatter(points["clips_per_s"].astype(float), points["overall"].astype(float), color=COLORS["speech"])
    for name, r in points.iterrows():
        ax.annotate(name, (r["clips_per_s"], r["overall"]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    ax.set_xscale("log")
    ax.margins(0.2)
    ax.set_xlabel("embedding throughput (clips/s, device as recorded)")
    ax.set_ylabel("overall normalised score")
    return svg(fig)


def layer_weights(board: Board) -> str | None:
    """Per entry, the learned weight of each layer (weighted-sum runs), one line per task."""
    entries = sorted({e for e, _ in board.layer_weights})
    if not entries:
        return None
    fig = Figure(figsize=(5.0, 2.6 * len(entries)))
    for k, entry in enumerate(entries):
        ax = fig.add_subplot(len(entries), 1, k + 1)
        for (e, task), weights in sorted(board.layer_weights.items()):
            if e == entry:
                ax.plot(range(len(weights)), weights, marker="o", label=task)
        ax.set_title(entry, fontsize=9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("layer")
        ax.set_ylabel("weight")
        ax.legend(fontsize=7)
    fig.tight_layout()
    return svg(fig)
