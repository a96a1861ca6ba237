"""Per-entry aggregation: a cell (mean and 95% interval) per task, plus model facts.

An entry is one (model, protocol, layer, pooling): runs of the same upstream under a
different protocol or layer are different rows, labelled by the model name alone when
the model has a single variant and `model (protocol, layer L, pooling)` otherwise.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.scoring.stats import summarise
from leaderboard import intervals

VARIANT = ["model", "protocol", "layer", "pooling"]


def entry_labels(frame: pd.DataFrame) -> pd.Series:
    """A label per row of `frame`, naming its entry."""
    variants = frame[VARIANT].drop_duplicates()
    several = set(variants["model"][variants["model"].duplicated(keep=False)])
    return frame.apply(lambda r: f"{r.model} ({r.protocol}, layer {r.layer}, {r.pooling})"
                       if r.model in several else r.model, axis=1) if len(frame) else pd.Series([], dtype=object)


def cells(frame: pd.DataFrame, replicates: dict[tuple[str, str], np.ndarray] | None = None) -> pd.DataFrame:
    """(entry, task) -> mean over runs, 95% interval lo..hi, n runs, and how the interval was made:
    `items`, the BCa interval of the cell's item bootstrap (`replicates`, from
    `leaderboard.intervals`); else `seeds`, mean ± Student-t half-width over its runs (records
    without per-item outputs); `none` for one run without them."""
    replicates = replicates or {}
    rows = []
    for (entry, task), group in frame.groupby(["entry", "task"], sort=True):
        s = summarise(list(group["score"]))
        if (entry, task) in replicates:
            (lo, hi), how = intervals.cell_interval(group, task, replicates[entry, task]), intervals.ITEMS
        elif s.n > 1:
            lo, hi, how = s.mean - s.ci95, s.mean + s.ci95, intervals.SEEDS
        else:
            lo, hi, how = np.nan, np.nan, intervals.NONE
        rows.append({"entry": entry, "task": task, "mean": s.mean, "lo": lo, "hi": hi, "n": s.n, "interval": how})
    return pd.DataFrame(rows, columns=["entry", "task", "mean", "lo", "hi", "n", "interval"]).set_index(
        ["entry", "task"])


def compute_text(pretraining: dict | None) -> str | None:
    """`upstream.pretraining` (any of flops, gpu_hours, steps, samples) as a short string."""
    if not pretraining:
        return None
    parts = []
    for key, unit in (("flops", "FLOPs"), ("gpu_hours", "GPU h"), ("steps", "steps"), ("samples", "samples")):
        value = pretraining.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            parts.append(f"{value:.3g} {unit}")
    return ", ".join(parts) or None


def card_text(card: dict | None) -> str | None:
    """A zoo checkpoint's `upstream.card` as a short string: its training data, licence, paper and pin."""
    if not isinstance(card, dict):
        return None
    parts = [card.get(key) for key in ("training_data", "license", "paper")]
    revision = card.get("commit") or card.get("revision")  # the commit loaded, else the pin asked for
    pin = f"{card['repo']}@{str(revision)[:12]}" if card.get("repo") and revision else None
    return "; ".join(str(p) for p in (*parts, pin) if p) or None


def entry_facts(frame: pd.DataFrame) -> pd.DataFrame:
    """entry -> model, protocol, layer, pooling (`;`-joined where a benchmark row holds several),
    params, clips/s, device, compute, date.

    Throughput is the median of the records' `timing.clips_per_s` (records that reused
    cached embeddings carry none), with the device it was measured on; the date is the
    newest record's. The pre-training column is the records' compute, or for a zoo checkpoint
    what its card says it was trained on.
    """
    rows = []
    for entry, group in frame.groupby("entry", sort=True):
        first = group.iloc[0]
        params = group["params"].dropna()
        speed = group["clips_per_s"].dropna()
        devices = group.loc[group["clips_per_s"].notna(), "device"].dropna()
        computes = ([c for c in map(compute_text, group["pretraining"]) if c]
                    or [c for c in map(card_text, group["card"]) if c])
        dates = group["date"].dropna()
        used = {col: ";".join(dict.fromkeys(group[col])) for col in ("protocol", "layer", "pooling")}
        rows.append({"entry": entry, "model": first.model, **used,
                     "params": int(params.max()) if len(params) else None,
                     "clips_per_s": float(speed.median()) if len(speed) else None,
                     "device": devices.mode().iloc[0] if len(devices) else None,
                     "compute": computes[-1] if computes else None,
                     "date": max(dates)[:10] if len(dates) else None})
    columns = ["entry", "model", "protocol", "layer", "pooling", "params", "clips_per_s", "device", "compute", "date"]
    return pd.DataFrame(rows, columns=columns).set_index("entry")


def layer_weights(frame: pd.DataFrame) -> dict[tuple[str, str], list[float]]:
    """(entry, task) -> the mean over runs of `protocol.chosen.layer_weights` (runs whose
    length differs from the first are left out of the mean)."""
    out = {}
    for (entry, task), group in frame.dropna(subset=["layer_weights"]).groupby(["entry", "task"], sort=True):
        lists = list(group["layer_weights"])
        same = [w for w in lists if len(w) == len(lists[0])]
        out[entry, task] = [sum(col) / len(same) for col in zip(*same)]
    return out
