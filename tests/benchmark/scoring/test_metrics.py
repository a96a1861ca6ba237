"""Every metric against values worked out independently of benchmark.scoring.metrics: small
cases counted by hand (the arithmetic is in the comments), published constants and
definitions. Metrics are called through the registry, as the harness calls them."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import ndtri

from benchmark.scoring.metrics import METRICS
from benchmark.registry import UnknownNameError

# dcase_util, imported by sed_eval, still imports pkg_resources
pytestmark = pytest.mark.filterwarnings("ignore:pkg_resources is deprecated:UserWarning")

# Published quantiles of the standard normal (any table): Phi^-1(0.75), Phi^-1(1/3), Phi(-1).
Z_075, Z_THIRD, PHI_MINUS_1 = 0.6744897501960817, -0.4307272992954576, 0.15865525393145707


def m(name: str, *args: object, **kwargs: object) -> float:
    return METRICS.get(name)(*args, **kwargs)


# --- registry -------------------------------------------------------------------------

DIRECTION = {
    **dict.fromkeys(["accuracy", "macro_f1", "mAP", "roc_auc", "d_prime", "event_onset_200ms_fms",
                     "event_onset_50ms_fms", "event_onset_offset_50ms_20perc_fms", "psds1", "psds2",
                     "r@1", "r@5", "r@10", "mAP@10", "pitch_acc", "chroma_acc", "onset_fms"], True),
    **dict.fromkeys(["segment_1s_er", "wer", "cer", "eer", "min_dcf"], False),
}


def test_registered_names_and_direction() -> None:
    assert set(DIRECTION) <= set(METRICS.names())
    for name, higher in DIRECTION.items():
        metric = METRICS.get(name)
        assert metric.name == name and metric.higher_is_better is higher, name
        assert getattr(metric.fn, "func", metric.fn).__doc__, f"{name} has no docstring"  # partials


def test_unknown_metric_is_a_clear_error_with_suggestions() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown metric 'map@10'; did you mean 'mAP@10'"):
        METRICS.get("map@10")
    with pytest.raises(UnknownNameError, match=r"unknown metric 'zzz'; known: .*accuracy"):
        METRICS.get("zzz")


# --- classification -------------------------------------------------------------------

def test_accuracy_and_macro_f1_by_hand() -> None:
    y, p = [0, 1, 2, 2], [0, 2, 2, 2]
    assert m("accuracy", y, p) == pytest.approx(3 / 4)
    # class 0: P=R=1, F=1; class 1: no hit, F=0; class 2: TP=2 FP=1 FN=0, P=2/3 R=1, F=0.8
    assert m("macro_f1", y, p) == pytest.approx((1 + 0 + 0.8) / 3)


# --- tagging --------------------------------------------------------------------------

# Class 0: positives at scores 0.9, 0.3; negatives 0.8, 0.1.
# Class 1: one positive at 0.2; negatives 0.1, 0.3, 0.4.  Class 2: no positive (skipped).
Y = np.array([[1, 0, 0], [0, 1, 0], [1, 0, 0], [0, 0, 0]])
S = np.array([[0.9, 0.1, 0.5], [0.8, 0.2, 0.4], [0.3, 0.3, 0.3], [0.1, 0.4, 0.2]])


def test_map_by_hand() -> None:
    # class 0 ranking 0.9(+) 0.8 0.3(+) 0.1: AP = (1/1 + 2/3) / 2 = 5/6
    # class 1 ranking 0.4 0.3 0.2(+) 0.1:     AP = 1/3
    assert m("mAP", Y, S) == pytest.approx((5 / 6 + 1 / 3) / 2)


def test_roc_auc_and_d_prime_by_hand() -> None:
    # AUC = fraction of (positive, negative) pairs ranked right.
    # class 0: (.9,.8) ok (.9,.1) ok (.3,.8) no (.3,.1) ok -> 3/4
    # class 1: (.2,.1) ok (.2,.3) no (.2,.4) no -> 1/3
    assert m("roc_auc", Y, S) == pytest.approx((3 / 4 + 1 / 3) / 2)
    # d' = sqrt(2) * Phi^-1(AUC) per class, averaged
    assert m("d_prime", Y, S) == pytest.approx(math.sqrt(2) * (Z_075 + Z_THIRD) / 2)


def test_d_prime_is_zero_at_chance() -> None:
    # each class: positives 0.9, 0.1 vs negatives 0.5, 0.5 -> 2 of 4 pairs right, AUC = 0.5
    y = np.array([[1, 0], [0, 1], [0, 1], [1, 0]])
    s = np.array([[0.9, 0.5], [0.5, 0.9], [0.5, 0.1], [0.1, 0.5]])
    assert m("roc_auc", y, s) == pytest.approx(0.5)
    assert m("d_prime", y, s) == pytest.approx(0.0)


# --- sound event detection: sed_eval with HEAR's parameters ---------------------------

SED_REF = {
    "f1": [(1.0, 2.0, "dog"), (3.0, 4.0, "cat"), (5.0, 6.0, "dog"), (7.0, 9.0, "bird")],
    "f2": [(0.5, 1.0, "cat")],
}
SED_EST = {
    "f1": [(1.04, 2.03, "dog"),   # E1: onset off by 40 ms, offset by 30 ms
           (3.15, 4.0, "cat"),    # E2: onset off by 150 ms
           (5.0, 5.5, "cat"),     # E3: wrong label (the dog at 5 s is missed)
           (7.02, 9.5, "bird")],  # E4: onset off by 20 ms, offset by 500 ms
    # f2: nothing detected (its cat is missed)
    "f3": [(2.0, 3.0, "dog")],    # nothing there: false positive
}
# 5 reference events, 5 estimated events; F = 2TP / (Nref + Nsys) = 2TP / 10.


def test_event_onset_200ms_fms_by_hand() -> None:
    # onset within 200 ms and same label: E1, E2, E4 -> TP=3, F = 6/10
    assert m("event_onset_200ms_fms", SED_REF, SED_EST) == pytest.approx(0.6)


def test_event_onset_50ms_fms_by_hand() -> None:
    # onset within 50 ms: E1, E4 -> TP=2, F = 4/10
    assert m("event_onset_50ms_fms", SED_REF, SED_EST) == pytest.approx(0.4)


def test_event_onset_offset_50ms_20perc_fms_by_hand() -> None:
    # also offset within max(50 ms, 20% of the reference length):
    # E1: 30 ms <= max(50, 200) ms ok; E4: 500 ms > max(50, 400) ms no -> TP=1, F = 2/10
    assert m("event_onset_offset_50ms_20perc_fms", SED_REF, SED_EST) == pytest.approx(0.2)


def test_event_fms_with_a_precision_recall_imbalance() -> None:
    # one file, 2 references, 1 correct estimate: P=1, R=1/2, F = 2PR/(P+R) = 2/3
    ref = {"a": [(0.0, 1.0, "x"), (2.0, 3.0, "x")]}
    est = {"a": [(0.1, 0.9, "x")]}
    assert m("event_onset_200ms_fms", ref, est) == pytest.approx(2 / 3)


def test_segment_1s_er_by_hand() -> None:
    # An event covers the 1 s segments floor(onset) .. ceil(offset)-1; each file runs to
    # its last offset. Per segment S = min(Nref, Nsys) - TP, D = max(0, Nref - Nsys),
    # I = max(0, Nsys - Nref); ER = (S + D + I) / total Nref.
    ref = {"f1": [(0.0, 2.0, "dog"), (2.5, 3.0, "cat")],   # dog: seg 0,1; cat: seg 2
           "f2": [(0.0, 1.0, "dog")],                      # dog: seg 0
           "f3": [(0.0, 2.0, "cat")]}                      # cat: seg 0,1
    est = {"f1": [(0.2, 0.9, "dog"), (1.5, 2.2, "cat")],   # dog: seg 0; cat: seg 1,2
           "f2": [(0.0, 1.0, "dog"), (0.0, 1.0, "cat"),    # dog, cat: seg 0
                  (3.2, 3.6, "cat")]}                      # cat: seg 3
    # f1: seg0 dog/dog ok; seg1 dog/cat S=1; seg2 cat/cat ok.      Nref 3, S=1
    # f2: seg0 {dog}/{dog,cat} I=1; seg3 {}/{cat} I=1.              Nref 1, I=2
    # f3: seg0, seg1 cat/nothing D=1 each.                          Nref 2, D=2
    # ER = (1 + 2 + 2) / 6
    assert m("segment_1s_er", ref, est) == pytest.approx(5 / 6)


def sed_eval_f(reference: dict, estimate: dict) -> float:
    """sed_eval's own overall event F (onset, 200 ms collar), straight from the library."""
    import sed_eval
    scorer = sed_eval.sound_event.EventBasedMetrics(event_label_list=["cat", "dog"], evaluate_onset=True,
                                                    evaluate_offset=False, t_collar=0.2)
    for file in sorted({*reference, *estimate}):
        scorer.evaluate([{"filename": file, "event_onset": a, "event_offset": b, "event_label": c}
                         for a, b, c in reference.get(file, ())],
                        [{"filename": file, "event_onset": a, "event_offset": b, "event_label": c}
                         for a, b, c in estimate.get(file, ())])
    return scorer.results_overall_metrics()["f_measure"]["f_measure"]


