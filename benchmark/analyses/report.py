"""What every analysis shares: a score with its item-level interval from a result's records,
the area under a curve, and the analysis' Markdown table and plot (SVG, matplotlib without
pyplot state, deterministic like the leaderboard's figures)."""
from __future__ import annotations

import io
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

from benchmark.record import Record
from benchmark.scoring.bootstrap import item_runs, percentile_interval, result_interval, result_replicates
from benchmark.scoring.stats import summarise
from benchmark.storage import write_bytes

FONT = 9  # points: every label and tick


@dataclass(frozen=True)
class Point:
    """One point of a curve: a result (the runs of one setting, seeds combined) as its mean
    score and 95% interval; `over` says what the interval covers (`items`, `items+seeds`:
    the bootstrap over test items; `seeds (t)`: Student t over seeds; `none`); `replicates`
    are the bootstrap's, where there is one (paired across the points of one task)."""

    series: str  # a line of the plot: the model
    panel: str  # a panel of the plot: the task
    x: float
    score: float
    lo: float
    hi: float
    over: str
    runs: int
    replicates: np.ndarray | None = None


@dataclass(frozen=True)
class Analysis:
    """What an analysis hands back: its points, its one number per series and panel
    (`summary`: (series, panel) -> (value, lo, hi): an area under the curve, the best layer,
    ...), and the Markdown report it wrote."""

    kind: str
    points: list[Point]
    summary: dict[tuple[str, str], tuple[float, float, float]]
    report: Path


def point(records: Sequence[Record], results: Path, *, series: str, panel: str, x: float,
          key: str | None = None) -> Point:
    """The point of the `records` of one result (as `earbench run`'s summary computes its
    interval: the item bootstrap where every record holds per-item outputs, else t over seeds).
    The item draws are keyed on `key` (default the task's name): points with the same key and
    test items are paired; the seed draws on the records' protocol label, as the summary's."""
    first = records[0]
    metric = first.main_metric
    mean = float(np.mean([r.metrics[metric] for r in records]))
    runs = item_runs((r.seed, r.fold, metric, r.outputs(r.path(results))) for r in records)
    if runs is not None:
        reps = result_replicates(runs, metric, key or first.task_name, first.label)
        lo, hi = result_interval(runs, metric, key or first.task_name, first.label, replicates=reps)
        return Point(series, panel, x, mean, lo, hi, "items+seeds" if len(records) > 1 else "items", len(records), reps)
    summary = summarise([r.metrics[metric] for r in records])
    if summary.n < 2:
        return Point(series, panel, x, mean, math.nan, math.nan, "none", len(records))
    return Point(series, panel, x, mean, mean - summary.ci95, mean + summary.ci95, "seeds (t)", len(records))


def area(xs: Sequence[float], ys: Sequence[float] | np.ndarray) -> float | np.ndarray:
    """The area under y(x) by the trapezoid rule over x scaled to [0, 1] (its first to its last
    value): the mean height of the curve; one point's area is its height. `ys` may be [n, B]
    (replicates per point) -> [B]."""
    x = np.asarray(xs, dtype=np.float64)
    y = np.asarray(ys, dtype=np.float64)
    if len(x) == 1:
        return y[0]
    t = (x - x[0]) / (x[-1] - x[0])
    widths = np.diff(t).reshape((-1,) + (1,) * (y.ndim - 1))
    return np.sum(widths * (y[1:] + y[:-1]) / 2, axis=0)


def curve_area(points: Sequence[Point], xs: Sequence[float] | None = None) -> tuple[float, float, float]:
    """(area, lo, hi) of one series' points (sorted by x; `xs` replaces their x for the area,
    e.g. log fractions): the interval from the points' paired replicates when all have them."""
    pts = sorted(points, key=lambda p: p.x)
    x = [p.x for p in pts] if xs is None else sorted(xs)
    value = float(area(x, [p.score for p in pts]))
    if all(p.replicates is not None for p in pts):
        lo, hi = percentile_interval(np.asarray(area(x, np.stack([p.replicates for p in pts]))))
        return value, lo, hi
    return value, math.nan, math.nan


def interval_text(lo: float, hi: float) -> str:
    return f"[{lo:.4f}, {hi:.4f}]" if math.isfinite(lo) and math.isfinite(hi) else ""


def markdown(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; numbers to 4 decimals."""
    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:.4g}" if value and (abs(value) >= 1e5 or abs(value) < 1e-3) else f"{value:.4f}"
        return str(value).replace("|", "\\|")
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(map(cell, row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def svg(fig: Figure) -> bytes:
    buffer = io.StringIO()
    with rc_context({"svg.hashsalt": "earbench", "svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg"):].encode()


def curves(points: Sequence[Point], *, xlabel: str, ylabel: str, log_x: bool = False, log_y: bool = False) -> Figure:
    """One panel per `panel` (three to a row), a line per `series` with its 95% interval as a band;
    `log_y` on the panels whose values are all positive."""
    panels = list(dict.fromkeys(p.panel for p in points))
    series = list(dict.fromkeys(p.series for p in points))
    ncols = min(3, len(panels))
    nrows = math.ceil(len(panels) / ncols)
    fig = Figure(figsize=(4.2 * ncols, 3.2 * nrows))
    for k, panel in enumerate(panels):
        ax = fig.add_subplot(nrows, ncols, k + 1)
        for j, name in enumerate(series):
            pts = sorted((p for p in points if p.panel == panel and p.series == name), key=lambda p: p.x)
            if not pts:
                continue
            x = np.array([p.x for p in pts])
            ax.plot(x, [p.score for p in pts], marker="o", markersize=3, color=f"C{j % 10}", label=name)
            lo, hi = np.array([p.lo for p in pts]), np.array([p.hi for p in pts])
            if np.isfinite(lo).any():
                ax.fill_between(x, lo, hi, color=f"C{j % 10}", alpha=0.2, linewidth=0)
        if log_x:
            ax.set_xscale("log")
        if log_y and all(p.score > 0 for p in points if p.panel == panel):
            ax.set_yscale("log")
        ax.set_title(panel, fontsize=FONT)
        ax.set_xlabel(xlabel, fontsize=FONT)
        ax.set_ylabel(ylabel, fontsize=FONT)
        ax.tick_params(labelsize=FONT - 1)
        ax.grid(alpha=0.25)
        ax.legend(fontsize=FONT - 1, frameon=False)
    fig.tight_layout()
    return fig


def write_report(out: Path, kind: str, title: str, table: str, figure: Figure, notes: Sequence[str] = ()) -> Path:
    """Write OUT/KIND.md (the title, the table, notes, a link to the plot) and OUT/KIND.svg -> the .md."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    write_bytes(out / f"{kind}.svg", svg(figure))
    text = f"# {title}\n\n{table}\n" + "".join(f"{note}\n\n" for note in notes) + f"![{kind}]({kind}.svg)\n"
    write_bytes(out / f"{kind}.md", text.encode())
    return out / f"{kind}.md"
