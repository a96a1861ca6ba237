"""Two entries, task by task, over the runs they share (same seed and fold).

Per task the differences A - B of matched runs give the mean difference, a paired
bootstrap 95% CI of it, and two p-values against "no difference":

- the paired t-test (n - 1 dof), which decides the verdict: it is the Student-t
  reasoning the per-cell CIs use, and it can detect a clear difference from the 3-5
  seeds papers run, assuming roughly normal seed-to-seed differences;
- the exact sign-flip (randomisation) test, free of that assumption, shown beside it:
  with n matched runs it cannot go below 2 / 2**n (0.25 for 3 seeds), so a verdict
  the sign-flip test does not back says so.

A bootstrap p-value is not used: with a handful of runs it is far too small. p-values
are per task, not corrected for the number of tasks.
"""
from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from benchmark.errors import EarbenchError
from leaderboard.aggregate import entry_labels
from leaderboard.direction import direction

ALPHA = 0.05
EXACT_UP_TO = 16  # matched runs; beyond, the sign-flip test is Monte Carlo


@dataclass(frozen=True)
class TaskComparison:
    task: str
    metric: str | None
    n: int                       # matched runs
    mean_a: float | None = None  # over the matched runs
    mean_b: float | None = None
    diff: float | None = None    # A - B, in metric units
    ci: tuple[float, float] | None = None
    p: float | None = None       # paired t
    p_flip: float | None = None  # exact sign-flip
    winner: str | None = None    # "A", "B" or None (no significant difference / not compared)
    verdict: str = ""


def bootstrap_ci(diffs: np.ndarray, n_boot: int, rng: np.random.Generator, level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of `diffs` resampled with replacement."""
    means = diffs[rng.integers(0, len(diffs), size=(n_boot, len(diffs)))].mean(axis=1)
    tail = 100 * (1 - level) / 2
    return float(np.percentile(means, tail)), float(np.percentile(means, 100 - tail))


def sign_flip_p(diffs: np.ndarray, rng: np.random.Generator, n_mc: int = 20000) -> float:
    """Two-sided p of |mean| over all 2**n sign patterns (random ones beyond EXACT_UP_TO)."""
    n = len(diffs)
    if n <= EXACT_UP_TO:
        signs = np.array(list(itertools.product((1.0, -1.0), repeat=n)))
    else:
        signs = np.vstack([np.ones(n), rng.choice((1.0, -1.0), size=(n_mc - 1, n))])
    observed = abs(diffs.mean())
    flipped = np.abs((signs * diffs).mean(axis=1))
    return float(np.mean(flipped >= observed - 1e-12 * max(1.0, observed)))


def paired_t_p(diffs: np.ndarray) -> float | None:
    """Two-sided paired t-test p (None with one run; 0 or 1 when all differences are equal)."""
    if len(diffs) < 2:
        return None
    if np.ptp(diffs) == 0:
        return 1.0 if diffs[0] == 0 else 0.0
    return float(stats.ttest_1samp(diffs, 0.0).pvalue)


def resolve(labels: pd.Series, frame: pd.DataFrame, name: str) -> str:
    """An entry label, or a model name with a single entry."""
    if name in set(labels):
        return name
    mine = sorted(set(labels[frame["model"] == name]))
    if len(mine) == 1:
        return mine[0]
    if mine:
        raise EarbenchError(f"{name!r} has several entries; name one of: {'; '.join(mine)}")
    close = difflib.get_close_matches(name, sorted(set(labels) | set(frame["model"])), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    raise EarbenchError(f"no records for {name!r}{hint}")


def compare(frame: pd.DataFrame, a: str, b: str, tasks: list[str] | None = None, *, alpha: float = ALPHA,
            n_boot: int = 10000, seed: int = 0) -> list[TaskComparison]:
    """One TaskComparison per task (the given ones, or every task either entry has)."""
    frame = frame.assign(entry=entry_labels(frame))
    a, b = resolve(frame["entry"], frame, a), resolve(frame["entry"], frame, b)
    if a == b:
        raise EarbenchError(f"compare needs two different entries, got {a!r} twice")
    rows = frame[frame["entry"].isin([a, b])]
    tasks = tasks if tasks is not None else sorted(rows["task"].unique())
    rng = np.random.default_rng(seed)
    return [compare_task(rows[rows["task"] == t], t, a, b, alpha, n_boot, rng) for t in tasks]


def runs_text(keys: list[tuple]) -> str:
    return ", ".join(f"seed {s}" + (f"/fold {f}" if f is not None else "") for s, f in keys) or "none"


def compare_task(rows: pd.DataFrame, task: str, a: str, b: str, alpha: float, n_boot: int,
                 rng: np.random.Generator) -> TaskComparison:
    ra, rb = rows[rows["entry"] == a], rows[rows["entry"] == b]
    if ra.empty or rb.empty:
        which = "neither has" if ra.empty and rb.empty else f"only {a if rb.empty else b} has"
        return TaskComparison(task, None, 0, verdict=f"not compared: {which} records")
    metric_a, metric_b = ra["metric"].iloc[0], rb["metric"].iloc[0]
    if metric_a != metric_b:
        return TaskComparison(task, None, 0, verdict=f"not compared: {a} reports {metric_a}, {b} {metric_b}")

    def by_run(r: pd.DataFrame) -> dict:
        return {(None if pd.isna(s) else int(s), f): v for s, f, v in zip(r["seed"], r["fold"], r["score"])}
    sa, sb = by_run(ra), by_run(rb)
    keys = sorted(set(sa) & set(sb), key=str)
    if not keys:
        return TaskComparison(task, metric_a, 0, verdict=f"not compared: no matched seeds/folds ({a}: "
                              f"{runs_text(sorted(sa, key=str))}; {b}: {runs_text(sorted(sb, key=str))})")
    x, y = np.array([sa[k] for k in keys]), np.array([sb[k] for k in keys])
    d = x - y
    lo, hi = bootstrap_ci(d, n_boot, rng)
    p, p_flip = paired_t_p(d), sign_flip_p(d, rng)
    higher = direction(metric_a).higher_is_better
    winner = None
    if p is not None and p < alpha and d.mean() != 0:
        winner = "A" if (d.mean() > 0) == higher else "B"
    p_text = "p n/a (one run)" if p is None else f"p = {p:.2g}"
    stats_text = (f"{metric_a} {x.mean():.4f} vs {y.mean():.4f}, diff {d.mean():+.4f} "
                  f"[95% CI {lo:+.4f}, {hi:+.4f}], {p_text} (paired t; sign-flip {p_flip:.2g}), "
                  f"{len(keys)} matched run(s)")
    if winner:
        verdict = f"{a if winner == 'A' else b} better ({stats_text})"
        if p_flip >= alpha:
            verdict += f"; the distribution-free sign-flip test cannot confirm it with {len(keys)} runs"
    else:
        verdict = f"no significant difference ({stats_text})"
        if p is None:
            verdict += "; run more seeds"
    return TaskComparison(task, metric_a, len(keys), float(x.mean()), float(y.mean()), float(d.mean()), (lo, hi), p,
                          p_flip, winner, verdict)
