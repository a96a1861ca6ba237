"""`earbench compare`: paired differences over matched seeds/folds, CI, p-values, verdicts."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import t as student_t

from benchmark.errors import EarbenchError
from benchmark.task import SUITES
from tests.support.helpers import run_cli
from leaderboard.compare import compare, sign_flip_p
from leaderboard.records import read_records
from tests.support.records import write_record, write_runs

A = [0.70, 0.74, 0.78, 0.72]
B = [0.60, 0.66, 0.70, 0.61]


def frame(root):
    return read_records(root)[0]


def test_paired_difference_ci_and_p_values(tmp_path):
    write_runs(tmp_path, "a", "kws", A)
    write_runs(tmp_path, "b", "kws", B)
    [c] = compare(frame(tmp_path), "a", "b")
    d = np.array(A) - np.array(B)  # 0.10, 0.08, 0.08, 0.11
    t_stat = d.mean() / (d.std(ddof=1) / 2)
    assert c.n == 4 and c.diff == pytest.approx(0.0925)
    assert c.p == pytest.approx(2 * student_t.sf(t_stat, 3))
    assert c.p_flip == pytest.approx(2 / 16)  # all four differences positive: 2 of 2**4 sign patterns
    assert d.min() <= c.ci[0] < c.diff < c.ci[1] <= d.max()
    assert c.winner == "A" and c.verdict.startswith("a better (accuracy 0.7350 vs 0.6425, diff +0.0925")
    assert "sign-flip test cannot confirm it with 4 runs" in c.verdict


def test_sign_flip_p_by_hand():
    # d = 1, -1, 2: |sum| over the 8 sign patterns is 2, 4, 0, 2, 2, 0, 4, 2; observed 2 -> 6/8
    assert sign_flip_p(np.array([1.0, -1.0, 2.0]), np.random.default_rng(0)) == pytest.approx(0.75)
    assert sign_flip_p(np.zeros(3), np.random.default_rng(0)) == 1.0


def test_only_matched_runs_are_paired(tmp_path):
    for seed, score in zip(range(4), A):
        write_record(tmp_path, "a", "kws", score, seed=seed)
    for seed, score in zip(range(1, 5), B):
        write_record(tmp_path, "b", "kws", score, seed=seed)
    [c] = compare(frame(tmp_path), "a", "b")
    assert c.n == 3  # seeds 1, 2, 3
    assert c.mean_a == pytest.approx(np.mean(A[1:])) and c.mean_b == pytest.approx(np.mean(B[:3]))


def test_folds_are_matched_too(tmp_path):
    for fold, (x, y) in enumerate(zip(A, B)):
        write_record(tmp_path, "a", "esc", x, seed=0, fold=str(fold))
        write_record(tmp_path, "b", "esc", y, seed=0, fold=str(fold))
    assert compare(frame(tmp_path), "a", "b")[0].n == 4


def test_lower_is_better_metric(tmp_path):
    write_runs(tmp_path, "a", "asr", [0.20, 0.22, 0.21, 0.19], metric="wer", family="asr")
    write_runs(tmp_path, "b", "asr", [0.30, 0.33, 0.29, 0.31], metric="wer", family="asr")
    [c] = compare(frame(tmp_path), "a", "b")
    assert c.diff < 0 and c.winner == "A" and c.verdict.startswith("a better (wer")
    [c] = compare(frame(tmp_path), "b", "a")
    assert c.winner == "B" and c.verdict.startswith("a better")


def test_no_difference_and_not_compared(tmp_path):
    write_runs(tmp_path, "a", "kws", [0.70, 0.60, 0.75])
    write_runs(tmp_path, "b", "kws", [0.65, 0.68, 0.70])
    write_record(tmp_path, "a", "only-a", 0.5)
    write_record(tmp_path, "a", "unmatched", 0.5, seed=0)
    write_record(tmp_path, "b", "unmatched", 0.5, seed=7)
    write_record(tmp_path, "a", "one", 0.5)
    write_record(tmp_path, "b", "one", 0.4)
    by_task = {c.task: c for c in compare(frame(tmp_path), "a", "b")}
    assert by_task["kws"].winner is None and by_task["kws"].verdict.startswith("no significant difference")
    assert by_task["only-a"].verdict == "not compared: only a has records"
    assert by_task["unmatched"].verdict == "not compared: no matched seeds/folds (a: seed 0; b: seed 7)"
    one = by_task["one"]
    assert one.p is None and one.winner is None and "run more seeds" in one.verdict


def test_names_resolve_to_entries(tmp_path):
    write_record(tmp_path, "eat", "kws", 0.6, layer="last")
    write_record(tmp_path, "eat", "kws", 0.7, layer="weighted")
    write_record(tmp_path, "logmel", "kws", 0.5)
    with pytest.raises(EarbenchError, match="several entries"):
        compare(frame(tmp_path), "eat", "logmel")
    with pytest.raises(EarbenchError, match="did you mean logmel"):
        compare(frame(tmp_path), "logmell", "eat (linear, layer last, mean)")
    [c] = compare(frame(tmp_path), "eat (linear, layer weighted, mean)", "logmel")
    assert c.diff == pytest.approx(0.2)


def test_compare_cli_with_a_suite(tmp_path, capsys):
    SUITES.register("lb-compare-suite", ["kws", "missing-task"])
    write_runs(tmp_path, "a", "kws", A)
    write_runs(tmp_path, "b", "kws", B)
    write_runs(tmp_path, "a", "outside", A)
    write_runs(tmp_path, "b", "outside", B)
    code, out, _ = run_cli(capsys, "compare", "a", "b", "--results", str(tmp_path), "--suite", "lb-compare-suite")
    lines = out.splitlines()
    assert code == 0 and len(lines) == 3 and "outside" not in out
    assert lines[0].startswith("kws") and "a better" in lines[0]
    assert lines[1].startswith("missing-task") and "not compared: neither has records" in lines[1]
    assert lines[2].startswith("a better on 1, b better on 0, no significant difference on 0 of 1 compared task(s)")


def test_compare_cli_errors_are_one_line(tmp_path, capsys):
    write_record(tmp_path, "a", "kws", 0.5)
    code, _, err = run_cli(capsys, "compare", "a", "zzz", "--results", str(tmp_path))
    assert code == 2 and "no records for 'zzz'" in err
    code, _, err = run_cli(capsys, "compare", "a", "b", "--results", str(tmp_path), "--suite", "no-such-suite")
    assert code == 2 and "no-such-suite" in err
