"""Metrics: small pure functions, each registered with whether higher is better.

Computed with the field's libraries (scikit-learn, sed_eval, sed_scores_eval, jiwer,
mir_eval) and the parameters the papers use, so that numbers stand next to published
ones. Heavy libraries are imported inside the functions that need them, so importing
this module (to list or look up metrics) stays cheap.
"""
from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import numpy as np

from benchmark.registry import Registry

# One sound event: (onset_s, offset_s, label); events of a split are keyed by file name.
Event = tuple[float, float, str]
Events = Mapping[str, Sequence[Event]]


@dataclass(frozen=True)
class Metric:
    """`predictions`: the prediction types (`Family.prediction_type`) it scores, so that a task
    asking for a metric its family cannot feed fails before the work (None: undeclared, as a
    plugin's may be; not checked). `on_values`: it compares label values (MIDI numbers), so
    only families scored on values (`Family.scored_on_values`) can feed it."""

    name: str
    fn: Callable[..., float]
    higher_is_better: bool
    predictions: tuple[str, ...] | None = None
    on_values: bool = False

    def __call__(self, *args: object, **kwargs: object) -> float:
        return float(self.fn(*args, **kwargs))


METRICS: Registry[Metric] = Registry("metric")

# What each metric scores, as prediction types: top-1 metrics compare single labels; ranking
# metrics also score classes one-hot; the others need their own family's outputs.
CLASSES = ("multiclass",)
CLASS_SCORES = ("multiclass", "multilabel")
FRAME_EVENTS = ("frame_multilabel",)


def metric(name: str, higher_is_better: bool = True, predictions: tuple[str, ...] | None = None,
           on_values: bool = False) -> Callable[[Callable[..., float]], Callable[..., float]]:
    def wrap(fn: Callable[..., float]) -> Callable[..., float]:
        METRICS.register(name, Metric(name, fn, higher_is_better, predictions, on_values))
        return fn
    return wrap


# --- classification -----------------------------------------------------------------

@metric("accuracy", predictions=CLASSES)
def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Top-1 accuracy of class indices."""
    from sklearn.metrics import accuracy_score
    return accuracy_score(y_true, y_pred)


@metric("macro_f1", predictions=CLASSES)
def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 averaged over the classes present in truth or prediction."""
    from sklearn.metrics import f1_score
    return f1_score(y_true, y_pred, average="macro", zero_division=0)


# --- tagging (multi-label): y_true {0,1} [N, C], scores float [N, C] -------------------

def _per_class(score: Callable[..., float], y_true: np.ndarray, scores: np.ndarray,
               need_negatives: bool) -> np.ndarray:
    """`score` of each class it is defined for: with a positive (and, if asked, a negative)."""
    y_true, scores = np.asarray(y_true), np.asarray(scores)
    positives = y_true.sum(axis=0)
    keep = positives > 0
    if need_negatives:
        keep &= positives < len(y_true)
    return np.array([score(y_true[:, c], scores[:, c]) for c in np.flatnonzero(keep)])


