"""Layer-wise probes: a model whose layers are one representation repeated scores the same
on each; every layer of random-cnn is probed from one extraction; weighted-sum weights appear."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from benchmark.analyses.layers import count_layers, layers
from benchmark.record import Record
from benchmark.settings import RunSettings
from benchmark.upstream import Encoded
from models.baselines import LogMel
from tests.support.helpers import Counting, run_cli
from tests.support.tone_task import write_tone_task


class Repeated(torch.nn.Module):
    """Log-mel returned as three identical hidden states."""

    sample_rate, hop_ms = 16000, 10.0

    def __init__(self) -> None:
        super().__init__()
        self.inner = LogMel()

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        out = self.inner(audio, lengths)
        return Encoded([out.hidden_states[0]] * 3, out.lengths)


@pytest.fixture
def tones(tmp_path):
    return write_tone_task(tmp_path / "tones", per_class=6)


def test_repeated_layers_score_the_same_from_one_extraction(tmp_path, tones):
    model = Counting(Repeated())
    assert count_layers(model) == 3
    calls = model.calls
    analysis = layers([model], [str(tones)], RunSettings(results=tmp_path / "r", progress=False), seeds=2,
                      out=tmp_path / "o")
    assert [p.x for p in analysis.points] == [0, 1, 2]
    scores = {p.score for p in analysis.points}
    assert len(scores) == 1
    intervals = {(p.lo, p.hi) for p in analysis.points}
    assert len(intervals) == 1  # the same items predicted the same way: the same paired replicates
    paths = sorted((tmp_path / "r").rglob("seed*.json"))
    assert len(paths) == 6 and {Record.read(p).layer for p in paths} == {0, 1, 2}
    predictions = {}
    for p in paths:
        r = Record.read(p)
        predictions.setdefault(r.seed, []).append(r.outputs(p)["prediction"].tolist())
    assert all(len({tuple(x) for x in preds}) == 1 for preds in predictions.values())
    # count_layers, then one forward per split (train, valid, test: a batch each), not one per layer
    assert model.calls - calls == 1 + 3 and analysis.summary["Counting", "tones"][0] == 0.0


def test_every_layer_of_random_cnn_with_weights(tmp_path, tones, capsys):
    code, _, err = run_cli(capsys, "analyse", "layers", "-m", "random-cnn", "-t", str(tones), "--seeds", "1",
                           "--weighted", "--results", str(tmp_path / "r"), "--out", str(tmp_path / "o"))
    assert code == 0, err
    text = (tmp_path / "o" / "layers.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| random-cnn | tones |")]
    assert [int(line.split("|")[3]) for line in rows] == [0, 1, 2, 3]
    weighted = Record.read(next((tmp_path / "r").rglob("linear-layer_weighted-mean/seed0.json")))
    shown = [float(line.split("|")[9]) for line in rows]
    assert np.allclose(shown, weighted.layer_weights, atol=1e-4) and sum(shown) == pytest.approx(1.0, abs=1e-3)
    assert "learned weight" in (tmp_path / "o" / "layers.svg").read_text()


def test_the_best_layer_of_a_lower_is_better_metric_is_its_lowest(tmp_path):
    """On speaker verification (EER) the summary names the layer with the lowest score."""
    from tests.support.family_tasks import write_sv_task
    task = write_sv_task(tmp_path / "voices", speakers=(6, 4, 4), clips=6, detune=0.25)  # overlapping voices
    analysis = layers(["random-cnn"], [str(task)], RunSettings(protocol="knn", results=tmp_path / "r",
                                                               progress=False), seeds=1, out=tmp_path / "o")
    eers = {int(p.x): p.score for p in analysis.points}
    assert len(set(eers.values())) > 1  # the layers differ, so the choice matters
    best_layer, best_score, _ = analysis.summary["random-cnn", "voices"]
    assert best_score == min(eers.values()) and eers[int(best_layer)] == best_score
