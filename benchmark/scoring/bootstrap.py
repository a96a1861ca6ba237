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

The 95% interval is the percentile interval of the replicates (as scipy.stats.bootstrap's
`method="percentile"`; with one run and iid items it draws the very same resamples from
the same generator). It covers test-set sampling and, with several seeds, training
randomness; not the choice of task or of hyper-parameter grid.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Hashable, Iterable, Sequence

import numpy as np

from benchmark.scoring import resampled
from benchmark.scoring.items import ItemOutputs

N_BOOT = 2000
LEVEL = 0.95
#: resamples evaluated at once (bounds the [chunk, items] weight matrices)
CHUNK = 250


@dataclass(frozen=True)
class Run:
    """One run of a result: its seed, fold and per-item outputs."""

    seed: int | None
    fold: str | None
    items: ItemOutputs


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


def percentile_interval(replicates: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central `level` percentile interval (linear interpolation), over defined replicates."""
    values = np.asarray(replicates, dtype=np.float64)
    values = values[~np.isnan(values)]
    if not len(values):
        return float("nan"), float("nan")
    tail = (1 - level) / 2
    return float(np.quantile(values, tail)), float(np.quantile(values, 1 - tail))


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
    folds = sorted({run.fold for run in runs}, key=lambda f: (f is not None, str(f)))
    total = None
    for fold in folds:
        mine = sorted((r for r in runs if r.fold == fold), key=lambda r: (r.seed is None, r.seed or 0))
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


def item_runs(results: Iterable[tuple[int | None, str | None, str, ItemOutputs | None]]) -> list[Run] | None:
    """The runs of one result, from (seed, fold, metric, outputs) each, or None unless every
    one has outputs that recompute its metric and the runs of a fold predicted the same items
    (then the result can be resampled over items; otherwise only over its seeds)."""
    runs = []
    for seed, fold, metric, items in results:
        if items is None or not resampled.supports(items, metric):
            return None
        runs.append(Run(seed, fold, items))
    by_fold: dict = {}
    for run in runs:
        if not np.array_equal(by_fold.setdefault(run.fold, run.items.ids), run.items.ids):
            return None
    return runs
