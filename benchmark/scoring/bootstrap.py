"""Uncertainty from test items: a bootstrap over the items of the test set, clustered where
items are not independent, combined with the seeds and folds of a result.

What one replicate does, for a result made of runs (seeds x folds) of one task:

1. items: in each fold's test set the clusters (a clip; a retrieval query's clip; a trial's
   enrolment speaker; an SED file: `ItemOutputs.clusters`) are drawn with replacement, as
   many as there are; each item weighs as often as its cluster was drawn. The same draw
   serves every seed of that fold (they predicted the same items), and, when two results
   are compared or ranked, every result on that test set (paired);
2. seeds: when there are two or more, they are drawn with replacement too (training
   randomness: initialisation, minibatch order, train subsample);
3. the metric is recomputed per drawn run under the item weights (`resampled.weighted`),
   averaged over the drawn seeds, then over the folds (fixed strata: each item is tested in
   exactly one fold).

A result's 95% interval is the BCa interval of the replicates (bias-corrected and
accelerated; Efron & Tibshirani 14.3, as scipy.stats.bootstrap's `method="BCa"`: with one
run and iid items it draws the very same resamples and computes the very same interval).
The percentile interval is not enough: a resample repeats items, and repeated items tie in a
ranking, which raises average precision on average, so the replicates of mAP sit above the
score they resample and the percentile interval with them. BCa moves the percentiles by the
replicates' median bias (z0) and by their skew, from a jackknife over the clusters of each
fold (`result_jackknife`; several folds as strata, Efron & Tibshirani's eq. 15.36; above
JACKKNIFE_GROUPS clusters, clusters are deleted in that many seeded groups). Sums of
replicates over tasks (overall scores, ranks, curve areas) keep the percentile interval.
It covers test-set sampling and, with several seeds, training randomness; not the choice of
task or of hyper-parameter grid.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

import numpy as np
from scipy.special import ndtr, ndtri

from benchmark.scoring import resampled
from benchmark.scoring.items import ItemOutputs

N_BOOT = 2000
LEVEL = 0.95
#: resamples evaluated at once (bounds the [chunk, items] weight matrices)
CHUNK = 250
#: most jackknife deletions per fold: a larger test set deletes its clusters in this many groups
JACKKNIFE_GROUPS = 1000


@dataclass(frozen=True)
class Run:
    """One run of a result: its seed, fold and per-item outputs."""

    seed: int | None
    fold: str | None
    items: ItemOutputs


def by_fold(runs: Sequence[Run]) -> dict[str | None, list[Run]]:
    """The runs of each fold (folds in a fixed order; seeds in order)."""
    folds = sorted({run.fold for run in runs}, key=lambda f: (f is not None, str(f)))
    return {fold: sorted((r for r in runs if r.fold == fold), key=lambda r: (r.seed is None, r.seed or 0))
            for fold in folds}


def rng_for(seed: int, *keys: Hashable) -> np.random.Generator:
    """A generator determined by `seed` and `keys` alone (not by call order), so that one
    test set gets the same draw wherever it is resampled."""
    digest = hashlib.sha256(repr(keys).encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def cluster_counts(n_clusters: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[n_boot, G] how often each of G clusters is drawn when G are drawn with replacement
    (`rng.integers(0, G, (n_boot, G))`, scipy's draw, taken CHUNK rows at a time), as small
    integers: the counts of a large test set stay compact."""
    g = int(n_clusters)
    counts = np.zeros((n_boot, g), dtype=np.uint16 if g < 2 ** 16 else np.int32)
    for start in range(0, n_boot, CHUNK):
        rows = min(CHUNK, n_boot - start)
        picks = rng.integers(0, g, size=(rows, g))
        counts[start: start + rows] = np.bincount((picks + g * np.arange(rows)[:, None]).ravel(),
                                                  minlength=rows * g).reshape(rows, g)
    return counts


