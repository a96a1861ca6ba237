"""Leaderboard aggregation: cells, normalised scores, domains, ranks. Records are written
as plain JSON in tmp dirs and every expected number is worked out here by hand."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

from leaderboard.board import build_from
from leaderboard.direction import direction
from leaderboard.domains import task_domain
from scipy.stats import bootstrap

from benchmark.scoring.bootstrap import N_BOOT, items_digest, rng_for
from tests.support.records import correct_clips, write_record, write_runs

T975 = {2: 4.302652729911275, 3: 3.182446305284263}  # Student t 0.975 quantiles by dof (tables)


def test_a_cell_without_item_outputs_falls_back_to_a_student_t_interval_over_seeds(tmp_path):
    write_runs(tmp_path, "logmel", "kws", [0.60, 0.64, 0.68])
    write_record(tmp_path, "one", "kws", 0.6)
    board = build_from(tmp_path)
    cell = board.cells.loc[("logmel", "kws")]
    half = T975[2] * 0.04 / math.sqrt(3)  # 0.04: sample std of 0.60, 0.64, 0.68
    assert cell["mean"] == pytest.approx(0.64) and cell["n"] == 3 and cell["interval"] == "seeds"
    assert (cell["lo"], cell["hi"]) == pytest.approx((0.64 - half, 0.64 + half))
    assert board.cells.loc[("one", "kws"), "interval"] == "none" and math.isnan(board.cells.loc[("one", "kws"), "lo"])


def test_a_cell_with_item_outputs_has_scipys_bca_interval_over_its_items(tmp_path):
    right = [1] * 30 + [0] * 20
    write_record(tmp_path, "logmel", "kws", 0.6, outputs=correct_clips(right))
    cell = build_from(tmp_path).cells.loc[("logmel", "kws")]
    ref = bootstrap((np.array(right, float),), np.mean, n_resamples=N_BOOT, method="BCa",
                    rng=rng_for(0, "kws", None, items_digest(correct_clips(right)))).confidence_interval
    assert cell["interval"] == "items" and (cell["lo"], cell["hi"]) == pytest.approx((ref.low, ref.high), abs=1e-12)


def test_deterministic_heads_get_an_item_interval_not_zero_width(tmp_path):
    """Three seeds that predict alike (an L-BFGS head on fixed features) used to read ± 0.0000."""
    for seed in range(3):
        write_record(tmp_path, "logmel", "kws", 0.4, seed=seed, outputs=correct_clips([1, 1, 0, 0, 0]))
    cell = build_from(tmp_path).cells.loc[("logmel", "kws")]
    assert cell["interval"] == "items" and cell["lo"] <= 0.2 and cell["hi"] >= 0.6


def test_k_fold_cells_pool_seeds_and_folds(tmp_path):
    scores = {("0", 0): 0.5, ("1", 0): 0.7, ("2", 0): 0.6, ("0", 1): 0.55}
    for (fold, seed), score in scores.items():
        write_record(tmp_path, "logmel", "esc", score, seed=seed, fold=fold)
    cell = build_from(tmp_path).cells.loc[("logmel", "esc")]
    values = np.array(list(scores.values()))
    assert cell["n"] == 4 and cell["mean"] == pytest.approx(values.mean())
    assert cell["hi"] - cell["mean"] == pytest.approx(T975[3] * values.std(ddof=1) / 2)


def test_normalised_score_both_directions_overall_and_domains(tmp_path):
    # accuracy: floor 0.5, ceiling 1.0; wer: floor 0.4, ceiling 0.0; pitch_acc: floor 0.2
    write_record(tmp_path, "logmel", "mini-kws", 0.5)
    write_record(tmp_path, "logmel", "mini-asr", 0.4, metric="wer", family="asr")
    write_record(tmp_path, "logmel", "mini-pitch", 0.2, metric="pitch_acc", family="pitch")
    write_record(tmp_path, "good", "mini-kws", 0.9)
    write_record(tmp_path, "good", "mini-asr", 0.1, metric="wer", family="asr")
    write_record(tmp_path, "good", "mini-pitch", 0.6, metric="pitch_acc", family="pitch")
    board = build_from(tmp_path)
    kws, asr, pitch = 100 * 0.4 / 0.5, 100 * (0.4 - 0.1) / 0.4, 100 * 0.4 / 0.8  # 80, 75, 50
    good = board.entries.loc["good"]
    assert board.cells.loc[("good", "mini-asr"), "normalised"] == pytest.approx(asr)
    assert good["overall"] == pytest.approx((kws + asr + pitch) / 3)
    assert good["speech"] == pytest.approx((kws + asr) / 2) and good["music"] == pytest.approx(pitch)
    assert math.isnan(good["environment"])  # no environment task
    assert board.entries.loc["logmel", "overall"] == 0
    assert list(board.entries.index) == ["good", "logmel"]


def test_a_worse_error_rate_scores_below_the_floor(tmp_path):
    write_record(tmp_path, "logmel", "asr", 0.4, metric="wer", family="asr")
    write_record(tmp_path, "bad", "asr", 0.5, metric="wer", family="asr")
    assert build_from(tmp_path).entries.loc["bad", "overall"] == pytest.approx(-25.0)


def test_known_and_best_ceilings(tmp_path):
    write_record(tmp_path, "logmel", "kws", 0.5)
    write_record(tmp_path, "m", "kws", 0.7)
    assert build_from(tmp_path, known_ceilings={"kws": 0.9}).entries.loc["m", "overall"] == pytest.approx(50.0)
    assert build_from(tmp_path, best_ceiling=True).entries.loc["m", "overall"] == pytest.approx(100.0)


def test_missing_task_is_not_ranked_and_says_so(tmp_path):
    for model, base in (("logmel", 0.5), ("a", 0.8), ("partial", 0.9)):
        write_record(tmp_path, model, "kws", base)
        if model != "partial":
            write_record(tmp_path, model, "scenes", base)
    board = build_from(tmp_path)
    assert math.isnan(board.entries.loc["partial", "overall"])
    assert board.entries["rank"].isna().tolist() == [False, False, True]  # unranked last
    assert any("partial (missing scenes)" in n for n in board.notes)
    assert board.entries.loc["partial", "missing"] == "scenes"


def test_no_floor_means_no_overall_and_a_note(tmp_path):
    write_record(tmp_path, "a", "kws", 0.7)
    board = build_from(tmp_path)
    assert board.entries["rank"].isna().all() and math.isnan(board.entries.loc["a", "overall"])
    assert any("kws: no reference (floor) result" in n for n in board.notes)


def test_rank_intervals_separate_clear_gaps_and_not_close_calls(tmp_path):
    write_runs(tmp_path, "logmel", "kws", [0.50, 0.52, 0.48])
    write_runs(tmp_path, "close-a", "kws", [0.80, 0.70, 0.75])
    write_runs(tmp_path, "close-b", "kws", [0.78, 0.72, 0.74])
    board = build_from(tmp_path)
    e = board.entries
    assert list(e.index[:2]) == ["close-a", "close-b"]  # point means 0.75 > 0.7467
    assert (e.loc["logmel", "rank_lo"], e.loc["logmel", "rank_hi"]) == (3, 3)
    assert e.loc["close-a", "rank_lo"] == 1 and e.loc["close-a", "rank_hi"] == 2
    assert e.loc["close-a", "not_separable_from"] == ["close-b"] and e.loc["logmel", "not_separable_from"] == []
    assert build_from(tmp_path).entries.equals(e)  # fixed bootstrap seed: reproducible


def test_rank_intervals_come_from_the_item_bootstrap(tmp_path):
    """Two entries 2/5 against 0/5 (one run each) are not separable; 45/50 against 5/50 are."""
    write_record(tmp_path, "logmel", "tiny", 0.0, outputs=correct_clips([0, 0, 0, 0, 0]))
    write_record(tmp_path, "random-cnn", "tiny", 0.4, outputs=correct_clips([1, 1, 0, 0, 0]))
    e = build_from(tmp_path).entries
    # in 8% of the replicates ((3/5)**5) random-cnn draws none of its two hits and ties logmel for rank 1
    assert e.loc["random-cnn", "rank"] == 1 and (e.loc["logmel", "rank_lo"], e.loc["logmel", "rank_hi"]) == (1, 2)
    assert e.loc["random-cnn", "not_separable_from"] == ["logmel"]
    write_record(tmp_path, "logmel", "big", 0.1, outputs=correct_clips([1] * 5 + [0] * 45, "b"))
    write_record(tmp_path, "random-cnn", "big", 0.9, outputs=correct_clips([1] * 45 + [0] * 5, "b"))
    e = build_from(tmp_path, tasks=["big"]).entries
    assert (e.loc["random-cnn", "rank_lo"], e.loc["random-cnn", "rank_hi"]) == (1, 1)


def test_single_runs_give_point_rank_intervals(tmp_path):
    for model, score in (("logmel", 0.5), ("a", 0.6), ("b", 0.7)):
        write_record(tmp_path, model, "kws", score)
    e = build_from(tmp_path).entries
    assert [(r.rank, r.rank_lo, r.rank_hi) for r in e.itertuples()] == [(1, 1, 1), (2, 2, 2), (3, 3, 3)]


def test_variants_of_one_model_are_separate_rows(tmp_path):
    write_record(tmp_path, "logmel", "kws", 0.5)
    write_record(tmp_path, "eat", "kws", 0.6, layer="last")
    write_record(tmp_path, "eat", "kws", 0.7, layer="weighted", layer_weights=[0.2, 0.8])
    board = build_from(tmp_path)
    assert set(board.entries.index) == {"logmel", "eat (linear, layer last, mean)", "eat (linear, layer weighted, mean)"}
    assert board.layer_weights == {("eat (linear, layer weighted, mean)", "kws"): [0.2, 0.8]}


def test_entry_facts(tmp_path):
    pre = {"gpu_hours": 12.5, "steps": 400000}
    write_record(tmp_path, "m", "kws", 0.6, seed=0, params=5_400_000, clips_per_s=100.0, pretraining=pre,
                 date="2026-01-01T00:00:00Z")
    write_record(tmp_path, "m", "kws", 0.6, seed=1, params=5_400_000, clips_per_s=300.0, date="2026-03-04T00:00:00Z")
    write_record(tmp_path, "m", "kws", 0.6, seed=2, params=5_400_000, clips_per_s=None)  # cache reuse: no timing
    write_record(tmp_path, "m", "scenes", 0.6, params=5_400_000, clips_per_s=1000.0)
    facts = build_from(tmp_path).entries.loc["m"]
    assert facts["params"] == 5_400_000 and facts["clips_per_s"] == 300.0  # median of 100, 300, 1000
    assert facts["compute"] == "12.5 GPU h, 4e+05 steps" and facts["date"] == "2026-03-04"


def test_layer_weights_average_over_runs(tmp_path):
    write_record(tmp_path, "m", "kws", 0.6, seed=0, layer="weighted", layer_weights=[0.0, 1.0])
    write_record(tmp_path, "m", "kws", 0.6, seed=1, layer="weighted", layer_weights=[0.5, 0.5])
    assert build_from(tmp_path).layer_weights == {("m", "kws"): [0.25, 0.75]}


@pytest.mark.parametrize("name, family, domain", [
    ("mini-kws", "classification", "speech"), ("mini-lid", "classification", "speech"),
    ("mini-speaker", "classification", "speech"), ("mini-sv", "speaker_verification", "speech"),
    ("mini-asr", "asr", "speech"), ("mini-tagging", "tagging", "environment"),
    ("mini-scenes", "classification", "environment"), ("mini-sed", "sed", "environment"),
    ("mini-pitch", "pitch", "music"), ("mini-instrument", "classification", "music"),
    ("mini-retrieval", "retrieval", "environment"), ("gtzan_music_speech-v1.0-full", "classification", "music"),
    ("vox_lingua_top10-hear2021-full", "classification", "speech"), ("esc50-v2.0.0-full", "classification",
                                                                     "environment"),
    ("my-words", "asr", "speech"), ("my-notes", "pitch", "music"), ("my-task", "classification", "environment"),
])
def test_domain_mapping(name, family, domain):
    assert task_domain(name, family) == domain


def test_declared_domain_wins(tmp_path):
    assert task_domain("mini-kws", "classification", declared="music") == "music"
    write_record(tmp_path, "logmel", "birdsong", 0.5)
    path = next(tmp_path.rglob("*.json"))
    record = json.loads(path.read_text())
    record["task"]["domain"] = "music"
    path.write_text(json.dumps(record))
    assert build_from(tmp_path).domains == {"birdsong": "music"}


@pytest.mark.parametrize("metric", ["wer", "cer", "eer", "min_dcf", "segment_1s_er"])
def test_error_rates_are_lower_is_better_and_perfect_at_zero(metric):
    d = direction(metric)
    assert not d.higher_is_better and d.perfect == 0.0 and d.known


def test_unknown_metric_is_flagged(tmp_path):
    write_record(tmp_path, "logmel", "kws", 0.5, metric="plugin_score")
    write_record(tmp_path, "m", "kws", 0.75, metric="plugin_score")
    board = build_from(tmp_path)
    assert board.entries.loc["m", "overall"] == pytest.approx(50.0)
    assert any("'plugin_score' is not registered" in n for n in board.notes)


def test_suite_task_order_and_missing_suite_task(tmp_path):
    write_record(tmp_path, "logmel", "b", 0.5)
    write_record(tmp_path, "logmel", "a", 0.5)
    write_record(tmp_path, "logmel", "outside", 0.5)
    board = build_from(tmp_path, tasks=["b", "a", "c"], suite="s")
    assert board.tasks == ["b", "a", "c"] and "outside" not in board.metrics
    assert any("c: no records (it is in suite 's')" in n for n in board.notes)
