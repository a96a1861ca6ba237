"""BYOL-A's encoder (AudioNTT2020, Niizumi et al. 2021) and its use as an upstream.

Three blocks of 3x3 conv (64 channels) + BatchNorm + ReLU + 2x2 max-pool, then per time
step the channels x remaining mel bins are flattened and passed through two fully connected
layers (d units, ReLU, dropout 0.3 between them). The clip embedding of the paper is
max + mean over time of the last layer; as an upstream the two FC outputs are the hidden
states, one frame per 8 input frames (80 ms). Frames past a clip's end are zeroed before
every convolution, so an item embeds the same alone or padded in a batch (in eval mode).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from benchmark.upstream import Encoded
from models.config import config_dict
from models.frontends import Frontend, FrontendConfig

BYOLA_FRONTEND = FrontendConfig(kind="logmel", n_mels=64, win_ms=64.0, hop_ms=10.0, n_fft=1024,
                                f_min=60.0, f_max=7800.0)


def batch_norm(channels: int) -> nn.BatchNorm2d:
    """BatchNorm2d whose `num_batches_tracked` counter has shape [1] instead of [] (it is unused
    with a fixed momentum; benchmark.upstream.fingerprint cannot hash 0-dim tensors)."""
    bn = nn.BatchNorm2d(channels)
    bn.num_batches_tracked = torch.zeros(1, dtype=torch.long)
    return bn


@dataclass(frozen=True)
class CNNConfig:
    frontend: FrontendConfig = field(default_factory=lambda: BYOLA_FRONTEND)
    channels: int = 64
    dim: int = 2048
    dropout: float = 0.3


class BYOLACNN(nn.Module):
    kind = "byola-cnn"
    config_class = CNNConfig
    blocks = 3

    def __init__(self, config: CNNConfig) -> None:
        super().__init__()
        c = config
        if c.frontend.n_mels % 8:
            raise ValueError(f"BYOL-A's CNN needs n_mels divisible by 8, got {c.frontend.n_mels}")
        self.spec = c
        self.config = {"kind": self.kind, **config_dict(c)}
        self.frontend = Frontend(c.frontend)
        self.sample_rate = c.frontend.sample_rate
        self.hop_ms = c.frontend.hop_ms * 2 ** self.blocks
        chans = [1] + [c.channels] * self.blocks
        self.convs = nn.ModuleList(
            nn.Sequential(nn.Conv2d(a, b, 3, padding=1), batch_norm(b), nn.ReLU()) for a, b in zip(chans, chans[1:]))
        self.pool = nn.MaxPool2d(2)
        self.fc1 = nn.Linear(c.channels * (c.frontend.n_mels // 8), c.dim)
        self.dropout = nn.Dropout(c.dropout)
        self.fc2 = nn.Linear(c.dim, c.dim)

    @staticmethod
    def mask(x: torch.Tensor, n: torch.Tensor | None) -> torch.Tensor:
        """Zero the time steps at or past `n` (what a clip alone sees as convolution padding)."""
        if n is None:
            return x
        return x * (torch.arange(x.shape[-1], device=x.device) < n[:, None])[:, None, None, :].to(x.dtype)

    def frames(self, x: torch.Tensor, n: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised features [B, T, F] -> the two FC layers' frames [B, T/8, d] each."""
        x = x.transpose(1, 2)[:, None]  # [B, 1, F, T]
        if x.shape[-1] < 8:
            x = nn.functional.pad(x, (0, 8 - x.shape[-1]))
        for conv in self.convs:
            x = self.pool(self.mask(conv(self.mask(x, n)), n))
            n = None if n is None else torch.div(n, 2, rounding_mode="floor")
        x = x.permute(0, 3, 1, 2).flatten(2)  # [B, T', C * F']
        h1 = torch.relu(self.fc1(x))
        h2 = torch.relu(self.fc2(self.dropout(h1)))
        return h1, h2

    def embed(self, feats: torch.Tensor) -> torch.Tensor:
        """BYOL-A's clip embedding of fixed-length features: max + mean over time."""
        _, h = self.frames(feats, None)
        return h.amax(1) + h.mean(1)

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        feats, n = self.frontend(audio, lengths)
        h1, h2 = self.frames(feats, n)
        out = torch.div(n, 8, rounding_mode="floor").clamp_min(1)
        valid = (torch.arange(h1.shape[1], device=n.device)[None, :] < out[:, None])[..., None]
        return Encoded([h1.float() * valid, h2.float() * valid], out)