def test_sed_perfect_and_empty() -> None:
    assert m("event_onset_200ms_fms", SED_REF, SED_REF) == pytest.approx(1.0)
    assert m("segment_1s_er", SED_REF, SED_REF) == pytest.approx(0.0)
    # nothing detected: sed_eval's F is NaN (precision 0/0); F = 2TP / (2TP + FP + FN) = 0
    assert math.isnan(sed_eval_f(SED_REF, {}))
    assert m("event_onset_200ms_fms", SED_REF, {}) == 0.0
    assert math.isnan(m("event_onset_200ms_fms", {"f1": []}, {}))  # nothing to detect either
    assert m("event_onset_200ms_fms", SED_REF, {"f1": [(0.0, 0.5, "cat")]}) == pytest.approx(0.0)
    assert m("segment_1s_er", SED_REF, {}) == pytest.approx(1.0)  # all deletions


# --- PSDS (sed_scores_eval) -----------------------------------------------------------

def _psds_inputs(b_score_until: float) -> tuple[dict, dict, dict]:
    """One file of one hour, classes a and b, piecewise-constant frame scores.

    a: event [10, 20] scored 0.6; a false 'a' scored 0.9 exactly on b's event [1000, 2800].
    b: event [1000, 2800] (half an hour) scored 0.8 on [1000, b_score_until].
    """
    from sed_scores_eval.base_modules.scores import create_score_dataframe

    edges = sorted({0.0, 10.0, 20.0, 1000.0, b_score_until, 2800.0, 3600.0})
    mids = (np.array(edges[:-1]) + np.array(edges[1:])) / 2
    a = np.select([(mids > 10) & (mids < 20), (mids > 1000) & (mids < 2800)], [0.6, 0.9], 0.0)
    b = np.where((mids > 1000) & (mids < b_score_until), 0.8, 0.0)
    scores = {"x": create_score_dataframe(np.stack([a, b], 1), np.array(edges), ["a", "b"])}
    truth = {"x": [(10.0, 20.0, "a"), (1000.0, 2800.0, "b")]}
    return scores, truth, {"x": 3600.0}


