"""`earbench compare`: tests over test items (paired bootstrap, exact McNemar), never "better" otherwise."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import bootstrap
from statsmodels.stats.contingency_tables import mcnemar

from benchmark.errors import EarbenchError
from benchmark.scoring.bootstrap import N_BOOT, items_digest, rng_for
from benchmark.scoring.items import ItemOutputs
from benchmark.task import SUITES
from leaderboard.compare import compare
from leaderboard.records import read_records
from tests.support.helpers import run_cli
from tests.support.records import correct_clips, write_record, write_runs

A = [0.70, 0.74, 0.78, 0.72]
B = [0.60, 0.66, 0.70, 0.61]


def frame(root):
    return read_records(root)[0]


def clips_run(root, model, task, correct, **kw):
    write_record(root, model, task, float(np.mean(correct)), outputs=correct_clips(correct), **kw)


def test_two_of_five_against_none_is_not_separable(tmp_path):
    clips_run(tmp_path, "random-cnn", "tiny", [1, 1, 0, 0, 0])
    clips_run(tmp_path, "logmel", "tiny", [0, 0, 0, 0, 0])
    [c] = compare(frame(tmp_path), "random-cnn", "logmel")
    assert c.winner is None and c.items == 5 and c.p_mcnemar == pytest.approx(0.5)
    assert c.verdict.startswith("not separable (accuracy 0.4000 vs 0.0000, diff +0.4000")
    assert "exact McNemar p = 0.5" in c.verdict


def test_a_bootstrap_p_of_zero_is_reported_as_below_its_resolution(tmp_path):
    clips_run(tmp_path, "eat", "tiny", [1] * 40)
    clips_run(tmp_path, "logmel", "tiny", [0] * 40)
    [c] = compare(frame(tmp_path), "eat", "logmel")
    assert c.p == 0 and c.winner == "A"
    assert f"paired bootstrap over 40 test items p < {2 / N_BOOT:.1g};" in c.verdict and "p = 0;" not in c.verdict


def test_a_clear_difference_is_better_and_matches_scipys_bca_and_statsmodels(tmp_path):
    rng = np.random.default_rng(0)
    right_a = (rng.random(60) < 0.9).astype(int)
    right_b = right_a * (rng.random(60) < 0.3)
    clips_run(tmp_path, "a", "kws", list(right_a))
    clips_run(tmp_path, "b", "kws", list(right_b))
    [c] = compare(frame(tmp_path), "a", "b")
    assert c.winner == "A" and c.verdict.startswith("a better (accuracy")
    b, n = int((right_a & ~right_b.astype(bool)).sum()), int((~right_a.astype(bool) & right_b.astype(bool)).sum())
    assert c.p_mcnemar == pytest.approx(mcnemar([[0, b], [n, 0]], exact=True).pvalue, abs=1e-15)
    d = (right_a - right_b).astype(float)
    ref = bootstrap((d,), np.mean, n_resamples=N_BOOT, method="BCa",
                    rng=rng_for(0, "kws", None, items_digest(correct_clips(list(right_a))))).confidence_interval
    assert c.ci == pytest.approx((ref.low, ref.high), abs=1e-12) and c.diff == pytest.approx(d.mean())


def test_lower_is_better_metric_over_files(tmp_path):
    def asr(edits):
        n = len(edits)
        return ItemOutputs("transcripts", {"id": np.array([f"u{i}.wav" for i in range(n)]), "word_edits": edits,
                                           "words": np.full(n, 10), "char_edits": edits, "chars": np.full(n, 10)})
    good, bad = np.zeros(40, int), np.full(40, 5)
    write_record(tmp_path, "a", "asr", 0.0, metric="wer", family="asr", outputs=asr(good))
    write_record(tmp_path, "b", "asr", 0.5, metric="wer", family="asr", outputs=asr(bad))
    [c] = compare(frame(tmp_path), "a", "b")
    assert c.diff == pytest.approx(-0.5) and c.winner == "A" and c.p_mcnemar is None
    [c] = compare(frame(tmp_path), "b", "a")
    assert c.winner == "B" and c.verdict.startswith("a better (wer")


def test_seeds_and_folds_are_combined(tmp_path):
    for seed in range(2):
        for fold in ("1", "2"):
            right = [1] * 18 + [0] * 2
            clips_run(tmp_path, "a", "esc", right, seed=seed, fold=fold)
            clips_run(tmp_path, "b", "esc", right[::-1][:2] + [0] * 18, seed=seed, fold=fold)
    [c] = compare(frame(tmp_path), "a", "b")
    assert c.n == 8 and c.items == 40 and c.winner == "A"  # items of one seed, both folds


def test_records_without_item_outputs_are_never_called_better(tmp_path):
    write_runs(tmp_path, "a", "kws", A)
    write_runs(tmp_path, "b", "kws", B)
    [c] = compare(frame(tmp_path), "a", "b")
    assert c.winner is None and c.n == 4 and c.diff == pytest.approx(0.0925)
    assert c.verdict.startswith("not separable: a and b's records hold no per-item outputs")
    clips_run(tmp_path, "c", "kws", [1, 1, 1])
    [c] = compare(frame(tmp_path), "c", "b")
    assert c.winner is None and "b's records hold no per-item outputs" in c.verdict


def test_different_test_items_are_not_compared(tmp_path):
    clips_run(tmp_path, "a", "kws", [1, 1, 1])
    write_record(tmp_path, "b", "kws", 0.0, outputs=correct_clips([0, 0, 0], prefix="other"))
    [c] = compare(frame(tmp_path), "a", "b")
    assert c.verdict.startswith("not compared: a and b predicted different test items")


def test_not_compared(tmp_path):
    write_record(tmp_path, "a", "only-a", 0.5)
    write_record(tmp_path, "a", "unmatched", 0.5, seed=0)
    write_record(tmp_path, "b", "unmatched", 0.5, seed=7)
    by_task = {c.task: c for c in compare(frame(tmp_path), "a", "b")}
    assert by_task["only-a"].verdict == "not compared: only a has records"
    assert by_task["unmatched"].verdict == "not compared: no matched seeds/folds (a: seed 0; b: seed 7)"


def test_names_resolve_to_entries(tmp_path):
    write_record(tmp_path, "eat", "kws", 0.6, layer="last")
    write_record(tmp_path, "eat", "kws", 0.7, layer="weighted")
    write_record(tmp_path, "logmel", "kws", 0.5, layer="last")
    # a model with several entries is the one run as the other side was, wherever that is one
    [c] = compare(frame(tmp_path), "eat", "logmel")
    assert c.diff == pytest.approx(0.1)
    [c] = compare(frame(tmp_path), "logmel", "eat")
    assert c.diff == pytest.approx(-0.1)
    write_record(tmp_path, "logmel", "kws", 0.55, layer="weighted")
    with pytest.raises(EarbenchError, match="several entries"):
        compare(frame(tmp_path), "eat", "logmel")
    with pytest.raises(EarbenchError, match="did you mean logmel"):
        compare(frame(tmp_path), "logmell", "eat (linear, layer last, mean)")
    [c] = compare(frame(tmp_path), "eat (linear, layer weighted, mean)", "logmel")
    assert c.diff == pytest.approx(0.7 - 0.55)


def test_compare_cli_with_a_suite(tmp_path, capsys):
    SUITES.register("lb-compare-suite", ["kws", "missing-task"])
    clips_run(tmp_path, "a", "kws", [1] * 30)
    clips_run(tmp_path, "b", "kws", [0] * 30)
    write_runs(tmp_path, "a", "outside", A)
    write_runs(tmp_path, "b", "outside", B)
    code, out, _ = run_cli(capsys, "compare", "a", "b", "--results", str(tmp_path), "--suite", "lb-compare-suite")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and "outside" not in out
    assert lines[0].startswith("kws") and "a better" in lines[0]
    assert lines[1].startswith("missing-task") and "not compared: neither has records" in lines[1]
    assert lines[2].startswith("a better on 1, b better on 0, not separable on 0 of 1 compared task(s)")


def test_compare_cli_errors_are_one_line(tmp_path, capsys):
    write_record(tmp_path, "a", "kws", 0.5)
    code, _, err = run_cli(capsys, "compare", "a", "zzz", "--results", str(tmp_path))
    assert code == 2 and "no records for 'zzz'" in err
    code, _, err = run_cli(capsys, "compare", "a", "b", "--results", str(tmp_path), "--suite", "no-such-suite")
    assert code == 2 and "no-such-suite" in err
