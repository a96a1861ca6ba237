"""Sound event detection: frame probabilities -> events, with post-processing chosen on valid.

As in HEAR, frame scores are binarised with a threshold, smoothed with a median filter and
events shorter than a minimum duration are dropped. HEAR fixes these (0.5, 250 ms,
125/250 ms); here they are chosen on the validation split by coordinate ascent on the
task's event metric (global threshold, filter, minimum duration, the threshold again, then
per-class thresholds, kept only if they help on valid), which adapts to a head's
calibration and an upstream's hop.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.ndimage import median_filter

from benchmark.scoring.items import ItemOutputs, event_outputs
from benchmark.scoring.metrics import METRICS, Event, sed_file_counts

THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
MEDIAN_MS = (0.0, 100.0, 250.0, 500.0)
MIN_DURATION_MS = (0.0, 60.0, 125.0, 250.0)
#: metrics scored on decoded events (the others, PSDS, take frame scores)
EVENT_METRICS = ("event_onset_200ms_fms", "event_onset_50ms_fms", "event_onset_offset_50ms_20perc_fms",
                 "segment_1s_er")


@dataclass(frozen=True)
class PostProcessing:
    threshold: float | tuple[float, ...]  # one for all classes, or one per class
    median_ms: float = 250.0
    min_duration_ms: float = 0.0

    def as_dict(self) -> dict:
        threshold = list(self.threshold) if isinstance(self.threshold, tuple) else self.threshold
        return {"threshold": threshold, "median_ms": self.median_ms, "min_duration_ms": self.min_duration_ms}


def decode(probs: np.ndarray, hop_s: float, labels: Sequence[str], pp: PostProcessing) -> list[Event]:
    """Events of one clip from its frame probabilities [T, C]; frame j spans [j, j+1) * hop."""
    active = probs >= np.asarray(pp.threshold, dtype=probs.dtype)
    width = int(round(pp.median_ms / 1000.0 / hop_s))
    if width > 1:
        width += 1 - width % 2  # odd, so the filter is centred
        active = median_filter(active.astype(np.uint8), size=(width, 1), mode="nearest").astype(bool)
    edges = np.diff(np.pad(active.astype(np.int8), ((1, 1), (0, 0))), axis=0)
    events = []
    for c, label in enumerate(labels):
        starts, ends = np.flatnonzero(edges[:, c] == 1), np.flatnonzero(edges[:, c] == -1)
        for start, end in zip(starts, ends):
            if (end - start) * hop_s * 1000.0 >= pp.min_duration_ms:
                events.append((round(start * hop_s, 4), round(end * hop_s, 4), label))
    return sorted(events)


def decode_all(probs: Mapping[str, np.ndarray], hop_s: float, labels: Sequence[str],
               pp: PostProcessing) -> dict[str, list[Event]]:
    return {file: decode(p, hop_s, labels, pp) for file, p in probs.items()}


def score_frames(probs: np.ndarray, hop_s: float, labels: Sequence[str]) -> pd.DataFrame:
    """One clip's frame scores in sed_scores_eval's format (onset, offset, one column per class)."""
    n = len(probs)
    frame = pd.DataFrame(np.asarray(probs, dtype=np.float64), columns=list(labels))
    frame.insert(0, "offset", (np.arange(n) + 1) * hop_s)
    frame.insert(0, "onset", np.arange(n) * hop_s)
    return frame


def selection_metric(metrics: Sequence[str], main: str) -> str:
    """The event metric post-processing is tuned for: the main one if event-based."""
    if main in EVENT_METRICS:
        return main
    return next((m for m in metrics if m in EVENT_METRICS), "event_onset_200ms_fms")


def choose(probs: Mapping[str, np.ndarray], reference: Mapping[str, Sequence[Event]], hop_s: float,
           labels: Sequence[str], metric: str) -> tuple[PostProcessing, float]:
    """Post-processing that maximises `metric` on valid (coordinate ascent over the grids)."""
    spec = METRICS.get(metric)
    sign = 1.0 if spec.higher_is_better else -1.0
    memo: dict[PostProcessing, float] = {}

    def value(pp: PostProcessing) -> float:
        if pp not in memo:
            v = spec(reference, decode_all(probs, hop_s, labels, pp))
            memo[pp] = -np.inf if np.isnan(v) else sign * v
        return memo[pp]

    def sweep(pp: PostProcessing, field: str, grid: Sequence[float]) -> PostProcessing:
        return max((replace(pp, **{field: g}) for g in grid), key=lambda c: (value(c), c == pp))

    best = PostProcessing(0.5)
    for field, grid in (("threshold", THRESHOLDS), ("median_ms", MEDIAN_MS),
                        ("min_duration_ms", MIN_DURATION_MS), ("threshold", THRESHOLDS)):
        best = sweep(best, field, grid)
    if len(labels) > 1:
        per_class = PostProcessing(tuple([float(best.threshold)] * len(labels)), best.median_ms, best.min_duration_ms)
        for c in range(len(labels)):
            options = [replace(per_class, threshold=per_class.threshold[:c] + (t,) + per_class.threshold[c + 1:])
                       for t in THRESHOLDS]
            per_class = max(options, key=lambda o: (value(o), o == per_class))
        if value(per_class) > value(best):
            best = per_class
    return best, sign * value(best)


def sed_metrics(names: Sequence[str], probs: Mapping[str, np.ndarray], reference: Mapping[str, Sequence[Event]],
                durations: Mapping[str, float], hop_s: float, labels: Sequence[str],
                pp: PostProcessing) -> tuple[dict[str, float], ItemOutputs]:
    """Every metric of the task: event metrics on decoded events, PSDS on the frame scores;
    and the per-file sed_eval counts of the event metrics (the per-item outputs)."""
    events = decode_all(probs, hop_s, labels, pp)
    out, counts = {}, {}
    for name in names:
        if name in EVENT_METRICS:
            out[name] = METRICS.get(name)(reference, events)
            per_file = sed_file_counts(name, reference, events)
            counts[name] = {key: [per_file[f][key] for f in reference] for key in next(iter(per_file.values()), {})}
        else:
            scores = {file: score_frames(p, hop_s, labels) for file, p in probs.items()}
            out[name] = METRICS.get(name)(scores, reference, durations)
    return out, event_outputs(list(reference), counts)
