"""Chance levels of the calibration report, worked by hand on small test splits."""
from pathlib import Path

import pytest

from tasks.mini.calibration import chance, markdown


def write_test(root: Path, text: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "test.csv").write_text(text)
    return root


def test_accuracy_chance_is_the_majority_class(tmp_path):
    task = write_test(tmp_path / "kws", "path,label\na.wav,yes\nb.wav,yes\nc.wav,no\n")
    assert chance(task, "accuracy") == pytest.approx(2 / 3)


def test_pitch_chance_reads_the_pitch_column(tmp_path):
    task = write_test(tmp_path / "pitch", "path,pitch\na.wav,60\nb.wav,61\nc.wav,62\nd.wav,60\n")
    assert chance(task, "pitch_acc") == pytest.approx(0.5)


def test_map_chance_is_the_expected_ap_of_a_random_ranking(tmp_path):
    # 3 clips. dog (2 positives): rankings put them at ranks {1,2}, {1,3}, {2,3} -> AP 1, 5/6,
    # 7/12, mean 29/36; cat and car (1 positive): ranks 1, 2, 3 -> AP 1, 1/2, 1/3, mean 11/18
    task = write_test(tmp_path / "tags", "path,labels\na.wav,dog\nb.wav,dog;cat\nc.wav,car\n")
    assert chance(task, "mAP") == pytest.approx((29 / 36 + 2 * 11 / 18) / 3)


def test_expected_random_ap_tends_to_the_prevalence():
    from tasks.mini.calibration import expected_random_ap
    assert expected_random_ap(4000, 400) == pytest.approx(0.1, abs=0.002)
    assert expected_random_ap(5, 5) == pytest.approx(1.0)


def test_recall_chance_is_k_over_the_test_clips(tmp_path):
    rows = "".join(f"{c}.wav,caption {i}\n" for i, c in enumerate("aabbccdd"))
    task = write_test(tmp_path / "ret", "path,caption\n" + rows)
    assert chance(task, "r@1") == pytest.approx(1 / 4)
    assert chance(task, "r@10") == 1.0


def test_error_rates_and_detection(tmp_path):
    task = write_test(tmp_path / "x", "path,label\na.wav,x\n")
    assert chance(task, "eer") == 0.5
    assert chance(task, "wer") == 1.0
    assert chance(task, "event_onset_200ms_fms") == 0.0


def test_markdown_has_a_row_per_task():
    import pandas as pd
    text = markdown(pd.DataFrame([{"task": "a", "chance": 0.5}, {"task": "b", "chance": None}]))
    assert text.splitlines() == ["| task | chance |", "|---|---|", "| a | 0.500 |", "| b |  |"]


def test_asr_is_calibrated_with_the_bilstm_and_the_rest_with_linear_probes():
    import pandas as pd
    from tasks.mini.calibration import calibration_records
    records = pd.DataFrame([
        {"task": "mini-asr", "protocol": "linear", "layer": "last", "model": "m"},
        {"task": "mini-asr", "protocol": "bilstm", "layer": "last", "model": "m"},
        {"task": "mini-kws", "protocol": "linear", "layer": "last", "model": "m"},
        {"task": "mini-kws", "protocol": "knn", "layer": "last", "model": "m"},
        {"task": "mini-kws", "protocol": "linear", "layer": "weighted", "model": "m"},
        {"task": "esc50", "protocol": "linear", "layer": "last", "model": "m"},
    ])
    kept = calibration_records(records)
    assert list(zip(kept["task"], kept["protocol"], kept["layer"])) == [
        ("mini-asr", "bilstm", "last"), ("mini-kws", "linear", "last")]
