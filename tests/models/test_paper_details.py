"""Each recipe's objective as its paper and official code have it, where it was once wrong:
wav2vec 2.0's feature penalty and distractors (and a tiny recipe that does not collapse), EAT's
loss weights, targets and clipping, HuBERT's k-means sample, BEST-RQ's per-bin normalisation
and relative positions, CLAP on whole clips."""
from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import soundfile as sf
import torch
import torch.nn.functional as F
from tests.support.micro_recipes import audio_batch, micro_recipe, write_audio_folder
from tests.support.objective_recipes import micro6

from models.conformer import RelPositionAttention
from models.data import resolve_data, scan
from models.diagnostics import diagnose
from models.eat import ffn_outputs, ufo_loss
from models.frontends import Frontend, feature_stats_per_bin
from models.paired_data import PairedBatches
from models.recipes import RECIPES, build_objective
from models.trainer import TrainSettings, make_optimizer, pretrain
from models.vit import sincos_1d
from models.wav2vec2 import contrastive_logits


def _files(folder):
    return scan(resolve_data(str(folder))[0])[0]


# ---- wav2vec 2.0 ------------------------------------------------------------------------------
def test_wav2vec2_feature_penalty_is_on_the_conv_output_before_the_layernorm():
    torch.manual_seed(0)
    objective = build_objective(micro6("wav2vec2-tiny"), total_steps=10)
    audio = audio_batch(objective.crop_samples())
    feats, penalty = objective.features(audio)
    raw = objective.encoder.extractor(audio)
    torch.testing.assert_close(penalty, raw.pow(2).mean())
    torch.testing.assert_close(feats, objective.encoder.feature_norm(raw))
    penalty.backward()
    assert objective.encoder.feature_norm.weight.grad is None  # the penalty never reaches the LayerNorm's gain
    conv = objective.encoder.extractor.convs[0].weight
    scaled = conv.grad.clone()
    conv.grad = None
    raw.pow(2).mean().backward()  # the same penalty without fairseq's GradMultiply(0.1)
    torch.testing.assert_close(scaled, 0.1 * conv.grad)


def test_a_collapsed_codebook_scores_the_worst_contrastive_loss_not_zero():
    torch.manual_seed(0)
    k = 10
    context = torch.randn(2, 12, 8)
    collapsed = torch.ones(2, 12, 8)  # every masked frame quantised to the same vector
    logits, same = contrastive_logits(context, collapsed, k, 0.1)
    loss = F.cross_entropy(logits.flatten(0, 1), torch.zeros(24, dtype=torch.long))
    assert same.item() == 1.0 and loss.item() == pytest.approx(math.log(k + 1), rel=1e-5)
    distinct = torch.randn(2, 12, 8)
    logits, same = contrastive_logits(distinct, distinct, k, 0.1)  # a perfect predictor of distinct codes
    assert same.item() == 0.0
    assert F.cross_entropy(logits.flatten(0, 1), torch.zeros(24, dtype=torch.long)).item() < 0.5


def test_wav2vec2_tiny_anneals_its_temperature_over_70_percent_of_the_run():
    objective = build_objective(RECIPES["wav2vec2-tiny"], total_steps=1000)
    assert objective.temperature(0) == 2.0
    assert objective.temperature(690) > 0.5 and objective.temperature(700) == pytest.approx(0.5)
    base = build_objective(dataclasses.replace(micro6("wav2vec2-tiny"), params=RECIPES["wav2vec2-base"].params), 10)
    assert base.temperature(100_000) == pytest.approx(2.0 * 0.999995 ** 100_000)  # the paper's decay per step


@pytest.mark.slow
def test_wav2vec2_tiny_keeps_its_codes_and_spread_over_100_steps():
    recipe = RECIPES["wav2vec2-tiny"]
    torch.manual_seed(0)
    objective = build_objective(recipe, total_steps=100)
    for m in objective.modules():
        if isinstance(m, Frontend):
            m.set_stats(0.0, 1.0)
    optimizer = make_optimizer(objective, recipe.optim)
    audio, probe = audio_batch(objective.crop_samples()), audio_batch(objective.crop_samples(), batch=8, seed=3)
    first = diagnose(objective, probe, 0)
    for step in range(100):
        lr = recipe.optim.lr * min(1.0, (step + 1) / 10)
        for group in optimizer.param_groups:
            group["lr"] = lr
        loss, _ = objective(audio, step)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(objective.parameters(), recipe.optim.clip_grad)
        optimizer.step()
        optimizer.zero_grad()
        objective.after_step(step)
    last = diagnose(objective, probe, 100)
    assert last["codes_used"] >= 0.5 * first["codes_used"], (first, last)
    assert last["dim_std"] >= 0.25 * first["dim_std"] and last["mean_cosine"] < 0.999, (first, last)