def average_precisions(y_true: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Average precision of each class that has a positive (sklearn), in class order."""
    from sklearn.metrics import average_precision_score
    return _per_class(average_precision_score, y_true, scores, need_negatives=False)


@metric("mAP", predictions=CLASS_SCORES)
def mean_average_precision(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Macro mean of per-class average precision (sklearn; HEAR, AudioSet).

    Classes without a positive are left out (their AP is undefined); NaN if none remain.
    """
    aps = average_precisions(y_true, scores)
    return float(np.mean(aps)) if aps.size else np.nan


@metric("roc_auc", predictions=CLASS_SCORES)
def roc_auc(y_true: np.ndarray, scores: np.ndarray) -> float:
    """Macro mean of per-class ROC-AUC over classes with both positives and negatives."""
    from sklearn.metrics import roc_auc_score
    aucs = _per_class(roc_auc_score, y_true, scores, need_negatives=True)
    return float(np.mean(aucs)) if aucs.size else np.nan


@metric("d_prime", predictions=CLASS_SCORES)
def d_prime(y_true: np.ndarray, scores: np.ndarray) -> float:
    """HEAR's d': per class sqrt(2) * Phi^-1(AUC), then averaged (same classes as roc_auc).

    d' is the separation of two unit-variance Gaussians with that AUC; AUC=0.5 gives 0,
    AUC=1 gives inf (as in HEAR).
    """
    from scipy.special import ndtri
    from sklearn.metrics import roc_auc_score
    aucs = _per_class(roc_auc_score, y_true, scores, need_negatives=True)
    return float(np.mean(ndtri(aucs) * np.sqrt(2.0))) if aucs.size else np.nan


# --- sound event detection ------------------------------------------------------------

#: the sed_eval scorer and parameters behind each sed_eval metric (HEAR's, hear-eval-kit heareval/score.py)
SED_EVAL = {
    "event_onset_200ms_fms": ("EventBasedMetrics", {"evaluate_onset": True, "evaluate_offset": False,
                                                    "t_collar": 0.2}),
    "event_onset_50ms_fms": ("EventBasedMetrics", {"evaluate_onset": True, "evaluate_offset": False,
                                                   "t_collar": 0.05}),
    "event_onset_offset_50ms_20perc_fms": ("EventBasedMetrics", {"evaluate_onset": True, "evaluate_offset": True,
                                                                 "t_collar": 0.05, "percentage_of_length": 0.2}),
    "segment_1s_er": ("SegmentBasedMetrics", {"time_resolution": 1.0}),
}
#: the overall counts each sed_eval scorer computes its metrics from: F from (Ntp, Nref, Nsys),
#: the error rate from (substitutions, deletions, insertions, Nref)
SED_COUNTS = {"EventBasedMetrics": {"f": ("Ntp", "Nref", "Nsys"), "er": ("Nsubs", "Nfn", "Nfp", "Nref")},
              "SegmentBasedMetrics": {"f": ("Ntp", "Nref", "Nsys"), "er": ("S", "D", "I", "Nref")}}


def _sed_eval_scorer(kind: str, reference: Events, estimate: Events, per_file: Callable[[str, dict], None] | None = None,
                     **params: Any) -> Any:
    """A sed_eval scorer fed file by file as HEAR does; `per_file(file, overall)` sees the
    running overall counts after each file.

    Files are the union of both dicts (a file missing from `estimate` counts as all
    misses). The label list is every label seen; overall scores are the same for any
    superset, such as the task's full vocabulary that HEAR passes.
    """
    with warnings.catch_warnings():  # dcase_util, which sed_eval imports, warns that pkg_resources is deprecated
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)
        import sed_eval

    def rows(events: Sequence[Event], file: str) -> list[dict]:
        return [{"filename": file, "event_onset": float(on), "event_offset": float(off),
                 "event_label": str(label)} for on, off, label in events]

    files = sorted({*reference, *estimate})
    labels = sorted({str(e[2]) for d in (reference, estimate) for events in d.values() for e in events})
    scorer = getattr(sed_eval.sound_event, kind)(event_label_list=labels, **params)
    for file in files:
        scorer.evaluate(rows(reference.get(file, ()), file), rows(estimate.get(file, ()), file))
        if per_file is not None:
            per_file(file, scorer.overall)
    return scorer


def _sed_eval_overall(kind: str, reference: Events, estimate: Events, **params: Any) -> dict:
    """sed_eval's overall (micro) results (see `_sed_eval_scorer`)."""
    return _sed_eval_scorer(kind, reference, estimate, **params).results_overall_metrics()


def sed_file_counts(name: str, reference: Events, estimate: Events) -> dict[str, dict[str, float]]:
    """file -> the sed_eval counts (`SED_COUNTS`) that file adds to metric `name`'s overall
    counts: summed over any set of files they give that set's overall metric."""
    kind, params = SED_EVAL[name]
    keys = sorted({k for group in SED_COUNTS[kind].values() for k in group})
    out: dict[str, dict[str, float]] = {}
    before = dict.fromkeys(keys, 0.0)

    def record(file: str, overall: dict) -> None:
        out[file] = {k: float(overall[k]) - before[k] for k in keys}
        before.update({k: float(overall[k]) for k in keys})

    _sed_eval_scorer(kind, reference, estimate, per_file=record, **params)
    return out


