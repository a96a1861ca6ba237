"""CLAP-style audio-text: shapes of the shared space, learning to match pairs, captions from
tagging labels, pre-training through the trainer and reloading the text tower via `ckpt:`."""
from __future__ import annotations

import dataclasses

import soundfile as sf
import torch
from tests.support.micro_recipes import write_audio_folder
from tests.support.objective_recipes import CAPTIONS, micro6, write_caption_task

from benchmark.upstream import load_upstream
from models.paired_data import PairedBatches, find_pairs_folder, label_caption, read_pairs
from models.recipes import build_objective
from models.trainer import TrainSettings, make_optimizer, pretrain


def _clap(pairs: str, lr: float = 1e-3, steps: int = 50):
    recipe = micro6("clap-tiny", steps=steps, lr=lr)
    recipe = dataclasses.replace(recipe, params=dataclasses.replace(recipe.params, pairs=pairs))
    torch.manual_seed(0)
    objective = build_objective(recipe, total_steps=steps)
    for m in objective.modules():
        if hasattr(m, "set_stats"):
            m.set_stats(-8.0, 4.0)
    return recipe, objective


def test_embed_text_and_embed_audio_share_a_normalised_space(tmp_path):
    _, objective = _clap(str(tmp_path))
    model = objective.encoder.eval()
    with torch.no_grad():
        t = model.embed_text(["a dog barks", "rain", "ünïcode ok"])
        a = model.embed_audio(torch.randn(2, 16000) * 0.1, torch.tensor([16000, 9000]))
    assert t.shape == (3, 32) and a.shape == (2, 32)
    assert torch.allclose(t.norm(dim=1), torch.ones(3), atol=1e-5)
    assert torch.allclose(a.norm(dim=1), torch.ones(2), atol=1e-5)


def test_matching_pairs_score_above_mismatched_after_a_few_steps(tmp_path):
    task = write_caption_task(tmp_path / "task")
    recipe, objective = _clap(str(task), lr=1e-3, steps=40)
    optimizer = make_optimizer(objective, recipe.optim)
    clips = torch.stack([torch.from_numpy(sf.read(task / f"audio/{c}_0.wav", dtype="float32")[0])
                         for c in range(len(CAPTIONS))])

    def margin() -> float:
        model = objective.encoder.eval()
        with torch.no_grad():
            sim = model.embed_audio(clips) @ model.embed_text(list(CAPTIONS)).T
        objective.train()
        diagonal = sim.diag().mean()
        return float(diagonal - (sim.sum() - sim.diag().sum()) / (sim.numel() - len(sim)))

    before = margin()
    torch.manual_seed(0)
    for step in range(40):
        loss, _ = objective(torch.zeros(8, objective.crop_samples()), step)  # pairs come from the task
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    after = margin()
    assert after > 0.05 and after > before, (before, after)


def test_tagging_labels_become_captions(tmp_path):
    task = write_caption_task(tmp_path / "tags", column="labels")
    pairs = read_pairs(find_pairs_folder(str(task)))
    assert pairs[0][1] == "the sound of hum, tone"
    assert label_caption("dog_bark;rain") == "the sound of dog bark, rain"
    batches = PairedBatches(pairs, 3, 8000, 16000, seed=1)
    audio, captions = batches[5]
    audio2, captions2 = batches[5]
    assert audio.shape == (3, 8000) and len(captions) == 3
    assert torch.equal(audio, audio2) and captions == captions2  # a pure function of (seed, index)


def test_clap_pretrains_through_the_trainer_and_reloads_with_its_text_tower(tmp_path):
    task = write_caption_task(tmp_path / "task")
    recipe, _ = _clap(str(task), steps=2)
    result = pretrain(TrainSettings(recipe=recipe, data=str(write_audio_folder(tmp_path / "audio")),
                                    out=tmp_path / "run", workers=0, progress=False))
    assert result.step == 2
    upstream = load_upstream(f"ckpt:{result.out}")
    with torch.no_grad():
        t = upstream.embed_text(["a whistle"])
        expected = result.objective.encoder.cpu().eval().embed_text(["a whistle"])
    torch.testing.assert_close(t, expected)


def test_clap_trains_on_the_captions_of_its_data_by_path_or_by_name(tmp_path, monkeypatch):
    """`earbench pretrain --recipe clap-tiny --data mini-tagging`: a --data with captions (or tagging
    labels) becomes the recipe's pairs; a --data without captions leaves params.pairs alone."""
    import json

    from models.checkpoint import TRAIN_CONFIG
    from models.trainer import pairs_from_data
    tags = write_caption_task(tmp_path / "tags", column="labels")
    recipe, _ = _clap("somewhere-else", steps=2)
    result = pretrain(TrainSettings(recipe=recipe, data=str(tags), out=tmp_path / "run", workers=0, progress=False))
    stored = json.loads((result.checkpoint / TRAIN_CONFIG).read_text())["recipe"]
    assert result.step == 2 and stored["params"]["pairs"] == str(tags)
    assert "caption pairs from --data" in (tmp_path / "run" / "train.log").read_text()
    # by name: a folder task built under $EARBENCH_HOME, the mini suite's size first
    home = tmp_path / "home"
    for size in ("tiny", "small"):
        write_caption_task(home / "data" / "mini" / size / "mini-tags", column="labels")
    monkeypatch.setenv("EARBENCH_HOME", str(home))
    monkeypatch.setenv("EARBENCH_MINI_SIZE", "small")
    assert pairs_from_data(recipe, "mini-tags").params.pairs == str(home / "data" / "mini" / "small" / "mini-tags")
    plain = write_audio_folder(tmp_path / "plain")  # audio without captions: statistics only
    assert pairs_from_data(recipe, str(plain)).params.pairs == "somewhere-else"
    assert pairs_from_data(recipe, "no-such-thing").params.pairs == "somewhere-else"
