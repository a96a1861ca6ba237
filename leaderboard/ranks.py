"""Rank intervals: the overall score of each entry recomputed on every bootstrap replicate.

A cell with per-item outputs contributes its item bootstrap (`leaderboard.intervals`:
test items resampled, clustered where they are not independent, with the same draws for
every entry on that test set, and seeds resampled); its replicates are normalised and
averaged over the scaled tasks like the point scores, so ranks and cells share one
bootstrap. A cell without them (records written before the sidecars) falls back to
resampling its runs: the seeds when there are at least two (a seed's score being its mean
over folds), otherwise the folds; that part covers training randomness only, and a cell
with a single such run adds no spread. Floors and ceilings stay fixed at their point values.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import rankdata

from leaderboard.normalise import Scale


def resampling_units(frame: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """(entry, task) -> the scores of its resampling units (seeds, else folds)."""
    units = {}
    for (entry, task), group in frame.groupby(["entry", "task"], sort=True):
        if group["seed"].nunique() >= 2:
            units[entry, task] = group.groupby("seed", dropna=False)["score"].mean().to_numpy(float)
        else:
            units[entry, task] = group["score"].to_numpy(float)
    return units


def bootstrap_overall(units: dict[tuple[str, str], np.ndarray], entries: list[str], scales: dict[str, Scale],
                      n_boot: int, rng: np.random.Generator,
                      items: dict[tuple[str, str], np.ndarray] | None = None) -> np.ndarray:
    """[n_boot, len(entries)] overall scores: per replicate, each cell's item replicate
    (`items`, n_boot of them) or else its units resampled with replacement, normalised and
    averaged over the scaled tasks."""
    items = items or {}
    out = np.zeros((n_boot, len(entries)))
    for j, entry in enumerate(entries):
        for task, scale in scales.items():
            if (entry, task) in items:
                out[:, j] += scale(items[entry, task])
                continue
            values = units[entry, task]
            picks = rng.integers(0, len(values), size=(n_boot, len(values)))
            out[:, j] += scale(values[picks].mean(axis=1))
    return out / max(len(scales), 1)


def percentiles(boot: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Per column of `boot` ([n_boot, entries]), the central `level` percentile interval (lo, hi)."""
    tail = 100 * (1 - level) / 2
    return np.percentile(boot, tail, axis=0), np.percentile(boot, 100 - tail, axis=0)


def rank_intervals(point: np.ndarray, boot: np.ndarray, level: float = 0.95) -> pd.DataFrame:
    """Rank of each point score (1 = best, ties share the better rank) and the central
    `level` interval of its bootstrap ranks."""
    ranks = rankdata(-boot, method="min", axis=1)
    tail = 100 * (1 - level) / 2
    return pd.DataFrame({"rank": rankdata(-point, method="min").astype(int),
                         "rank_lo": np.percentile(ranks, tail, axis=0, method="lower").astype(int),
                         "rank_hi": np.percentile(ranks, 100 - tail, axis=0, method="higher").astype(int)})


def not_separable(intervals: pd.DataFrame, names: list[str]) -> list[list[str]]:
    """For each entry, the others whose rank intervals overlap its own."""
    lo, hi = intervals["rank_lo"].to_numpy(), intervals["rank_hi"].to_numpy()
    return [[names[k] for k in range(len(names)) if k != i and lo[i] <= hi[k] and lo[k] <= hi[i]]
            for i in range(len(names))]
