"""`earbench convert eat`: an EAT state dict laid out as the authors' code saves it, converted,
loaded through `ckpt:`, equals EAT's own forward re-written from its code."""
from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import save_file

from benchmark import load_upstream
from benchmark.errors import EarbenchError
from benchmark.upstreams.check import check_upstream
from models.checkpoint import CheckpointError
from models.convert.command import MODELS
from models.convert.eat import FRONTEND, MEAN, STD
from models.convert.write import CONVERTERS, convert_file
from models.frontends import Frontend
from tests.models.convert.official import PATCH, eat_fbank, eat_forward, eat_state
from tests.support.helpers import run_cli

DIM, DEPTH, HEADS = 128, 2, 2  # width / 64 heads, as the converter assumes by default


def wave(samples: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(samples) / 16000
    return 0.3 * torch.sin(2 * torch.pi * (300 + 900 * t) * t) + 0.05 * torch.randn(samples, generator=gen)


def samples_for(frames: int) -> int:
    return (frames - 1) * 160 + 400


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eat")
    state = eat_state(DIM, DEPTH)
    save_file(state, str(folder / "EAT-tiny.safetensors"))
    result = convert_file("eat", folder / "EAT-tiny.safetensors", folder / "converted")
    return state, result, folder


def test_every_official_tensor_is_used_once_or_is_the_decoder(converted):
    state, result, _ = converted
    decoder = {k for k in state if k.startswith("modality_encoders.IMAGE.decoder.")}
    assert result.mapped == len(state) - len(decoder)  # each taken at most once (a second take raises)
    assert result.skipped == {"decoder": len(decoder)} and result.layout == "fairseq"
    assert len(decoder) == 6


def test_forward_equals_the_official_forward(converted):
    state, _, folder = converted
    up = load_upstream(f"ckpt:{folder / 'converted'}")
    assert up.has_cls and up.hop_ms == pytest.approx(160.0) and up.sample_rate == 16000
    frames = (64, 32)  # whole patches: the official code pads a partial one with raw zeros, earbench with 0
    waves = [wave(samples_for(f), seed=k) for k, f in enumerate(frames)]
    audio = torch.zeros(2, max(len(w) for w in waves))
    for k, w in enumerate(waves):
        audio[k, : len(w)] = w
    with torch.no_grad():
        out = up(audio, torch.tensor([len(w) for w in waves]))
        assert len(out.hidden_states) == DEPTH + 1
        assert out.lengths.tolist() == [1 + f // PATCH for f in frames]
        for k, (w, f) in enumerate(zip(waves, frames)):
            official = eat_forward(state, w, DEPTH, HEADS)
            for layer, (ours, theirs) in enumerate(zip(out.hidden_states, official)):
                cls, patches = theirs[0, 0], theirs[0, 1:].reshape(f // PATCH, 8, DIM)
                assert torch.allclose(ours[k, 0], cls, atol=1e-4), f"clip {k} layer {layer}: CLS"
                assert torch.allclose(ours[k, 1: 1 + f // PATCH], patches.mean(1), atol=1e-4), f"clip {k} layer {layer}"


def test_frontend_is_the_official_fbank():
    frontend = Frontend(FRONTEND)
    frontend.set_stats(MEAN, STD)
    w = wave(samples_for(100), seed=3)
    ours, _ = frontend(w[None])
    assert torch.allclose(ours[0], eat_fbank(w)[0, 0], atol=1e-4)


def test_hugging_face_layout_converts_to_the_same_encoder(tmp_path, converted):
    fairseq, _, folder = converted
    hf = eat_state(DIM, DEPTH, layout="huggingface")
    save_file(hf, str(tmp_path / "model.safetensors"))
    result = convert_file("eat", tmp_path / "model.safetensors", tmp_path / "out")
    assert result.layout == "huggingface" and result.mapped == len(hf) and result.skipped == {}
    ours = load_upstream(f"ckpt:{tmp_path / 'out'}").state_dict()
    theirs = load_upstream(f"ckpt:{folder / 'converted'}").state_dict()
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)


def test_cli_converts_and_the_result_passes_check(tmp_path, capsys, converted):
    _, _, folder = converted
    code, out, err = run_cli(capsys, "convert", "eat", str(folder / "EAT-tiny.safetensors"), "-o", str(tmp_path / "c"))
    assert code == 0, err
    assert "training-only tensors left out: decoder 6" in out and f"ckpt:{tmp_path / 'c'}" in out
    config = json.loads((tmp_path / "c" / "config.json").read_text())
    assert config["name"] == "eat:EAT-tiny" and config["converted_from"]["layout"] == "fairseq"
    assert config["encoder"]["norm"] == "post" and config["encoder"]["cls_output"] is True
    results = check_upstream(load_upstream(f"ckpt:{tmp_path / 'c'}"))
    assert all(r.ok for r in results), [(r.name, r.detail) for r in results if not r.ok]


def test_unknown_tensors_and_missing_ones_are_refused(tmp_path):
    state = eat_state(DIM, 1) | {"modality_encoders.IMAGE.alibi_bias": torch.zeros(2)}
    save_file(state, str(tmp_path / "odd.safetensors"))
    with pytest.raises(CheckpointError, match="odd.safetensors: 1 tensor.*alibi_bias.*refusing to drop"):
        convert_file("eat", tmp_path / "odd.safetensors", tmp_path / "out")
    state = {k: v for k, v in eat_state(DIM, 1).items() if "extra_tokens" not in k}
    save_file(state, str(tmp_path / "short.safetensors"))
    with pytest.raises(CheckpointError, match="short.safetensors: missing tensor 'extra_tokens'"):
        convert_file("eat", tmp_path / "short.safetensors", tmp_path / "out2")


def test_the_command_names_every_converter(tmp_path):
    assert MODELS == tuple(CONVERTERS)
    with pytest.raises(EarbenchError, match="convert: unknown model 'beats'; known: eat, matpac"):
        convert_file("beats", tmp_path / "x.pt", tmp_path / "out")