def _event_fms(reference: Events, estimate: Events, **params: Any) -> float:
    """Overall (micro) event-based F-measure, the number HEAR reports.

    When nothing at all is detected sed_eval leaves precision (0/0), and so F, undefined;
    F = 2TP / (2TP + FP + FN) is still 0 then (no hit, every reference event missed), and a
    system that detects nothing must rank last, not drop out of a leaderboard. NaN remains
    only when there is nothing to detect and nothing detected.
    """
    score = _sed_eval_overall("EventBasedMetrics", reference, estimate, **params)["f_measure"]["f_measure"]
    if math.isnan(score) and any(len(events) for events in reference.values()):
        return 0.0
    return score


@metric("event_onset_200ms_fms", predictions=FRAME_EVENTS)
def event_onset_200ms_fms(reference: Events, estimate: Events) -> float:
    """HEAR event F-measure, onset only within a 200 ms collar (HEAR DCASE 2016 task 2).

    sed_eval EventBasedMetrics(evaluate_onset=True, evaluate_offset=False, t_collar=0.2),
    as in hear-eval-kit heareval/score.py.
    """
    return _event_fms(reference, estimate, **SED_EVAL["event_onset_200ms_fms"][1])


@metric("event_onset_50ms_fms", predictions=FRAME_EVENTS)
def event_onset_50ms_fms(reference: Events, estimate: Events) -> float:
    """HEAR event F-measure, onset only within a 50 ms collar (HEAR MAESTRO).

    sed_eval EventBasedMetrics(evaluate_onset=True, evaluate_offset=False, t_collar=0.05).
    """
    return _event_fms(reference, estimate, **SED_EVAL["event_onset_50ms_fms"][1])


@metric("event_onset_offset_50ms_20perc_fms", predictions=FRAME_EVENTS)
def event_onset_offset_50ms_20perc_fms(reference: Events, estimate: Events) -> float:
    """HEAR event F-measure, onset within 50 ms and offset within max(50 ms, 20% of length).

    sed_eval EventBasedMetrics(evaluate_onset=True, evaluate_offset=True, t_collar=0.05,
    percentage_of_length=0.2).
    """
    return _event_fms(reference, estimate, **SED_EVAL["event_onset_offset_50ms_20perc_fms"][1])


@metric("segment_1s_er", higher_is_better=False, predictions=FRAME_EVENTS)
def segment_1s_er(reference: Events, estimate: Events) -> float:
    """HEAR segment-based error rate (S+D+I)/N on 1 s segments.

    sed_eval SegmentBasedMetrics(time_resolution=1.0); each file is evaluated up to the
    last offset of its reference or estimate (HEAR passes no file durations).
    """
    return _sed_eval_overall("SegmentBasedMetrics", reference, estimate,
                             **SED_EVAL["segment_1s_er"][1])["error_rate"]["error_rate"]


def _copy_scores_for_cython() -> None:
    """Under pandas 3 (copy-on-write), DataFrame.to_numpy() views are read-only, and
    sed_scores_eval <= 0.0.4 hands them to a Cython routine that needs writable arrays
    ("buffer source array is read-only"; fixed upstream in fgnt/sed_scores_eval#17, not
    yet released). Give that routine copies; drop this once a fixed release is required."""
    from sed_scores_eval.base_modules import statistics

    curves = statistics.onset_offset_curves
    if getattr(curves, "copies_inputs", False):
        return

    def copying(scores: np.ndarray, timestamps: np.ndarray, *args: Any) -> Any:
        return curves(np.array(scores, np.float64), np.array(timestamps, np.float64), *args)

    copying.copies_inputs = True  # type: ignore[attr-defined]
    statistics.onset_offset_curves = copying


