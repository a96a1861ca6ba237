"""Each cell's bootstrap over test items (`benchmark.scoring.bootstrap`), shared by the cells'
intervals, the rank intervals and `compare`.

A cell (entry, task) is resampled over items when every one of its runs has per-item
outputs that recompute its metric; its replicates then use the item draws of its test
set, which every other entry on the same test set shares (paired), and its own draws of
seeds. A cell with a run lacking them (records written before the sidecars) has no item
replicates and falls back to its seeds.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.scoring import bootstrap
from benchmark.scoring.bootstrap import N_BOOT, Run, result_interval, result_replicates

#: how a cell's interval was made: over test items (and seeds), over seeds only, or none (one run, no items)
ITEMS, SEEDS, NONE = "items", "seeds", "none"


def item_runs(group: pd.DataFrame) -> list[Run] | None:
    """The runs of one cell with their outputs, or None unless all of them recompute its metric."""
    seeds = [None if pd.isna(seed) else int(seed) for seed in group["seed"]]
    return bootstrap.item_runs(zip(seeds, group["fold"], group["metric"], group["items"]))


def cell_replicates(group: pd.DataFrame, entry: str, task: str, n_boot: int = N_BOOT,
                    seed: int = 0) -> np.ndarray | None:
    """[n_boot] replicates of the cell's score over test items and seeds, or None (no item outputs)."""
    runs = item_runs(group)
    if runs is None:
        return None
    return result_replicates(runs, group["metric"].iloc[0], task, entry, n_boot, seed)


def cell_interval(group: pd.DataFrame, task: str, replicates: np.ndarray, seed: int = 0) -> tuple[float, float]:
    """The cell's 95% BCa interval from its item `replicates` (`cell_replicates`)."""
    runs = item_runs(group)
    assert runs is not None, "a cell with item replicates has item outputs"
    return result_interval(runs, group["metric"].iloc[0], task, "", seed=seed, replicates=replicates)


def all_replicates(frame: pd.DataFrame, n_boot: int = N_BOOT, seed: int = 0) -> dict[tuple[str, str], np.ndarray]:
    """(entry, task) -> item replicates, for every cell that has them."""
    out = {}
    for (entry, task), group in frame.groupby(["entry", "task"], sort=True):
        reps = cell_replicates(group, entry, task, n_boot, seed)
        if reps is not None:
            out[entry, task] = reps
    return out
