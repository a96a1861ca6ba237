"""A ViT over 16x16 spectrogram patches: the encoder of EAT, MATPAC and Audio-MAE, and an upstream.

Patches are ordered time-major (token `t * F_p + f`), so the valid patches of a clip are a
prefix and a padding mask is a prefix mask. As an upstream, the patch tokens of one time
step are concatenated over frequency (M2D's and MATPAC's convention) into one frame every
`patch` spectrogram frames (160 ms at a 10 ms hop); clips longer than the pre-training crop
are encoded in consecutive windows of that length, as M2D does, so positions never
extrapolate. Every block's output is a hidden state (the first is the patch embedding, the
last is normed).

Options for encoders converted from their authors' checkpoints (`earbench convert`):
`norm="post"` builds data2vec 2.0's post-norm blocks (EAT's, `models/post_norm.py`), and
`cls_output` puts the CLS token's output first in every hidden state (`has_cls`: `--pooling
cls` reads it, frame tasks leave it out; a clip of several windows gets the mean of theirs).
Such options enter `config` only when set, so the configs and fingerprints of encoders that
leave them at their defaults are those they always had.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import ClassVar

import torch
import torch.nn as nn

from benchmark.upstream import Encoded
from models.config import config_dict
from models.frontends import Frontend, FrontendConfig
from models.post_norm import PostNormTransformer
from models.vit import Transformer, init_weights, sincos_2d


@dataclass(frozen=True)
class ViTConfig:
    frontend: FrontendConfig = field(default_factory=FrontendConfig)
    dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    patch: int = 16
    positions: str = "sincos"  # or "learned"
    cls_token: bool = True
    max_frames: int = 608  # the pre-training crop; longer inputs are encoded window by window
    frame_output: str = "concat"  # patch tokens of a time step -> one frame: concat | mean
    norm: str = "pre"  # pre-norm blocks and a final norm (MAE, M2D), or post: data2vec 2.0's (EAT)
    cls_output: bool = False  # the CLS token's output as frame 0 of every hidden state (has_cls)

    #: options added after checkpoints were first written, at their defaults: left out of `config`
    LATER_DEFAULTS: ClassVar[dict] = {"norm": "pre", "cls_output": False}


class SpectrogramViT(nn.Module):
    kind = "spectrogram-vit"
    config_class = ViTConfig

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        c = config
        if c.frontend.n_mels % c.patch or c.max_frames % c.patch:
            raise ValueError(f"n_mels ({c.frontend.n_mels}) and max_frames ({c.max_frames}) must be "
                             f"multiples of the patch size {c.patch}")
        if c.positions not in ("sincos", "learned") or c.frame_output not in ("concat", "mean") \
                or c.norm not in ("pre", "post"):
            raise ValueError(f"positions must be sincos|learned, frame_output concat|mean and norm pre|post, "
                             f"got {c.positions!r}, {c.frame_output!r}, {c.norm!r}")
        if c.cls_output and not (c.cls_token and c.frame_output == "mean"):
            raise ValueError("cls_output needs cls_token=True and frame_output='mean' (a CLS frame is one "
                             "token wide, a concat frame one per frequency patch)")
        self.spec = c
        self.config = {"kind": self.kind, **config_dict(c)}
        self.has_cls = c.cls_output
        self.frontend = Frontend(c.frontend)
        self.sample_rate = c.frontend.sample_rate
        self.hop_ms = c.frontend.hop_ms * c.patch
        self.freq_patches = c.frontend.n_mels // c.patch
        self.max_time_patches = c.max_frames // c.patch
        self.dim = c.dim
        self.patch_embed = nn.Conv2d(1, c.dim, c.patch, stride=c.patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, c.dim)) if c.cls_token else None
        table = sincos_2d(self.freq_patches, self.max_time_patches, c.dim)
        if c.positions == "learned":
            self.pos = nn.Parameter(table.clone())
        else:
            self.register_buffer("pos", table, persistent=False)
        blocks = Transformer if c.norm == "pre" else PostNormTransformer
        self.transformer = blocks(c.dim, c.depth, c.heads, c.mlp_ratio)
        init_weights(self)
        w = self.patch_embed.weight
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))
        if self.cls is not None:
            nn.init.normal_(self.cls, std=0.02)

    @property
    def frame_dim(self) -> int:
        return self.dim * (self.freq_patches if self.spec.frame_output == "concat" else 1)

    def embed(self, feats: torch.Tensor) -> torch.Tensor:
        """Features [B, T, F] (T a multiple of the patch) -> patch tokens with positions [B, T/p * F/p, D]."""
        x = self.patch_embed(feats.transpose(1, 2)[:, None])  # [B, D, Fp, Tp]
        x = x.permute(0, 3, 2, 1).flatten(1, 2)
        return x + self.pos[: x.shape[1]].to(x.dtype)

    def encode(self, tokens: torch.Tensor, keep: torch.Tensor | None = None,
               all_layers: bool = False) -> torch.Tensor | list[torch.Tensor]:
        """Run the Transformer on (a subset of) patch tokens; outputs keep the CLS token first if any."""
        if self.cls is not None:
            tokens = torch.cat([self.cls.expand(tokens.shape[0], -1, -1).to(tokens.dtype), tokens], 1)
            if keep is not None:
                keep = torch.cat([keep.new_ones(keep.shape[0], 1), keep], 1)
        return self.transformer(tokens, keep, all_layers)

    def block_outputs(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """Raw outputs of every block at the patch positions (data2vec-style targets)."""
        if self.cls is not None:
            tokens = torch.cat([self.cls.expand(tokens.shape[0], -1, -1).to(tokens.dtype), tokens], 1)
        return [h[:, self.prefix:] for h in self.transformer.block_outputs(tokens)]

    @property
    def prefix(self) -> int:
        """Number of leading non-patch tokens in `encode`'s output."""
        return 0 if self.cls is None else 1

    def pad_frames(self, feats: torch.Tensor, multiple: int) -> torch.Tensor:
        extra = -feats.shape[1] % multiple
        return nn.functional.pad(feats, (0, 0, 0, extra)) if extra else feats

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        feats, n = self.frontend(audio, lengths)
        p, fp, window = self.spec.patch, self.freq_patches, self.spec.max_frames
        batch = feats.shape[0]
        windows = max(1, math.ceil(feats.shape[1] / window))
        feats = self.pad_frames(feats, window if windows > 1 else p)
        width = feats.shape[1] // windows  # frames per window
        feats = feats.reshape(batch * windows, width, feats.shape[2])
        starts = torch.arange(windows, device=n.device) * window
        frames = (n[:, None] - starts[None, :]).clamp(0, width).reshape(-1)  # valid frames per window
        used = (frames > 0).nonzero().squeeze(1)
        time_patches = width // p
        patch_len = torch.div(frames[used] + p - 1, p, rounding_mode="floor")
        keep = (torch.arange(time_patches, device=n.device)[None, :] < patch_len[:, None])
        layers = self.encode(self.embed(feats[used]), keep.repeat_interleave(fp, dim=1), all_layers=True)
        out_lengths = torch.div(n + p - 1, p, rounding_mode="floor")
        total = int(out_lengths.max())
        valid = (torch.arange(total, device=n.device)[None, :] < out_lengths[:, None])[..., None]
        used_windows = (frames > 0).reshape(batch, windows, 1).float()
        states = []
        for layer in layers:
            h = layer[:, self.prefix:].float().reshape(len(used), time_patches, fp, self.dim)
            h = h.flatten(2) if self.spec.frame_output == "concat" else h.mean(2)
            full = h.new_zeros(batch * windows, time_patches, h.shape[-1]).index_copy(0, used, h)
            state = full.reshape(batch, windows * time_patches, -1)[:, :total] * valid
            if self.has_cls:  # the mean over the clip's windows
                cls = h.new_zeros(batch * windows, self.dim).index_copy(0, used, layer[:, 0].float())
                cls = (cls.reshape(batch, windows, -1) * used_windows).sum(1) / used_windows.sum(1)
                state = torch.cat([cls[:, None], state], 1)
            states.append(state)
        return Encoded(states, out_lengths + int(self.has_cls))
