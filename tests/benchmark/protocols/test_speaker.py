"""Speaker verification: cosine scoring without training, AM-softmax projection, bad trials."""
import pytest

from benchmark import evaluate
from benchmark.errors import ProtocolError
from tests.support.family_tasks import write_sv_task


@pytest.fixture(scope="module")
def sv_task(tmp_path_factory):
    return write_sv_task(tmp_path_factory.mktemp("sv") / "voices")


def test_cosine_scoring_separates_voices(sv_task):
    (record,) = evaluate("logmel", [sv_task], protocol="knn", progress=False)
    assert record["metrics"]["eer"] <= 0.2 and 0 <= record["metrics"]["min_dcf"] <= 1
    assert record["protocol"]["chosen"]["scoring"] == "cosine"


def test_am_softmax_projection_is_trained_on_train_speakers(sv_task):
    (record,) = evaluate("logmel", [sv_task], protocol="linear", options={"max_epochs": 100, "patience": 20},
                         progress=False)
    chosen = record["protocol"]["chosen"]
    assert chosen["loss"] == "am-softmax" and chosen["train_speakers"] == 8 and chosen["margin"] == 0.2
    assert record["metrics"]["eer"] <= 0.3 and "valid_eer" in chosen


def test_trials_naming_files_outside_the_test_split_are_refused(sv_task, tmp_path):
    import shutil
    task = shutil.copytree(sv_task, tmp_path / "bad")
    trials = (task / "trials.csv").read_text().splitlines()
    train_file = (task / "train.csv").read_text().splitlines()[1].split(",")[0]
    trials[1] = f"{train_file},{trials[1].split(',')[1]},0"
    (task / "trials.csv").write_text("\n".join(trials) + "\n")
    with pytest.raises(ProtocolError, match=r"trial list names 1 enroll file\(s\) that are not in the test split"):
        evaluate("logmel", [task], protocol="knn", progress=False)


def test_the_documented_layout_without_test_csv_takes_the_test_split_from_the_trials(sv_task, tmp_path):
    """train.csv, valid.csv and trials.csv: the test clips are those the trials name; the same
    trials score as with the test.csv that lists them (speakers are then each clip's own)."""
    import shutil
    task = shutil.copytree(sv_task, tmp_path / "no-test-csv")
    (task / "test.csv").unlink()
    (with_csv,) = evaluate("logmel", [sv_task], protocol="knn", progress=False)
    (from_trials,) = evaluate("logmel", [task], protocol="knn", progress=False)
    assert from_trials["metrics"] == with_csv["metrics"]
    named = {p for line in (task / "trials.csv").read_text().splitlines()[1:] for p in line.split(",")[:2]}
    assert from_trials["task"]["n"]["test"] == len(named) == with_csv["task"]["n"]["test"]


def test_pair_cosines_from_the_gram_matrix_equal_those_gathered_pair_by_pair(monkeypatch):
    import numpy as np
    import pandas as pd
    import torch
    import torch.nn.functional as F
    from benchmark.protocols import speaker
    z = F.normalize(torch.randn(3, 50, 16, generator=torch.Generator().manual_seed(0)), dim=-1)
    a, b, _ = speaker.valid_pairs(pd.Series([i % 7 for i in range(50)]))
    expected = np.einsum("gpd,gpd->gp", z[:, a].numpy(), z[:, b].numpy())
    assert np.allclose(speaker.pair_cosines(z, a, b), expected, atol=1e-6)  # one Gram matrix per point
    monkeypatch.setattr(speaker, "GRAM_FLOATS", 100)  # too small for a Gram matrix: gathered in chunks
    assert np.allclose(speaker.pair_cosines(z, a, b), expected, atol=1e-6)
