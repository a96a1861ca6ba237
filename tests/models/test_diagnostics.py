"""Collapse diagnostics: the statistics against independent computations, the warning rules,
a deliberately collapsing run that warns, and the plot that shows them."""
from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
import torch
from tests.support.micro_recipes import audio_batch, micro_recipe, write_audio_folder
from tests.support.objective_recipes import micro6

from models.audiomae import AudioMAE
from models.clap import masked_mean
from models.diagnostics import (code_stats, collapse_warnings, diagnose, effective_rank, embedding_stats,
                                label_perplexity, target_entropies)
from models.frontends import Frontend
from models.recipes import OBJECTIVES, build_objective
from models.trainer import TrainSettings, pretrain


def test_embedding_statistics_match_numpy():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 6)) * np.array([3.0, 1.0, 1.0, 0.5, 0.1, 0.01]) + 2.0
    stats = embedding_stats(torch.tensor(x))
    assert stats["dim_std"] == pytest.approx(np.median(x.std(0, ddof=1)))
    s = np.linalg.svd(x - x.mean(0), compute_uv=False)
    p = s / s.sum()
    assert stats["effective_rank"] == pytest.approx(math.exp(-(p * np.log(p)).sum()))
    unit = x / np.linalg.norm(x, axis=1, keepdims=True)
    cos = unit @ unit.T
    assert stats["mean_cosine"] == pytest.approx((cos.sum() - 20) / (20 * 19))
    # one direction of spread -> rank 1; identical rows -> rank 0, cosine 1
    line = torch.arange(10.0)[:, None] * torch.tensor([[1.0, 2.0, 0.0]])
    assert effective_rank(line) == pytest.approx(1.0)
    same = embedding_stats(torch.ones(5, 4))
    assert same["effective_rank"] == 0.0 and same["mean_cosine"] == pytest.approx(1.0) and same["dim_std"] == 0.0


def test_code_label_and_target_statistics():
    codes = torch.tensor([[0, 1], [1, 1], [2, 1], [3, 1]])  # group 0 uses 4 codes evenly, group 1 one code
    stats = code_stats(codes, entries=8)
    assert stats["code_perplexity"] == pytest.approx(4.0 + 1.0) and stats["codes_used"] == pytest.approx(5 / 16)
    assert label_perplexity(torch.tensor([0, 0, 1, 1, 2, 2, 3, 3])) == pytest.approx(4.0)
    uniform = target_entropies(torch.full((6, 10), 0.1))
    assert uniform["teacher_entropy"] == pytest.approx(1.0) and uniform["teacher_mean_entropy"] == pytest.approx(1.0)
    one = target_entropies(torch.eye(10)[[3, 3, 3]])
    assert one["teacher_entropy"] == pytest.approx(0.0, abs=1e-9) and one["teacher_mean_entropy"] == pytest.approx(0.0, abs=1e-9)
    assert torch.allclose(masked_mean(torch.tensor([[[1.0], [3.0], [9.0]]]), torch.tensor([2])), torch.tensor([[2.0]]))


def test_collapse_rules_fire_at_their_thresholds():
    first = {"dim_std": 1.0, "effective_rank": 8.0, "mean_cosine": 0.5}
    assert collapse_warnings(dict(first), first) == []
    rules = [w.split(":")[0] for w in collapse_warnings(
        {"dim_std": 0.04, "effective_rank": 1.5, "mean_cosine": 0.9991, "codes_used": 0.05,
         "teacher_mean_entropy": 0.05, "teacher_entropy": 0.995}, first)]
    assert rules == ["spread", "rank", "identical clips", "codebook", "DINO, one prototype", "DINO, uniform targets"]
    healthy = {"dim_std": 0.06, "effective_rank": 2.5, "mean_cosine": 0.99, "codes_used": 0.2,
               "teacher_mean_entropy": 0.5, "teacher_entropy": 0.9}
    assert collapse_warnings(healthy, first) == []
    # the cosine rule is relative: an encoder whose clips start at 0.999 collapses at 0.9999
    assert collapse_warnings({"mean_cosine": 0.9995}, {"mean_cosine": 0.999}) == []
    assert [w.split(":")[0] for w in collapse_warnings({"mean_cosine": 0.99991}, {"mean_cosine": 0.999})] == \
        ["identical clips"]