def _psds(scores: Mapping[str, Any], ground_truth: Events, durations: Mapping[str, float],
          **params: Any) -> float:
    from sed_scores_eval.intersection_based import psds

    _copy_scores_for_cython()
    return psds(scores=dict(scores), ground_truth=dict(ground_truth), audio_durations=dict(durations),
                unit_of_time="hour", max_efpr=100.0, **params)[0]


@metric("psds1", predictions=FRAME_EVENTS)
def psds1(scores: Mapping[str, Any], ground_truth: Events, durations: Mapping[str, float]) -> float:
    """DCASE PSDS scenario 1 (precise localisation), threshold-free via sed_scores_eval.

    scores: file -> DataFrame(onset, offset, <class columns>) of frame scores;
    ground_truth: file -> [(onset, offset, label)]; durations: file -> seconds.
    dtc=gtc=0.7, no cross-trigger term (cttc=None, alpha_ct=0), alpha_st=1,
    eFPR per hour up to max_efpr=100 (the DCASE task 4 / DESED baseline).
    """
    return _psds(scores, ground_truth, durations, dtc_threshold=0.7, gtc_threshold=0.7,
                 cttc_threshold=None, alpha_ct=0.0, alpha_st=1.0)


@metric("psds2", predictions=FRAME_EVENTS)
def psds2(scores: Mapping[str, Any], ground_truth: Events, durations: Mapping[str, float]) -> float:
    """DCASE PSDS scenario 2 (avoid confusing classes); inputs as for psds1.

    dtc=gtc=0.1, cttc=0.3, alpha_ct=0.5, alpha_st=1, eFPR per hour up to max_efpr=100.
    """
    return _psds(scores, ground_truth, durations, dtc_threshold=0.1, gtc_threshold=0.1,
                 cttc_threshold=0.3, alpha_ct=0.5, alpha_st=1.0)


# --- speech recognition: lists of reference and hypothesis strings -------------------

@metric("wer", higher_is_better=False, predictions=("transcript",))
def wer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus word error rate: all edits over all reference words (jiwer).

    Text is compared as given (jiwer only collapses whitespace): normalise case and
    punctuation before, as the task defines.
    """
    import jiwer

    return jiwer.wer(list(references), list(hypotheses))


@metric("cer", higher_is_better=False, predictions=("transcript",))
def cer(references: Sequence[str], hypotheses: Sequence[str]) -> float:
    """Corpus character error rate (jiwer); spaces count as characters."""
    import jiwer

    return jiwer.cer(list(references), list(hypotheses))


# --- speaker verification: labels {0,1} (1 = same speaker), scores float --------------

def _miss_and_false_alarm(labels: np.ndarray, scores: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """P_miss and P_fa at every threshold, from accept-nothing to accept-everything."""
    from sklearn.metrics import roc_curve
    labels = np.asarray(labels)
    if not (labels == 1).any() or not (labels == 0).any():
        raise ValueError("verification metrics need both target (1) and non-target (0) trials")
    fpr, tpr, _ = roc_curve(labels, scores, drop_intermediate=False)
    return 1.0 - tpr, fpr


@metric("eer", higher_is_better=False, predictions=("trial_scores",))
def eer(labels: np.ndarray, scores: np.ndarray) -> float:
    """Equal error rate: where P_miss = P_fa on the ROC, interpolated linearly between
    the two operating points around the crossing (ties make diagonal ROC segments)."""
    p_miss, p_fa = _miss_and_false_alarm(labels, scores)
    i = int(np.flatnonzero(p_miss <= p_fa)[0])  # >= 1: the curve starts at P_miss=1, P_fa=0
    before, after = p_miss[i - 1] - p_fa[i - 1], p_miss[i] - p_fa[i]
    t = before / (before - after)
    return p_fa[i - 1] + t * (p_fa[i] - p_fa[i - 1])


@metric("min_dcf", higher_is_better=False, predictions=("trial_scores",))
def min_dcf(labels: np.ndarray, scores: np.ndarray, p_target: float = 0.01,
            c_miss: float = 1.0, c_fa: float = 1.0) -> float:
    """Minimum normalised detection cost (NIST SRE / VoxCeleb: p_target=0.01, c_miss=c_fa=1).

    min over thresholds of c_miss*p_target*P_miss + c_fa*(1-p_target)*P_fa, divided by
    min(c_miss*p_target, c_fa*(1-p_target)), the cost of the best fixed decision, so
    1.0 means no better than always rejecting.
    """
    p_miss, p_fa = _miss_and_false_alarm(labels, scores)
    cost = c_miss * p_target * p_miss + c_fa * (1 - p_target) * p_fa
    return cost.min() / min(c_miss * p_target, c_fa * (1 - p_target))


# --- retrieval: similarity [Q, I], relevant[q] = indices of the items relevant to q ---

def _relevant_ranks(similarity: np.ndarray, relevant: Sequence[set[int]]) -> list[np.ndarray]:
    """Sorted 1-based ranks of each query's relevant items (ties: lower index first)."""
    similarity = np.asarray(similarity)
    if len(relevant) != len(similarity) or not all(relevant):
        raise ValueError(f"need one non-empty relevant set per query: {len(similarity)} queries, "
                         f"{len(relevant)} sets, {sum(not r for r in relevant)} empty")
    order = np.argsort(-similarity, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(1, similarity.shape[1] + 1)[None, :], axis=1)
    return [np.sort(rank[q, sorted(items)]) for q, items in enumerate(relevant)]