# ---- EAT --------------------------------------------------------------------------------------
def test_eat_loss_terms_are_weighted_as_the_official_code():
    g = torch.Generator().manual_seed(0)
    m, v, d, cls_weight = 37, 6, 16, 1.0
    pred, target = torch.randn(m, d, generator=g), torch.randn(m, d, generator=g)
    cls_pred, cls_target = torch.randn(v, d, generator=g), torch.randn(v, d, generator=g)
    frame, utterance = ufo_loss(pred, target, cls_pred, cls_target, cls_weight)
    # EAT's d2v_loss: per-element squared error / sqrt(D); the CLS term times cls_loss x sample_size;
    # fairseq sums every term and divides by sample_size = the number of masked patches
    scale = 1 / math.sqrt(d)
    official = ((pred - target).pow(2) * scale).sum() + ((cls_pred - cls_target).pow(2) * scale).sum() * cls_weight * m
    torch.testing.assert_close(frame + utterance, official / m)
    # so one clip's utterance error weighs as much as a masked patch's, summed over the V clips x clones
    assert utterance.item() == pytest.approx(v * (cls_pred - cls_target).pow(2).sum(-1).mean().item() * scale)


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_eat_targets_are_the_feed_forward_outputs_and_gradients_are_clipped_at_4(norm):
    assert RECIPES["eat-base"].optim.clip_grad == 4.0 and RECIPES["eat-tiny"].optim.clip_grad == 4.0
    assert RECIPES["eat-base"].encoder.norm == RECIPES["eat-tiny"].encoder.norm == "post"  # EAT's blocks
    recipe = micro_recipe("eat-tiny")
    recipe = dataclasses.replace(recipe, encoder=dataclasses.replace(recipe.encoder, norm=norm))
    torch.manual_seed(0)
    vit = build_objective(recipe, 10).encoder.eval()
    feats = torch.randn(2, 64, vit.spec.frontend.n_mels)
    tokens = vit.embed(feats)
    seen = []
    hooks = [b.mlp.register_forward_hook(lambda mod, inp, out: seen.append(out)) for b in vit.transformer.blocks]
    with torch.no_grad():
        vit.block_outputs(tokens)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        outs = ffn_outputs(vit, tokens)
    assert len(outs) == len(seen) == vit.spec.depth
    for mine, hooked in zip(outs, seen):
        torch.testing.assert_close(mine, hooked[:, vit.prefix:])


# ---- HuBERT -----------------------------------------------------------------------------------
def test_hubert_kmeans_is_fitted_on_a_seeded_streamed_sample(tmp_path):
    files = _files(write_audio_folder(tmp_path / "audio"))  # ~7 s of audio
    recipe = micro6("hubert-tiny")
    small = dataclasses.replace(recipe, params=dataclasses.replace(recipe.params, kmeans_crops=4, kmeans_frames=100))
    torch.manual_seed(0)
    a, b = build_objective(small, 10), build_objective(small, 10)
    lines = a.prepare(files, seed=0)
    b.prepare(files, seed=0)
    assert "from 4 random crops" in lines[0] and a.fitted.item() == 1
    assert int(lines[0].split(" fitted on ")[1].split()[0]) >= 100
    assert torch.equal(a.centroids, b.centroids)  # seeded
    assert a.prepare(files, seed=0) == []  # fitted once: a resumed run keeps its labels
    # a corpus shorter than the crops asked for is used whole, and the log says so
    whole = build_objective(recipe, 10)
    line = whole.prepare(files, seed=0)[0]
    assert "the whole corpus" in line
    corpus_frames = sum(1 + (max(n, 512) - 512) // 320  # MFCC frames: 512-point FFT, 320 hop
                        for f in files for n in _piece_lengths(f, whole.config.crop_samples))
    assert int(line.split(" fitted on ")[1].split()[0]) == corpus_frames


def _piece_lengths(f, crop):
    n = int(round(f.frames * 16000 / f.rate))
    return [min(crop, n - i) for i in range(0, n, crop) if n - i >= 400]


def test_hubert_recipes_ask_for_at_least_50k_frames_from_250_crops():
    for name in ("hubert-tiny", "hubert-iter2-tiny", "hubert-base", "hubert-iter2-base"):
        p = RECIPES[name].params
        per_crop = (p.crop_samples - 400) // 320 + 1
        crops = max(p.kmeans_crops, math.ceil(p.kmeans_frames / per_crop))
        assert crops >= 250 and p.kmeans_frames >= 50_000 and crops * per_crop >= 50_000, name