def test_psds_by_hand() -> None:
    # b is found at eFPR 0 (TPR_b = 1 throughout). a: thresholds in (0.6, 0.9] give the
    # false 'a' only (TPR_a=0); <= 0.6 add the true 'a' (TPR_a=1). Lower thresholds only
    # add detections over the whole file, which hit nothing new (dominated points).
    # PSDS1: eFPR_a = 1 FP / 1 h = 1.  PSDS2: the false 'a' lies wholly on b (>= cttc 0.3):
    # one cross-trigger per 0.5 h of b -> CTR = 2/h; eFPR_a = 1 + alpha_ct(0.5) * 2 = 2.
    # alpha_st=1: eTPR = mean - std of (TPR_a, TPR_b) = (0,1): 0.5 - 0.5 = 0 below eFPR_a,
    # 1 above. Area up to max_efpr=100, normalised: (100 - eFPR_a) / 100.
    scores, truth, durations = _psds_inputs(b_score_until=2800.0)
    assert m("psds1", scores, truth, durations) == pytest.approx(0.99)
    assert m("psds2", scores, truth, durations) == pytest.approx(0.98)


def test_psds_intersection_criteria() -> None:
    # b now covers only [1000, 1720] = 40% of its event: inside it (dtc ok, no FP) but
    # 0.4 < gtc 0.7 fails PSDS1 (TPR_b = 0 everywhere, so eTPR = 0.5 - 0.5 = 0 -> PSDS 0),
    # while 0.4 >= gtc 0.1 passes PSDS2, which is unchanged at 0.98.
    scores, truth, durations = _psds_inputs(b_score_until=1720.0)
    assert m("psds1", scores, truth, durations) == pytest.approx(0.0)
    assert m("psds2", scores, truth, durations) == pytest.approx(0.98)