class PullTogether(AudioMAE):
    """A deliberately collapsing objective: the clip embeddings' spread across the batch is the loss."""

    def forward(self, audio, step):  # noqa: ANN001, ANN201
        out = self.encoder(audio, torch.full((audio.shape[0],), audio.shape[1]))
        pooled = masked_mean(out.hidden_states[-1], out.lengths)
        return pooled.var(0).sum(), {}


OBJECTIVES.register("pull-together", PullTogether)


@pytest.fixture
def audio_dir(tmp_path):
    return write_audio_folder(tmp_path / "audio")


def test_a_collapsing_run_warns_and_logs_its_diagnostics(audio_dir, tmp_path):
    recipe = dataclasses.replace(micro_recipe("audiomae-tiny", steps=30, lr=1e-2), objective="pull-together")
    result = pretrain(TrainSettings(recipe=recipe, data=str(audio_dir), out=tmp_path / "run", workers=0,
                                    progress=False, diagnose_every=10, save_every=30))
    rules = {w.split(":")[0] for w in result.collapse}
    assert {"spread", "identical clips"} <= rules, result.diagnostics
    log = (tmp_path / "run" / "train.log").read_text()
    assert "warning: collapse at step" in log and "warning: this run collapsed" in log
    rows = [json.loads(line) for line in (tmp_path / "run" / "log.jsonl").read_text().splitlines()]
    diagnosed = [r for r in rows if "diagnostics" in r]
    assert [r["step"] for r in diagnosed] == [0, 10, 20, 30]
    assert {"dim_std", "effective_rank", "mean_cosine"} <= set(diagnosed[0]["diagnostics"])
    assert diagnosed[-1]["diagnostics"]["dim_std"] < 0.05 * diagnosed[0]["diagnostics"]["dim_std"]
    assert any("collapse" in r for r in diagnosed)
    assert (tmp_path / "run" / "loss.png").stat().st_size > 1000


def test_a_healthy_run_does_not_warn(audio_dir, tmp_path):
    result = pretrain(TrainSettings(recipe=micro_recipe("audiomae-tiny", steps=6), data=str(audio_dir),
                                    out=tmp_path / "run", workers=0, progress=False, diagnose_every=3))
    assert result.collapse == [] and [r["step"] for r in result.diagnostics] == [0, 3, 6]


def test_objectives_add_their_own_diagnostics():
    found = {}
    for recipe in (micro_recipe("matpac-tiny"), micro6("wav2vec2-tiny"), micro6("bestrq-tiny"), micro6("hubert-tiny"),
                   micro_recipe("eat-tiny")):
        torch.manual_seed(0)
        objective = build_objective(recipe, 10)
        for m in objective.modules():
            if isinstance(m, Frontend):
                m.set_stats(-5.0, 4.0)
        audio = audio_batch(objective.crop_samples(), batch=6)
        if hasattr(objective, "fitted"):
            objective.fit(objective.target_features(audio))
        found[recipe.name] = diagnose(objective, audio, 0)
    assert 0 < found["matpac-tiny"]["teacher_entropy"] <= 1 and 0 < found["matpac-tiny"]["teacher_mean_entropy"] <= 1
    assert 0 < found["wav2vec2-tiny"]["codes_used"] <= 1 and found["wav2vec2-tiny"]["code_perplexity"] >= 1
    assert found["bestrq-tiny"]["label_perplexity"] >= 1 and 0 < found["bestrq-tiny"]["labels_used"] <= 1
    assert 1 <= found["hubert-tiny"]["label_perplexity"] <= 8  # 8 clusters in the micro recipe
    assert set(found["eat-tiny"]) == {"dim_std", "effective_rank", "mean_cosine"}
