"""Masks, quantisers and k-means behave as specified; HuBERT's two iterations; the scan is exact."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from tests.support.micro_recipes import audio_batch, write_audio_folder
from tests.support.objective_recipes import micro6

from models.checkpoint import load_encoder, save_encoder
from models.kmeans import assign, kmeans
from models.quantizer import GumbelQuantizer, RandomProjectionQuantizer, gumbel_temperature
from models.recipes import build_objective
from models.spans import masked_index, span_mask
from benchmark.heads.padding import reverse_prefix
from models.ssm import selective_scan
from models.trainer import TrainSettings, pretrain


def _runs(row: torch.Tensor) -> list[int]:
    runs, n = [], 0
    for v in row.tolist() + [False]:
        if v:
            n += 1
        elif n:
            runs.append(n)
            n = 0
    return runs


def test_span_masks_are_spans_seeded_and_equal_in_count():
    g = torch.Generator().manual_seed(0)
    raw = span_mask(8, 200, 0.65, 10, same_count=False, generator=g)
    assert all(min(_runs(row)) >= 10 for row in raw)  # unions of whole 10-frame spans
    fraction = raw.float().mean().item()
    assert 0.35 < fraction < 0.65  # overlaps make it less than p = 0.65
    a = span_mask(8, 200, 0.65, 10, generator=torch.Generator().manual_seed(1))
    b = span_mask(8, 200, 0.65, 10, generator=torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and len(set(a.sum(1).tolist())) == 1
    index = masked_index(a)
    assert index.shape == (8, int(a[0].sum())) and bool(a.gather(1, index).all())
    assert not torch.equal(a, span_mask(8, 200, 0.65, 10, generator=torch.Generator().manual_seed(2)))


def test_gumbel_quantiser_uses_its_codebook_and_diversity_spreads_it():
    torch.manual_seed(0)
    q = GumbelQuantizer(16, groups=2, entries=32, dim_out=8)
    x = torch.randn(512, 16)
    out, diversity, codes = q(x, temperature=2.0)
    assert out.shape == (512, 8) and codes.shape == (512, 2) and 0 <= diversity.item() < 1
    assert q.usage(x) > 0.5  # most of the 64 codewords are picked at initialisation
    # a collapsed quantiser (one dominant entry) has high diversity loss; minimising it restores usage
    with torch.no_grad():
        q.logits.bias.zero_()
        q.logits.weight.mul_(0.1)
        q.logits.bias[::32] = 20.0
    collapsed = q.usage(x)
    optimizer = torch.optim.Adam(q.parameters(), lr=0.05)
    for _ in range(100):
        _, diversity, _ = q(x, temperature=2.0)
        optimizer.zero_grad()
        diversity.backward()
        optimizer.step()
    assert collapsed < 0.1 and q.usage(x) > 0.5 and diversity.item() < 0.5
    assert gumbel_temperature(0) == 2.0 and gumbel_temperature(10 ** 7) == 0.5
    q.eval()
    assert torch.equal(q(x, 1.0)[0], q(x, 1.0)[0])  # hard argmax codes in eval mode


def test_random_projection_quantiser_is_frozen_seeded_and_spread():
    a, b = RandomProjectionQuantizer(40, 16, 256, seed=3), RandomProjectionQuantizer(40, 16, 256, seed=3)
    assert not list(a.parameters()) and set(dict(a.named_buffers())) == {"projection", "codebook"}
    x = torch.randn(4000, 40)
    assert torch.equal(a(x), b(x))
    assert len(torch.unique(a(x))) > 100  # labels spread over the codebook
    assert torch.allclose(a.codebook.norm(dim=1), torch.ones(256))


def test_kmeans_is_seeded_and_recovers_separated_clusters():
    g = torch.Generator().manual_seed(0)
    centres = torch.randn(5, 8, generator=g) * 20
    x = torch.cat([c + torch.randn(100, 8, generator=g) for c in centres])
    truth = torch.arange(5).repeat_interleave(100)
    c1, c2 = kmeans(x, 5, seed=7), kmeans(x, 5, seed=7)
    labels = assign(x, c1)
    assert torch.equal(labels, assign(x, c2))
    for k in range(5):  # every true cluster maps to one label (purity 1)
        assert len(torch.unique(labels[truth == k])) == 1
    assert len(torch.unique(labels)) == 5
    many = kmeans(torch.randn(300, 4, generator=g), 40, iterations=5, seed=0)
    assert len(torch.unique(assign(torch.randn(300, 4, generator=torch.Generator().manual_seed(0)), many))) >= 30


def test_hubert_labels_are_fitted_once_and_stable(tmp_path):
    torch.manual_seed(0)
    objective = build_objective(micro6("hubert-tiny"), total_steps=10)
    audio = audio_batch(objective.crop_samples())
    assert objective.fitted.item() == 0
    with pytest.raises(RuntimeError, match="prepare"):
        objective(audio, 0)  # never fitted on a training batch behind the caller's back
    objective.fit(objective.target_features(audio))
    objective(audio, 0)
    assert objective.fitted.item() == 1
    centroids = objective.centroids.clone()
    frames = objective.encoder.frames(torch.tensor([audio.shape[1]])).item()
    first = objective.labels(audio, frames)
    objective(audio_batch(objective.crop_samples(), seed=5), 1)
    assert torch.equal(objective.centroids, centroids)  # not refitted
    assert torch.equal(objective.labels(audio, frames), first)
    assert len(torch.unique(first)) > 1
    torch.manual_seed(0)
    again = build_objective(micro6("hubert-tiny"), total_steps=10)
    again.fit(again.target_features(audio))
    assert torch.equal(again.labels(audio, frames), first)  # the same seed gives the same k-means


def test_hubert_iteration_two_clusters_the_iteration_one_model(tmp_path):
    torch.manual_seed(0)
    first = build_objective(micro6("hubert-tiny"), total_steps=10)
    save_encoder(tmp_path / "iter1", first.encoder, {"step": 1})
    recipe = micro6("hubert-iter2-tiny")
    recipe = dataclasses.replace(recipe, params=dataclasses.replace(recipe.params, target_encoder=str(tmp_path / "iter1"),
                                                                    target_layer=1, clusters=8))
    second = build_objective(recipe, total_steps=10)
    assert second.centroids.shape == (8, 64)  # k-means over the iteration-1 encoder's 64-d layer
    second.fit(second.target_features(audio_batch(second.crop_samples())))
    loss, _ = second(audio_batch(second.crop_samples()), 0)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is None for p in second.target.parameters())


def test_selective_scan_matches_the_recurrence_and_reverse_prefix():
    g = torch.Generator().manual_seed(0)
    b, length, d, n = 2, 45, 5, 3
    x, dt = torch.randn(b, length, d, generator=g), torch.rand(b, length, d, generator=g)
    A = -torch.rand(d, n, generator=g) * 3
    B, C, D = torch.randn(b, length, n, generator=g), torch.randn(b, length, n, generator=g), torch.randn(d, generator=g)
    h, ys = torch.zeros(b, d, n), []
    for t in range(length):
        h = torch.exp(dt[:, t, :, None] * A) * h + (dt[:, t] * x[:, t])[..., None] * B[:, t, None, :]
        ys.append((h * C[:, t, None, :]).sum(-1) + x[:, t] * D)
    torch.testing.assert_close(selective_scan(x, dt, A, B, C, D), torch.stack(ys, 1), atol=1e-4, rtol=1e-4)
    seq = torch.arange(6.0).view(1, 6, 1).repeat(2, 1, 1)
    flipped = reverse_prefix(seq, torch.tensor([6, 4]))
    assert flipped[0, :, 0].tolist() == [5, 4, 3, 2, 1, 0] and flipped[1, :, 0].tolist() == [3, 2, 1, 0, 4, 5]


def test_pretrain_runs_the_new_recipes_end_to_end(tmp_path):
    data = write_audio_folder(tmp_path / "audio")
    for name in ("wav2vec2-tiny", "bestrq-tiny"):
        result = pretrain(TrainSettings(recipe=micro6(name, steps=2), data=str(data), out=tmp_path / name,
                                        workers=0, progress=False))
        assert result.step == 2 and result.checkpoint is not None
        encoder = load_encoder(result.out)
        out = encoder(audio_batch(8000, batch=1), torch.tensor([8000]))
        assert len(out.hidden_states) == 3
