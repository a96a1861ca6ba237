"""SpectrogramViT's options for converted encoders: post-norm blocks and a CLS frame. Their
defaults leave an encoder's config, fingerprint and outputs as they were."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from benchmark.upstream import fingerprint
from benchmark.upstreams.check import check_upstream
from models.checkpoint import build_encoder
from models.frontends import FrontendConfig
from models.spectrogram_vit import SpectrogramViT, ViTConfig

SMALL = dict(frontend=FrontendConfig(n_mels=32), dim=32, depth=2, heads=2, max_frames=64)


def test_defaults_leave_the_config_as_checkpoints_wrote_it():
    encoder = SpectrogramViT(ViTConfig(**SMALL))
    assert "norm" not in encoder.config and "cls_output" not in encoder.config and not encoder.has_cls
    torch.manual_seed(0)
    again = build_encoder(dict(encoder.config))  # a config written before the options existed
    again.load_state_dict(encoder.state_dict())
    assert fingerprint(again) == fingerprint(encoder)
    assert set(encoder.state_dict()) == set(again.state_dict())
    assert not any("input_norm" in k for k in encoder.state_dict())


def test_options_enter_the_config_and_fingerprint():
    torch.manual_seed(0)
    pre = SpectrogramViT(ViTConfig(**SMALL, frame_output="mean"))
    torch.manual_seed(0)
    cls = SpectrogramViT(ViTConfig(**SMALL, frame_output="mean", cls_output=True))
    cls.load_state_dict(pre.state_dict())
    assert cls.config["cls_output"] is True and fingerprint(cls) != fingerprint(pre)
    post = SpectrogramViT(ViTConfig(**SMALL, norm="post"))
    assert post.config["norm"] == "post" and build_encoder(dict(post.config)).spec.norm == "post"


def test_post_norm_blocks_follow_data2vec_equations():
    torch.manual_seed(1)
    enc = SpectrogramViT(ViTConfig(**SMALL, norm="post")).eval()
    x = torch.randn(2, 5, 32)
    t = enc.transformer
    with torch.no_grad():
        layers = t(x, all_layers=True)
        y = F.layer_norm(x, (32,), t.input_norm.weight, t.input_norm.bias, 1e-6)
        assert torch.allclose(layers[0], y, atol=1e-6)
        for block, ours in zip(t.blocks, layers[1:]):
            y = block.norm1(y + block.attn(y))
            y = block.norm2(y + block.mlp(y))
            assert torch.allclose(ours, y, atol=1e-5)
        first = t.blocks[0].norm1(layers[0] + t.blocks[0].attn(layers[0]))
        assert torch.allclose(t.block_outputs(x)[0], t.blocks[0].mlp(first), atol=1e-5)  # data2vec's FFN targets


def test_cls_frame_comes_first_and_is_the_mean_over_windows():
    torch.manual_seed(2)
    enc = SpectrogramViT(ViTConfig(**SMALL, frame_output="mean", cls_output=True)).eval()
    assert enc.has_cls
    samples = enc.spec.frontend.samples_for(100)  # two windows of 64 frames
    audio = torch.randn(1, samples) * 0.1
    with torch.no_grad():
        out = enc(audio, torch.tensor([samples]))
        feats, _ = enc.frontend(audio)
        feats = enc.pad_frames(feats, 64)
        cls = []
        for w in range(2):
            window = feats[:, 64 * w: 64 * (w + 1)]
            valid = 3 if w else 4  # ceil(36 / 16) patches in the second window
            keep = (torch.arange(4) < valid).repeat_interleave(enc.freq_patches)[None]
            cls.append(enc.encode(enc.embed(window), keep, all_layers=True)[-1][:, 0])
    assert out.lengths.tolist() == [1 + 7]  # CLS + ceil(100 / 16) frames
    assert torch.allclose(out.hidden_states[-1][0, 0], (cls[0][0] + cls[1][0]) / 2, atol=1e-5)
    assert all(r.ok for r in check_upstream(enc)), [r for r in check_upstream(enc) if not r.ok]


def test_cls_output_needs_a_cls_token_and_mean_frames():
    with pytest.raises(ValueError, match="cls_output needs cls_token=True and frame_output='mean'"):
        SpectrogramViT(ViTConfig(**SMALL, cls_output=True))
    with pytest.raises(ValueError, match="norm pre\\|post"):
        SpectrogramViT(ViTConfig(**SMALL, norm="middle"))