# --- speech recognition ---------------------------------------------------------------

REFS, HYPS = ["the cat sat", "hello world"], ["the cat sat down", "hello word"]


def test_wer_by_hand_is_corpus_level() -> None:
    # 1 insertion ("down") + 1 substitution (world -> word) over 3 + 2 reference words.
    # (A mean of per-sentence WERs would give (1/3 + 1/2) / 2 = 0.417 instead.)
    assert m("wer", REFS, HYPS) == pytest.approx(2 / 5)


def test_cer_by_hand() -> None:
    # 5 insertions (" down") + 1 deletion ("l") over 11 + 11 characters, spaces included
    assert m("cer", REFS, HYPS) == pytest.approx(6 / 22)


# --- speaker verification -------------------------------------------------------------

TARGETS, NONTARGETS = [0.9, 0.8, 0.6, 0.3], [0.7, 0.4, 0.2, 0.1]
LABELS = np.array([1] * 4 + [0] * 4)
SCORES = np.array(TARGETS + NONTARGETS)


def test_eer_at_an_exact_crossing() -> None:
    # threshold in (0.4, 0.6]: targets 0.3 missed (P_miss 1/4), non-target 0.7 accepted
    # (P_fa 1/4): the error rates are equal there.
    assert m("eer", LABELS, SCORES) == pytest.approx(0.25)


def test_eer_interpolates_across_a_tie() -> None:
    # targets 0.8, 0.5; non-targets 0.5, 0.2. Operating points (P_fa, P_miss):
    # threshold 0.8 -> (0, 1/2); 0.5 -> (1/2, 0): the tie at 0.5 makes a straight segment
    # P_miss = 1/2 - P_fa, which meets P_miss = P_fa at 1/4.
    assert m("eer", [1, 1, 0, 0], [0.8, 0.5, 0.5, 0.2]) == pytest.approx(0.25)


def test_eer_of_two_gaussians() -> None:
    # Published: target N(d,1) vs non-target N(0,1) cross at d/2, EER = Phi(-d/2).
    # d = 2 -> Phi(-1). Scores are the exact normal quantiles of a 20000-sample grid.
    n = 20000
    q = ndtri((np.arange(n) + 0.5) / n)
    labels = np.r_[np.ones(n), np.zeros(n)]
    assert m("eer", labels, np.r_[q + 2.0, q]) == pytest.approx(PHI_MINUS_1, abs=2e-4)


def test_min_dcf_by_hand() -> None:
    # p_target=0.01, c_miss=c_fa=1: DCF = 0.01 P_miss + 0.99 P_fa, normalised by 0.01
    # -> P_miss + 99 P_fa. Operating points (P_miss, P_fa) from strict to lax:
    # (1, 0) -> 1; (3/4, 0) -> 0.75; (1/2, 0) -> 0.5; (1/2, 1/4) -> 25.25; every later
    # point has P_fa >= 1/4. Minimum 0.5.
    assert m("min_dcf", LABELS, SCORES) == pytest.approx(0.5)
    assert m("min_dcf", [1, 0], [0.9, 0.1]) == pytest.approx(0.0)  # separable: no cost


def test_min_dcf_parameters_by_hand() -> None:
    # targets 0.9 0.7 0.6 0.2, non-targets 0.8 0.5 0.3 0.1; operating points (P_miss, P_fa):
    # (1,0) (3/4,0) (3/4,1/4) (1/2,1/4) (1/4,1/4) (1/4,1/2) (1/4,3/4) (0,3/4) (0,1)
    labels, scores = [1, 1, 1, 1, 0, 0, 0, 0], [0.9, 0.7, 0.6, 0.2, 0.8, 0.5, 0.3, 0.1]
    # default p_target=0.01: P_miss + 99 P_fa -> best (3/4, 0) = 0.75
    assert m("min_dcf", labels, scores) == pytest.approx(0.75)
    # p_target=0.5: (0.5 P_miss + 0.5 P_fa) / 0.5 = P_miss + P_fa -> best (1/4, 1/4) = 0.5
    assert m("min_dcf", labels, scores, p_target=0.5) == pytest.approx(0.5)
    # p_target=0.5, c_fa=3: (0.5 P_miss + 1.5 P_fa) / 0.5 = P_miss + 3 P_fa -> (3/4, 0) = 0.75
    assert m("min_dcf", labels, scores, p_target=0.5, c_fa=3.0) == pytest.approx(0.75)