def recall_at_k(similarity: np.ndarray, relevant: Sequence[set[int]], k: int) -> float:
    """R@k: fraction of queries with at least one relevant item in the top k."""
    return float(np.mean([ranks[0] <= k for ranks in _relevant_ranks(similarity, relevant)]))


r_at_1 = metric("r@1", predictions=("ranking",))(partial(recall_at_k, k=1))
r_at_5 = metric("r@5", predictions=("ranking",))(partial(recall_at_k, k=5))
r_at_10 = metric("r@10", predictions=("ranking",))(partial(recall_at_k, k=10))


@metric("mAP@10", predictions=("ranking",))
def map_at_10(similarity: np.ndarray, relevant: Sequence[set[int]]) -> float:
    """Mean over queries of AP@10 = sum of precision@r at each relevant hit r <= 10,
    divided by min(#relevant, 10).

    With one relevant item per query (Clotho captions) this is 1/rank if rank <= 10
    else 0: DCASE 2022 task 6b's eval_script.py.
    """
    aps = []
    for ranks, items in zip(_relevant_ranks(similarity, relevant), relevant):
        hits = ranks[ranks <= 10]
        aps.append(np.sum(np.arange(1, len(hits) + 1) / hits) / min(len(items), 10))
    return float(np.mean(aps))


# --- pitch (HEAR NSynth pitch): integer MIDI numbers --------------------------------

@metric("pitch_acc", predictions=CLASSES, on_values=True)
def pitch_acc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of exact MIDI pitch matches."""
    return float(np.mean(np.asarray(y_true) == np.asarray(y_pred)))


@metric("chroma_acc", predictions=CLASSES, on_values=True)
def chroma_acc(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Pitch accuracy modulo 12 semitones: octave errors count as correct (HEAR)."""
    return float(np.mean(np.asarray(y_true) % 12 == np.asarray(y_pred) % 12))


# --- onsets ---------------------------------------------------------------------------

@metric("onset_fms", predictions=())  # no family's head yields onset times
def onset_fms(reference: np.ndarray | Mapping[str, np.ndarray],
              estimate: np.ndarray | Mapping[str, np.ndarray], window: float = 0.05) -> float:
    """mir_eval onset F-measure (each estimate matches at most one reference within
    +-window seconds, 50 ms by default).

    Given onset time arrays, the F of that one file; given dicts file -> onsets, the
    mean of per-file F over the union of files (each file weighs the same).
    """
    import mir_eval

    def f(ref: Any, est: Any) -> float:
        return mir_eval.onset.f_measure(np.asarray(ref, float), np.asarray(est, float), window=window)[0]

    if isinstance(reference, Mapping):
        files = sorted({*reference, *estimate})
        return float(np.mean([f(reference.get(k, ()), estimate.get(k, ())) for k in files]))
    return f(reference, estimate)
