"""Each objective learns, and each encoder honours the upstream contract."""
from __future__ import annotations

import dataclasses

import pytest
import torch
from tests.support.micro_recipes import OBJECTIVE_RECIPES, audio_batch, micro_recipe

from benchmark.upstreams.check import check_upstream
from models.frontends import Frontend
from models.recipes import RECIPES, build_objective, recipe_from_dict, recipe_to_dict
from models.trainer import make_optimizer


def _set_stats(objective, mean: float = -8.0, std: float = 4.0) -> None:
    for m in objective.modules():
        if isinstance(m, Frontend):
            m.set_stats(mean, std)


@pytest.mark.parametrize("name", OBJECTIVE_RECIPES)
def test_one_step_reduces_the_loss_on_a_repeated_batch(name):
    recipe = micro_recipe(name, lr=2e-3)
    torch.manual_seed(0)
    objective = build_objective(recipe, total_steps=100)
    _set_stats(objective)
    optimizer = make_optimizer(objective, recipe.optim)
    audio = audio_batch(objective.crop_samples())
    losses = []
    for step in range(2):
        torch.manual_seed(123)  # the same masks / augmentations both times
        loss, parts = objective(audio, 0)
        assert torch.isfinite(loss) and all(torch.isfinite(v) for v in parts.values())
        losses.append(loss.item())
        if step == 0:
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
            objective.after_step(0)
    assert losses[1] < losses[0], f"{name}: loss {losses[0]:.4f} -> {losses[1]:.4f}"


@pytest.mark.parametrize("name", OBJECTIVE_RECIPES)
def test_gradients_reach_every_trainable_parameter(name):
    """DDP (find_unused_parameters=False) needs a gradient for every trainable parameter."""
    recipe = micro_recipe(name)
    torch.manual_seed(0)
    objective = build_objective(recipe, total_steps=10)
    loss, _ = objective(audio_batch(objective.crop_samples()), 0)
    loss.backward()
    missing = [n for n, p in objective.named_parameters() if p.requires_grad and p.grad is None]
    assert not missing
    assert all(not p.requires_grad for n, p in objective.named_parameters() if "teacher" in n)


@pytest.mark.parametrize("name", OBJECTIVE_RECIPES)
def test_a_step_under_bf16_autocast_is_finite(name):
    """The CUDA path runs under bf16 autocast; CPU autocast exercises the same dtype handling."""
    recipe = micro_recipe(name)
    torch.manual_seed(0)
    objective = build_objective(recipe, total_steps=10)
    _set_stats(objective)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss, parts = objective(audio_batch(objective.crop_samples()), 0)
    loss.backward()
    assert torch.isfinite(loss) and all(torch.isfinite(p.grad).all() for p in objective.parameters() if p.grad is not None)
    with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16):
        out = objective.encoder.eval()(audio_batch(20000, batch=2), torch.tensor([20000, 9000]))
    assert all(h.dtype == torch.float32 and torch.isfinite(h).all() for h in out.hidden_states)


def test_learned_positions_train_and_pass_the_check():
    recipe = micro_recipe("audiomae-tiny")
    recipe = dataclasses.replace(recipe, encoder=dataclasses.replace(recipe.encoder, positions="learned"))
    torch.manual_seed(0)
    objective = build_objective(recipe, total_steps=10)
    loss, _ = objective(audio_batch(objective.crop_samples()), 0)
    loss.backward()
    assert objective.encoder.pos.grad is not None and objective.encoder.pos.grad.abs().sum() > 0
    failed = [r.name for r in check_upstream(objective.encoder.eval()) if not r.ok]
    assert not failed


@pytest.mark.parametrize("name", OBJECTIVE_RECIPES)
def test_encoders_pass_the_upstream_check(name):
    torch.manual_seed(0)
    objective = build_objective(micro_recipe(name), total_steps=10)
    _set_stats(objective)
    encoder = objective.encoder.eval()
    failed = [f"{r.name}: {r.detail}" for r in check_upstream(encoder) if not r.ok]
    assert not failed, failed


@pytest.mark.parametrize("name", ["eat-tiny", "matpac-tiny", "audiomae-tiny", "byola-tiny"])
def test_tiny_recipe_encoders_pass_the_upstream_check(name):
    torch.manual_seed(0)
    encoder = build_objective(RECIPES[name], total_steps=10).encoder.eval()
    failed = [f"{r.name}: {r.detail}" for r in check_upstream(encoder) if not r.ok]
    assert not failed, failed


def test_long_inputs_are_encoded_window_by_window_and_stay_batch_independent():
    """Clips longer than the pre-training crop are split into crop-long windows (no position
    extrapolation); an item embeds the same alone as padded in a batch."""
    torch.manual_seed(0)
    encoder = build_objective(micro_recipe("matpac-tiny"), total_steps=10).encoder.eval()  # windows of 64 frames
    lengths = torch.tensor([16000 * 2, 7000, 16000])  # 198, 42 and 98 frames
    audio = audio_batch(int(lengths.max()), batch=3)
    for b, n in enumerate(lengths.tolist()):
        audio[b, n:] = 0.0
    with torch.no_grad():
        out = encoder(audio, lengths)
        assert out.lengths.tolist() == [13, 3, 7]  # ceil(frames / 16)
        assert all(h.shape == (3, 13, 64 * 5) for h in out.hidden_states)
        assert len(out.hidden_states) == 3  # patch embedding + 2 blocks
        for b, n in enumerate(lengths.tolist()):
            alone = encoder(audio[b: b + 1, :n], lengths[b: b + 1])
            m = int(out.lengths[b])
            for h_batch, h_alone in zip(out.hidden_states, alone.hidden_states):
                torch.testing.assert_close(h_batch[b, :m], h_alone[0, :m], atol=1e-4, rtol=1e-4)
                assert not h_batch[b, m:].any()  # padding frames are zero
        # the first window of a long clip is what the encoder gives for that window alone
        first = encoder(audio[:1, : 63 * 160 + 400], torch.tensor([63 * 160 + 400]))
        torch.testing.assert_close(out.hidden_states[-1][0, :4], first.hidden_states[-1][0, :4], atol=1e-4, rtol=1e-4)


def test_recipes_round_trip_through_json_and_have_papers_settings():
    for recipe in RECIPES.values():
        assert recipe_from_dict(recipe_to_dict(recipe)) == recipe
    eat, matpac, mae = RECIPES["eat-base"], RECIPES["matpac-base"], RECIPES["audiomae-base"]
    assert (eat.encoder.dim, eat.encoder.depth, eat.encoder.heads) == (768, 12, 12)
    assert eat.params.mask_ratio == 0.8 and eat.params.clones == 16 and eat.encoder.frontend.kind == "kaldi"
    assert matpac.params.mask_ratio == 0.7 and matpac.params.alpha == 0.5 and matpac.params.classes == 2048
    assert matpac.encoder.frontend.n_mels == 80 and matpac.encoder.max_frames == 608
    assert mae.params.mask_ratio == 0.8
    tiny = [RECIPES[n].encoder for n in ("eat-tiny", "matpac-tiny", "audiomae-tiny")]
    assert len({(e.dim, e.depth, e.heads) for e in tiny}) == 1  # comparable costs
    with pytest.raises(ValueError, match="unknown key"):
        recipe_from_dict({**recipe_to_dict(eat), "colour": "blue"})
