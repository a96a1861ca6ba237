"""A metric recomputed from a run's per-item outputs under item weights.

`weighted(items, metric, weights)` takes weights [B, n] (how many times each item is
drawn in each of B resamples) and returns the metric of each resample [B]: exactly the
metric of the test set in which item i appears weights[b, i] times, computed by sums
instead of copies so that thousands of resamples stay cheap. Weights of ones give the
metric of the run itself, as its record holds it.

Covered: accuracy, macro_f1, pitch_acc, chroma_acc, mAP, roc_auc, d_prime (clips); wer,
cer (transcripts); r@k and mAP@10 (queries); eer, min_dcf (trials); sed_eval's event
F-measures and error rates (events, per file); mAP (qbe). Not covered (no per-item form):
psds1, psds2 and metrics of plugins; `supports` says which.
"""
from __future__ import annotations

import re
from typing import Callable

import numpy as np
from scipy.special import ndtri

from benchmark.scoring.items import RANKING, ItemOutputs
from benchmark.scoring.metrics import SED_COUNTS, SED_EVAL

EPS = np.spacing(1)  # sed_eval's guard in its rates


def _mean(values: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (w @ values.astype(np.float64)) / w.sum(1)


def _correct(items: ItemOutputs) -> np.ndarray:
    return items["truth"] == items["prediction"]


def _macro_f1(items: ItemOutputs, w: np.ndarray) -> np.ndarray:
    """F1 per label present (with weight) in truth or prediction, averaged (sklearn's macro, zero_division=0)."""
    labels, codes = np.unique(np.concatenate([items["truth"], items["prediction"]]), return_inverse=True)
    truth, pred = np.eye(len(labels))[codes[: len(items)]], np.eye(len(labels))[codes[len(items):]]
    tp, t, p = w @ (truth * pred), w @ truth, w @ pred
    present = (t + p) > 0
    f1 = np.divide(2 * tp, t + p, out=np.zeros_like(tp), where=present)
    return (f1 * present).sum(1) / present.sum(1)


def _tie_groups(scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Descending order of `scores` and the position in it where each group of equal scores ends."""
    order = np.argsort(-scores, kind="stable")
    s = scores[order]
    ends = np.r_[np.flatnonzero(s[1:] != s[:-1]), len(s) - 1]
    return order, ends


def _average_precision(truth: np.ndarray, scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    """sklearn's average precision of one class under weights: sum over thresholds of
    (R_k - R_k-1) * P_k; NaN where the class has no positive weight."""
    order, ends = _tie_groups(scores)
    positive = truth[order].astype(np.float64)
    ws = w[:, order]
    tp, seen = np.cumsum(ws * positive, axis=1)[:, ends], np.cumsum(ws, axis=1)[:, ends]
    total = tp[:, -1:]
    precision = np.divide(tp, seen, out=np.zeros_like(tp), where=seen > 0)
    recall = np.divide(tp, total, out=np.zeros_like(tp), where=total > 0)
    ap = (np.diff(recall, axis=1, prepend=0.0) * precision).sum(1)
    return np.where(total[:, 0] > 0, ap, np.nan)


def _auc(truth: np.ndarray, scores: np.ndarray, w: np.ndarray) -> np.ndarray:
    """ROC-AUC of one class under weights (ties count one half); NaN without both classes."""
    order, ends = _tie_groups(scores)
    positive = truth[order].astype(np.float64)
    ws = w[:, order]
    tp = np.cumsum(ws * positive, axis=1)[:, ends]
    fp = np.cumsum(ws * (1 - positive), axis=1)[:, ends]
    pos, neg = tp[:, -1:], fp[:, -1:]
    tpr = np.divide(tp, pos, out=np.zeros_like(tp), where=pos > 0)
    fpr = np.divide(fp, neg, out=np.zeros_like(fp), where=neg > 0)
    tpr, fpr = np.pad(tpr, ((0, 0), (1, 0))), np.pad(fpr, ((0, 0), (1, 0)))
    auc = (np.diff(fpr, axis=1) * (tpr[:, 1:] + tpr[:, :-1]) / 2).sum(1)
    return np.where((pos[:, 0] > 0) & (neg[:, 0] > 0), auc, np.nan)


def _per_class(score: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
               transform: Callable[[np.ndarray], np.ndarray] = lambda x: x) -> Callable:
    def value(items: ItemOutputs, w: np.ndarray) -> np.ndarray:
        targets, scores = items["targets"], items["scores"]
        per_class = np.stack([transform(score(targets[:, c], scores[:, c], w)) for c in range(scores.shape[1])])
        kept = ~np.isnan(per_class)  # a class without positives (or negatives, for AUC) is left out
        total = np.where(kept, per_class, 0.0).sum(0)
        return np.where(kept.any(0), total / np.maximum(kept.sum(0), 1), np.nan)
    return value


def _error_rate(edits: str, length: str) -> Callable:
    return lambda items, w: (w @ items[edits].astype(np.float64)) / (w @ items[length].astype(np.float64))


def _recall_at(k: int) -> Callable:
    return lambda items, w: _mean(items["rank"] <= k, w)


def _map_at_10(items: ItemOutputs, w: np.ndarray) -> np.ndarray:
    rank = items["rank"].astype(np.float64)
    return _mean(np.where(rank <= 10, 1.0 / rank, 0.0), w)


def _roc_points(items: ItemOutputs, w: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """P_miss and P_fa [B, 1 + groups] from accept-nothing on (as `metrics._miss_and_false_alarm`),
    and whether each resample has both target and non-target trials."""
    order, ends = _tie_groups(items["score"])
    target = items["target"][order].astype(np.float64)
    ws = w[:, order]
    tp = np.pad(np.cumsum(ws * target, axis=1)[:, ends], ((0, 0), (1, 0)))
    fp = np.pad(np.cumsum(ws * (1 - target), axis=1)[:, ends], ((0, 0), (1, 0)))
    pos, neg = tp[:, -1:], fp[:, -1:]
    valid = (pos[:, 0] > 0) & (neg[:, 0] > 0)
    return 1.0 - tp / np.maximum(pos, EPS), fp / np.maximum(neg, EPS), valid


def _eer(items: ItemOutputs, w: np.ndarray) -> np.ndarray:
    p_miss, p_fa, valid = _roc_points(items, w)
    i = np.argmax(p_miss <= p_fa, axis=1)
    rows = np.arange(len(w))
    before = p_miss[rows, i - 1] - p_fa[rows, i - 1]
    after = p_miss[rows, i] - p_fa[rows, i]
    t = np.divide(before, before - after, out=np.zeros_like(before), where=before != after)
    eer = p_fa[rows, i - 1] + t * (p_fa[rows, i] - p_fa[rows, i - 1])
    return np.where(valid, eer, np.nan)


def _min_dcf(items: ItemOutputs, w: np.ndarray, p_target: float = 0.01) -> np.ndarray:
    p_miss, p_fa, valid = _roc_points(items, w)
    cost = p_target * p_miss + (1 - p_target) * p_fa
    return np.where(valid, cost.min(1) / min(p_target, 1 - p_target), np.nan)


def _sed(metric: str) -> Callable:
    """sed_eval's overall F-measure or error rate from the summed per-file counts (its own
    formulas and guards; an empty system output scores F = 0 as `metrics._event_fms`)."""
    kind = SED_EVAL[metric][0]
    f_counts, er_counts = SED_COUNTS[kind]["f"], SED_COUNTS[kind]["er"]
    error_rate = metric.endswith("_er")

    def value(items: ItemOutputs, w: np.ndarray) -> np.ndarray:
        total = {k: w @ items[f"{metric}.{k}"] for k in (er_counts if error_rate else f_counts)}
        if error_rate:
            s, d, i, n = (total[k] for k in er_counts)
            return s / (n + EPS) + d / (n + EPS) + i / (n + EPS)
        tp, ref, sys = (total[k] for k in f_counts)
        with np.errstate(divide="ignore", invalid="ignore"):
            precision = np.where(sys > 0, tp / sys, np.nan)
            recall = np.where(ref > 0, tp / ref, np.nan)
            f = np.where((precision == 0) & (recall == 0), 0.0, 2.0 * precision * recall / (precision + recall))
        return np.where(np.isnan(f) & (ref > 0), 0.0, f)
    return value


#: the top-1 metrics: the share of items right (so exact McNemar applies), and what "right" is
CORRECTNESS: dict[str, Callable[[ItemOutputs], np.ndarray]] = {
    "accuracy": _correct, "pitch_acc": _correct,
    "chroma_acc": lambda items: items["truth"] % 12 == items["prediction"] % 12}


def _share_right(right: Callable[[ItemOutputs], np.ndarray]) -> Callable:
    return lambda items, w: _mean(right(items), w)


STATISTICS: dict[tuple[str, str], Callable[[ItemOutputs, np.ndarray], np.ndarray]] = {
    **{("clips", name): _share_right(right) for name, right in CORRECTNESS.items()},
    ("clips", "macro_f1"): _macro_f1,
    ("clips", "mAP"): _per_class(_average_precision),
    ("clips", "roc_auc"): _per_class(_auc),
    ("clips", "d_prime"): _per_class(_auc, lambda auc: ndtri(auc) * np.sqrt(2.0)),
    ("transcripts", "wer"): _error_rate("word_edits", "words"),
    ("transcripts", "cer"): _error_rate("char_edits", "chars"),
    ("queries", "mAP@10"): _map_at_10,
    ("trials", "eer"): _eer,
    ("trials", "min_dcf"): _min_dcf,
    ("qbe", "mAP"): lambda items, w: _mean(items["ap"], w),
    **{("events", name): _sed(name) for name in SED_EVAL},
}

def statistic(kind: str, metric: str) -> Callable[[ItemOutputs, np.ndarray], np.ndarray] | None:
    recall = re.fullmatch(r"r@(\d+)", metric)
    if kind == "queries" and recall:
        return _recall_at(int(recall.group(1)))
    return STATISTICS.get((kind, metric))


def supports(items: ItemOutputs, metric: str) -> bool:
    """Whether `metric` can be recomputed from these outputs (and they hold what it needs)."""
    if statistic(items.kind, metric) is None:
        return False
    if items.kind == "events":
        return f"{metric}.Nref" in items.arrays
    if items.kind == "clips":
        needs = ("targets", "scores") if metric in RANKING else ("truth", "prediction")
        return all(name in items.arrays for name in needs)
    return True


def weighted(items: ItemOutputs, metric: str, weights: np.ndarray) -> np.ndarray:
    """The metric of each resample: weights [B, n] -> [B] (NaN where it is undefined)."""
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    if weights.shape[1] != len(items):
        raise ValueError(f"weights for {weights.shape[1]} items, outputs hold {len(items)}")
    if not supports(items, metric):
        raise ValueError(f"{metric!r} cannot be recomputed from {items.kind} item outputs")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(statistic(items.kind, metric)(items, weights), dtype=np.float64)


def value(items: ItemOutputs, metric: str) -> float:
    """The metric of the run itself (every item once)."""
    return float(weighted(items, metric, np.ones((1, len(items))))[0])
