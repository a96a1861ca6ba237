"""Clip heads end to end: classification, tagging and pitch under every frozen protocol."""
import json

import numpy as np
import pytest
import torch

from benchmark import evaluate
from benchmark.upstream import Encoded
from tests.support.tone_task import write_tone_task
from tests.support.family_tasks import write_pitch_task, write_tagging_task
from models.baselines import LogMel

FAST = {"max_epochs": 200, "patience": 20}  # bounds the heads trained with Adam (attention pooling)


@pytest.fixture(scope="module")
def tasks(tmp_path_factory):
    root = tmp_path_factory.mktemp("clip")
    return {"classification": write_tone_task(root / "tones", per_class=12),
            "tagging": write_tagging_task(root / "tags"),
            "pitch": write_pitch_task(root / "pitch")}


@pytest.mark.parametrize("protocol", ["linear", "mlp", "knn"])
@pytest.mark.parametrize("family,floor", [("classification", 0.8), ("tagging", 0.8), ("pitch", 0.6)])
def test_every_frozen_protocol_learns_every_clip_family(tasks, family, protocol, floor):
    options = {"hidden": 64} if protocol == "mlp" else {}
    (record,) = evaluate("logmel", [tasks[family]], protocol=protocol, options=options, progress=False)
    assert record["metrics"][record["main_metric"]] >= floor, record
    assert set(record["metrics"]) == set({"classification": ["accuracy", "macro_f1"], "tagging": ["mAP", "roc_auc", "d_prime"],
                                          "pitch": ["pitch_acc", "chroma_acc"]}[family])
    assert record["protocol"]["options"] == options and record["protocol"]["train_fraction"] == 1.0
    chosen = record["protocol"]["chosen"]
    if protocol == "knn":
        assert chosen["k"] in (1, 3, 5, 10, 20, 50)
    elif protocol == "linear":
        assert chosen["solver"] == "lbfgs" and {"weight_decay", "iterations", "valid_score"} <= set(chosen)
    else:
        assert {"lr", "epochs", "valid_score"} <= set(chosen)
    if protocol == "mlp":
        assert record["protocol"]["chosen"]["hidden_layers"] in (1, 2)
        assert record["protocol"]["chosen"]["dropout"] == 0.1


def test_weighted_layers_report_the_learned_weights(tasks):
    (record,) = evaluate("random-cnn", [tasks["classification"]], layer="weighted", options=FAST, progress=False)
    weights = record["protocol"]["chosen"]["layer_weights"]
    assert record["protocol"]["layer"] == "weighted"
    assert len(weights) == 4 and sum(weights) == pytest.approx(1.0, abs=1e-3)
    assert record["metrics"]["accuracy"] >= 0.8


def test_query_by_example_needs_no_training_and_reports_map(tasks):
    (record,) = evaluate("logmel", [tasks["classification"]], protocol="qbe", progress=False)
    assert record["main_metric"] == "mAP" and record["metrics"]["mAP"] > 0.7
    assert record["protocol"]["chosen"]["queries"] == record["task"]["n"]["test"]


def test_train_fraction_trains_on_fewer_items_and_is_recorded(tasks, tmp_path):
    full = evaluate("logmel", [tasks["classification"]], options=FAST, results=tmp_path, progress=False)[0]
    part = evaluate("logmel", [tasks["classification"]], options=FAST, train_fraction=0.25, results=tmp_path,
                    progress=False)[0]
    assert part["protocol"]["train_fraction"] == 0.25
    assert 3 <= part["task"]["n"]["train"] <= full["task"]["n"]["train"] // 2  # at least one item per class
    paths = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("seed*.json"))
    assert len(paths) == 2 and any("frac_0.25" in p for p in paths)
    again = evaluate("logmel", [tasks["classification"]], options=FAST, train_fraction=0.25, results=tmp_path,
                     progress=False)[0]
    assert again == json.loads(next(p for p in tmp_path.rglob("*frac_0.25*/*.json")).read_text())


def test_attention_pooling_is_learned_over_frames(tasks):
    (record,) = evaluate("logmel", [tasks["classification"]], pooling="attention", options=FAST, progress=False)
    assert record["protocol"]["pooling"] == "attention" and record["metrics"]["accuracy"] >= 0.8


class WithCLS(torch.nn.Module):
    """Log-mel frames behind a 'CLS' frame holding the clip's mean (the first frame)."""

    sample_rate, hop_ms, has_cls = 16000, 10.0, True

    def __init__(self) -> None:
        super().__init__()
        self.inner = LogMel()

    def forward(self, audio, lengths):
        out = self.inner(audio, lengths)
        h, n = out.hidden_states[0], out.lengths
        mask = (torch.arange(h.shape[1])[None, :] < n[:, None])[..., None]
        cls = (h * mask).sum(1, keepdim=True) / n[:, None, None]
        return Encoded([torch.cat([cls, h], dim=1)], n + 1)


def test_cls_pooling_reads_the_first_frame(tasks):
    mean = evaluate("logmel", [tasks["classification"]], options=FAST, progress=False)[0]
    cls = evaluate(WithCLS(), [tasks["classification"]], pooling="cls", options=FAST, progress=False)[0]
    assert cls["metrics"] == pytest.approx(mean["metrics"], abs=0.12)
    assert np.isfinite(cls["metrics"]["accuracy"])