@pytest.mark.slow
def test_hubert_tiny_fits_on_50k_frames_of_a_large_corpus(tmp_path):
    rng = np.random.default_rng(0)
    (tmp_path / "audio").mkdir()
    for i in range(2):  # 2 x 9 min: more than the 506 crops of 2 s the recipe asks for
        sf.write(tmp_path / "audio" / f"long{i}.wav", (0.1 * rng.standard_normal(16000 * 540)).astype(np.float32), 16000)
    objective = build_objective(RECIPES["hubert-tiny"], 10)
    line = objective.prepare(_files(tmp_path / "audio"), seed=0)[0]
    assert "from 506 random crops" in line and int(line.split(" fitted on ")[1].split()[0]) >= 50_000


# ---- BEST-RQ ----------------------------------------------------------------------------------
def test_bestrq_normalises_each_mel_bin_with_the_data_statistics(tmp_path):
    assert RECIPES["bestrq-tiny"].encoder.frontend.per_feature and RECIPES["bestrq-base"].encoder.frontend.per_feature
    recipe = micro6("bestrq-tiny")
    result = pretrain(TrainSettings(recipe=recipe, data=str(write_audio_folder(tmp_path / "audio")),
                                    out=tmp_path / "run", max_steps=1, workers=0, progress=False))
    frontend = result.objective.encoder.frontend
    assert frontend.mean.shape == (recipe.encoder.frontend.n_mels,) and len(set(frontend.std.tolist())) > 1
    clips = audio_batch(frontend.config.samples_for(200), batch=6)
    mean, std = feature_stats_per_bin(frontend, clips)
    raw = frontend.raw(clips).double().flatten(0, 1)
    torch.testing.assert_close(mean.double(), raw.mean(0), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(std.double(), raw.std(0, unbiased=False), rtol=1e-4, atol=1e-4)
    frontend.set_stats(mean, std)
    normed = frontend(clips)[0].flatten(0, 1)
    torch.testing.assert_close(normed.mean(0), torch.zeros(normed.shape[1]), atol=1e-3, rtol=0)
    torch.testing.assert_close(normed.std(0, unbiased=False), torch.ones(normed.shape[1]), atol=1e-3, rtol=0)


def test_conformer_attention_scores_relative_positions_as_transformer_xl():
    torch.manual_seed(0)
    n, d, h = 5, 8, 2
    attn = RelPositionAttention(d, h)
    with torch.no_grad():
        attn.pos_bias_u.normal_()
        attn.pos_bias_v.normal_()
    x = torch.randn(1, n, d)
    keep = torch.tensor([[True, True, True, True, False]])
    with torch.no_grad():
        out = attn(x, keep)
        q, k, v = attn.qkv(x)[0].view(n, 3, h, d // h).unbind(1)  # [n, h, dh]
        expected = torch.zeros(n, h, d // h)
        for i in range(n):
            for head in range(h):
                scores = []
                for j in range(n):
                    r = attn.pos_proj(sincos_1d(torch.tensor([i - j]), d))[0].view(h, d // h)[head]
                    s = (q[i, head] + attn.pos_bias_u[head]) @ k[j, head] + (q[i, head] + attn.pos_bias_v[head]) @ r
                    scores.append(s / math.sqrt(d // h) if keep[0, j] else torch.tensor(float("-inf")))
                expected[i, head] = torch.stack(scores).softmax(0) @ v[:, head]
        torch.testing.assert_close(out[0], attn.proj(expected.reshape(n, d)), rtol=1e-4, atol=1e-5)
        shuffled = attn(x[:, [1, 0, 2, 3, 4]])  # attention alone would permute its outputs with its inputs
        assert not torch.allclose(shuffled[0, [1, 0, 2, 3, 4]], attn(x)[0], atol=1e-4)


# ---- CLAP -------------------------------------------------------------------------------------
def test_clap_tiny_reads_the_whole_8_s_clips_of_mini_retrieval(tmp_path):
    recipe = RECIPES["clap-tiny"]
    objective = build_objective(dataclasses.replace(recipe, encoder=dataclasses.replace(
        recipe.encoder, audio=dataclasses.replace(recipe.encoder.audio, dim=64, depth=1, heads=2))), 10)
    samples = objective.crop_samples()
    assert 8 * 16000 - 160 <= samples <= 8 * 16000 and recipe.params.crop_frames <= recipe.encoder.audio.max_frames
    folder = tmp_path / "clips"
    folder.mkdir()
    for name, seconds in (("short.wav", 3.0), ("whole.wav", 8.0), ("long.wav", 12.0)):
        sf.write(folder / name, np.zeros(int(16000 * seconds), dtype=np.float32), 16000)
    batches = PairedBatches([(folder / n, "a caption") for n in ("short.wav", "whole.wav", "long.wav")], 2,
                            samples, 16000)
    assert batches.clips == 3 and batches.longer == 1
