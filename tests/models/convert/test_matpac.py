"""`earbench convert matpac`: a matpac_wrapper state dict, saved as the authors save it (a
PyTorch state dict), converted, loaded through `ckpt:`, equals MATPAC's own forward_precise
re-written from its code, windows and the last partial patch included."""
from __future__ import annotations

import pytest
import torch

from benchmark import load_upstream
from benchmark.upstreams.check import check_upstream
from models.convert.matpac import FRONTEND, MEAN, STD
from models.convert.write import convert_file
from models.frontends import Frontend
from tests.models.convert.official import matpac_forward, matpac_logmel, matpac_state

DIM, DEPTH, HEADS, N_T = 128, 2, 2, 64  # a 64-frame window (4 time patches) so that clips span several


def wave(samples: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    t = torch.arange(samples) / 16000
    return 0.3 * torch.sin(2 * torch.pi * (200 + 700 * t) * t) + 0.05 * torch.randn(samples, generator=gen)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    folder = tmp_path_factory.mktemp("matpac")
    state = matpac_state(DIM, DEPTH, n_t=N_T)
    torch.save(state, folder / "matpac_tiny.pt")
    result = convert_file("matpac", folder / "matpac_tiny.pt", folder / "converted")
    return state, result, folder / "converted"


def test_every_official_tensor_is_used_once(converted):
    state, result, _ = converted
    assert result.mapped == len(state) and result.skipped == {}


def test_training_parts_are_left_out_by_name(tmp_path):
    state = matpac_state(DIM, 1, n_t=N_T, training=True)
    torch.save(state, tmp_path / "full.pt")
    result = convert_file("matpac", tmp_path / "full.pt", tmp_path / "out")
    assert result.skipped == {"decoder": 2, "cls_student_head": 1, "head_norm": 1}
    assert result.mapped == len(state) - 4


def test_forward_equals_the_official_forward(converted):
    state, _, folder = converted
    up = load_upstream(f"ckpt:{folder}")
    assert not getattr(up, "has_cls", False) and up.hop_ms == pytest.approx(160.0)
    # 150 frames: three windows of 64, 64 and 22 frames, the last patch partial
    waves = [wave(149 * 160 + 400, seed=0), wave(40 * 160 + 400, seed=1)]
    audio = torch.zeros(2, len(waves[0]))
    for k, w in enumerate(waves):
        audio[k, : len(w)] = w
    with torch.no_grad():
        out = up(audio, torch.tensor([len(w) for w in waves]))
        assert len(out.hidden_states) == DEPTH + 1  # the patch embedding, then each block
        assert out.lengths.tolist() == [10, 3]
        for k, w in enumerate(waves):
            official = matpac_forward(state, w, DEPTH, HEADS, n_t=N_T)
            for layer, theirs in enumerate(official, start=1):
                n = theirs.shape[1]
                assert n == out.lengths[k]
                assert torch.allclose(out.hidden_states[layer][k, :n], theirs[0], atol=1e-4), f"clip {k} layer {layer}"


def test_frontend_is_the_official_logmel():
    frontend = Frontend(FRONTEND)
    frontend.set_stats(MEAN, STD)
    w = wave(30 * 160 + 400, seed=2)
    ours, _ = frontend(w[None])
    assert torch.allclose(ours[0], matpac_logmel(w)[0].T, atol=1e-4)


def test_converted_encoder_passes_check(converted):
    _, _, folder = converted
    results = check_upstream(load_upstream(f"ckpt:{folder}"))
    assert all(r.ok for r in results), [(r.name, r.detail) for r in results if not r.ok]