def test_verification_needs_both_kinds_of_trials() -> None:
    with pytest.raises(ValueError, match="target"):
        m("eer", [1, 1], [0.2, 0.3])


# --- retrieval ------------------------------------------------------------------------

def _similarity(rankings: list[list[int]], n_items: int) -> np.ndarray:
    """Similarities that rank items in the given order (best first)."""
    sim = np.zeros((len(rankings), n_items))
    for q, order in enumerate(rankings):
        sim[q, order] = np.arange(n_items, 0, -1)
    return sim


RANKINGS = [[4, 7, 2, 0, 1, 3, 5, 6, 8, 9, 10, 11],   # q0: relevant {2} at rank 3
            [0, 3, 8, 5, 1, 2, 4, 6, 7, 9, 10, 11],   # q1: relevant {0, 5} at ranks 1, 4
            [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]]   # q2: relevant {11} at rank 12
RELEVANT = [{2}, {0, 5}, {11}]


def test_recall_at_k_by_hand() -> None:
    sim = _similarity(RANKINGS, 12)
    # first relevant rank per query: 3, 1, 12
    assert m("r@1", sim, RELEVANT) == pytest.approx(1 / 3)
    assert m("r@5", sim, RELEVANT) == pytest.approx(2 / 3)
    assert m("r@10", sim, RELEVANT) == pytest.approx(2 / 3)


def test_map_at_10_by_hand() -> None:
    sim = _similarity(RANKINGS, 12)
    # q0: hit at 3 -> P@3 = 1/3, / min(1, 10) -> 1/3   (DCASE 2022: 1/rank)
    # q1: hits at 1 and 4 -> (1/1 + 2/4) / min(2, 10) = 3/4
    # q2: hit at 12 > 10 -> 0
    assert m("mAP@10", sim, RELEVANT) == pytest.approx((1 / 3 + 3 / 4 + 0) / 3)


def test_retrieval_rejects_mismatched_relevance() -> None:
    with pytest.raises(ValueError, match="relevant set per query"):
        m("r@1", np.zeros((2, 3)), [{0}])
    with pytest.raises(ValueError, match="1 empty"):
        m("mAP@10", np.zeros((2, 3)), [{0}, set()])


# --- pitch ----------------------------------------------------------------------------

def test_pitch_and_chroma_by_hand() -> None:
    y, p = [60, 61, 62, 72], [60, 73, 50, 72]
    assert m("pitch_acc", y, p) == pytest.approx(2 / 4)   # 60 and 72 exact
    # 61 vs 73 and 62 vs 50 are octave errors: same pitch class (1 and 2 mod 12)
    assert m("chroma_acc", y, p) == pytest.approx(4 / 4)
    assert m("chroma_acc", [60], [61]) == pytest.approx(0.0)


# --- onsets ---------------------------------------------------------------------------

def test_onset_fms_by_hand() -> None:
    ref, est = [0.1, 0.5, 1.0, 2.0], [0.12, 0.56, 1.0, 3.0]
    # within 50 ms: 0.12 (20 ms), 1.0 (0 ms); 0.56 is 60 ms off, 3.0 matches nothing.
    # P = R = 2/4 -> F = 0.5
    assert m("onset_fms", ref, est) == pytest.approx(0.5)
    # per-file mean: file b has F=1 -> (0.5 + 1) / 2 (pooling counts would give 6/10)
    assert m("onset_fms", {"a": ref, "b": [1.0]}, {"a": est, "b": [1.01]}) == pytest.approx(0.75)
    # a wider window takes 0.56 in: P = R = 3/4
    assert METRICS.get("onset_fms").fn(ref, est, window=0.07) == pytest.approx(0.75)