def cluster_draws(clusters: np.ndarray, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """[n_boot, n] item weights: each item weighs as often as its cluster was drawn (`cluster_counts`)."""
    clusters = np.asarray(clusters, dtype=np.int64)
    g = int(clusters.max()) + 1 if len(clusters) else 0
    return cluster_counts(g, n_boot, rng)[:, clusters].astype(np.float64)


def defined(replicates: np.ndarray) -> np.ndarray:
    """The replicates where the metric is defined (float64)."""
    values = np.asarray(replicates, dtype=np.float64)
    return values[~np.isnan(values)]


def share_below(values: np.ndarray, x: float) -> float:
    """The share of `values` below `x`, ties counting half (scipy's percentile of score)."""
    return (np.count_nonzero(values < x) + np.count_nonzero(values <= x)) / (2 * len(values))


def percentile_interval(replicates: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central `level` percentile interval (linear interpolation), over defined replicates."""
    values = defined(replicates)
    if not len(values):
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


def acceleration(jackknife: Sequence[np.ndarray]) -> float:
    """BCa's acceleration from the jackknife values of each stratum (Efron & Tibshirani eq.
    15.36, as scipy's): a = sum_h sum_i U_hi^3 / n_h^3 / (6 (sum_h sum_i U_hi^2 / n_h^2)^1.5),
    U_hi = (n_h - 1)(mean_h - value_hi); undefined values are left out; 0 without spread."""
    num = den = 0.0
    for values in jackknife:
        values = np.asarray(values, dtype=np.float64)
        values = values[np.isfinite(values)]
        n = len(values)
        if n < 2:
            continue
        u = (n - 1) * (values.mean() - values)
        num += float(np.sum(u ** 3)) / n ** 3
        den += float(np.sum(u ** 2)) / n ** 2
    return num / (6 * den ** 1.5) if den > 0 else 0.0


def bias_correction(replicates: np.ndarray, observed: float) -> float:
    """BCa's z0: the normal quantile of the share of replicates below the observed score (ties
    count half, as scipy's), kept inside (0, 1) by half a replicate."""
    b = len(replicates)
    return float(ndtri(np.clip(share_below(replicates, observed), 0.5 / b, 1 - 0.5 / b)))


def bca_interval(replicates: np.ndarray, observed: float, jackknife: Sequence[np.ndarray],
                 level: float = LEVEL) -> tuple[float, float]:
    """The central `level` BCa interval of `replicates` (defined ones) around the `observed`
    score, with the `jackknife` values of each stratum; the percentile interval where the
    observed score is undefined, the replicates' range where they do not vary."""
    values = defined(replicates)
    if not len(values):
        return float("nan"), float("nan")
    if not np.isfinite(observed):
        return percentile_interval(values, level)
    if values.min() == values.max():
        return float(values.min()), float(values.max())
    z0, a = bias_correction(values, observed), acceleration(jackknife)
    ends = []
    for z in (ndtri((1 - level) / 2), ndtri((1 + level) / 2)):
        with np.errstate(divide="ignore", invalid="ignore"):
            shifted = z0 + (z0 + z) / (1 - a * (z0 + z))
        ends.append(float(ndtr(shifted)) if np.isfinite(shifted) else (0.0 if z < 0 else 1.0))
    return float(np.quantile(values, ends[0])), float(np.quantile(values, ends[1]))


def bca_p_value(replicates: np.ndarray, observed: float, jackknife: Sequence[np.ndarray], null: float = 0.0) -> float:
    """Two-sided p of `null` (e.g. no difference): twice the smaller tail level at which
    `null` is a BCa interval end (Efron & Tibshirani 15.4's achieved significance level)."""
    values = defined(replicates)
    if not len(values):
        return 1.0
    share = share_below(values, null)
    if share in (0.0, 1.0) or not np.isfinite(observed) or values.min() == values.max():
        tail = share
    else:
        z0, a = bias_correction(values, observed), acceleration(jackknife)
        q = float(ndtri(share)) - z0
        tail = float(ndtr(q / (1 + a * q) - z0)) if 1 + a * q > 0 else (0.0 if q < 0 else 1.0)
    return float(min(1.0, 2 * min(tail, 1 - tail)))


def jackknife_counts(n_clusters: int, rng: np.random.Generator) -> np.ndarray:
    """[K, G] cluster counts of the jackknife: row k leaves out cluster k (K = G), or, above
    JACKKNIFE_GROUPS clusters, the k-th of that many groups drawn from `rng` (delete-a-group)."""
    g = int(n_clusters)
    if g <= JACKKNIFE_GROUPS:
        return 1 - np.eye(g, dtype=np.uint8)
    groups = rng.permutation(g) % JACKKNIFE_GROUPS
    return (groups[None, :] != np.arange(JACKKNIFE_GROUPS)[:, None]).astype(np.uint8)


def metric_replicates(items: ItemOutputs, metric: str, counts: np.ndarray) -> np.ndarray:
    """The metric under each row of cluster `counts` [B, G] (`cluster_counts`; with one item
    per cluster these are the item weights), evaluated CHUNK rows at a time."""
    clusters = items.clusters
    return np.concatenate([resampled.weighted(items, metric, counts[i: i + CHUNK][:, clusters].astype(np.float64))
                           for i in range(0, len(counts), CHUNK)]) if len(counts) else np.zeros(0)


def items_digest(items: ItemOutputs) -> str:
    """A digest of the items' ids: equal for runs that predicted the same test set."""
    return hashlib.sha256("\0".join(map(str, items.ids)).encode()).hexdigest()


def fold_draws(runs: Sequence[Run], n_boot: int, seed: int, key: Hashable) -> dict[str | None, np.ndarray]:
    """The cluster counts of each fold's test set, drawn from `rng_for(seed, key, fold, test set)`:
    the same draw wherever the same test set of the same task is resampled (paired)."""
    first = {}
    for run in runs:
        first.setdefault(run.fold, run.items)
    return {fold: cluster_counts(int(items.clusters.max(initial=-1)) + 1, n_boot,
                                 rng_for(seed, key, fold, items_digest(items)))
            for fold, items in first.items()}


def replicates(runs: Sequence[Run], metric: str, draws: dict[str | None, np.ndarray],
               rng: np.random.Generator) -> np.ndarray:
    """[B] replicates of a result's score (mean over folds of the mean over seeds), items
    weighted by the cluster counts `draws` (per fold) and seeds drawn with replacement from `rng`."""
    folds = by_fold(runs)
    total = None
    for fold, mine in folds.items():
        values = np.stack([metric_replicates(r.items, metric, draws[fold]) for r in mine])  # [S, B]
        if len(mine) > 1:
            picks = rng.integers(0, len(mine), size=(values.shape[1], len(mine)))
            fold_value = np.take_along_axis(values.T, picks, axis=1).mean(1)
        else:
            fold_value = values[0]
        total = fold_value if total is None else total + fold_value
    return total / len(folds)


def result_replicates(runs: Sequence[Run], metric: str, task: str, entry: str, n_boot: int = N_BOOT,
                      seed: int = 0) -> np.ndarray:
    """[n_boot] replicates of one result (an entry's runs on a task): the task's shared item
    draws (paired with every other entry on the same test set), the entry's own seed draws."""
    return replicates(runs, metric, fold_draws(runs, n_boot, seed, task), rng_for(seed, "seeds", entry, task))


def fold_scores(runs: Sequence[Run], metric: str) -> dict[str | None, float]:
    """Per fold, the mean over its seeds of each run's metric on its whole test set."""
    return {fold: float(np.mean([resampled.value(r.items, metric) for r in mine]))
            for fold, mine in by_fold(runs).items()}


def result_observed(runs: Sequence[Run], metric: str) -> float:
    """The result's score as its replicates resample it: the mean over folds of `fold_scores`."""
    return float(np.mean(list(fold_scores(runs, metric).values())))


def result_jackknife(runs: Sequence[Run], metric: str, task: str, seed: int = 0) -> list[np.ndarray]:
    """Per fold, the result's score with each of that fold's clusters (or groups of them,
    `jackknife_counts`, drawn per test set: paired like the bootstrap) left out, its seeds
    averaged and the other folds at their whole-test-set scores: BCa's strata."""
    folds = by_fold(runs)
    whole = fold_scores(runs, metric) if len(folds) > 1 else {}
    out = []
    for fold, mine in folds.items():
        items = mine[0].items
        counts = jackknife_counts(int(items.clusters.max(initial=-1)) + 1,
                                  rng_for(seed, "jackknife", task, fold, items_digest(items)))
        values = np.stack([metric_replicates(r.items, metric, counts) for r in mine]).mean(0)
        others = sum(v for f, v in whole.items() if f != fold)
        out.append((values + others) / len(folds))
    return out


def result_interval(runs: Sequence[Run], metric: str, task: str, entry: str, n_boot: int = N_BOOT, seed: int = 0,
                    replicates: np.ndarray | None = None, level: float = LEVEL) -> tuple[float, float]:
    """The BCa interval of one result (`result_replicates`, or the `replicates` already drawn)."""
    reps = result_replicates(runs, metric, task, entry, n_boot, seed) if replicates is None else replicates
    return bca_interval(reps, result_observed(runs, metric), result_jackknife(runs, metric, task, seed), level)


def item_runs(results: Iterable[tuple[int | None, str | None, str, ItemOutputs | None]]) -> list[Run] | None:
    """The runs of one result, from (seed, fold, metric, outputs) each, or None unless every
    one has outputs that recompute its metric and the runs of a fold predicted the same items
    (then the result can be resampled over items; otherwise only over its seeds)."""
    runs = []
    for seed, fold, metric, items in results:
        if items is None or not resampled.supports(items, metric):
            return None
        runs.append(Run(seed, fold, items))
    fold_ids: dict = {}
    for run in runs:
        if not np.array_equal(fold_ids.setdefault(run.fold, run.items.ids), run.items.ids):
            return None
    return runs
