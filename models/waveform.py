"""A waveform encoder: wav2vec 2.0's strided 1-D conv feature encoder (20 ms hop at 16 kHz),
a projection, a convolutional relative position embedding, and a context network of
Transformer, Conformer or bidirectional-Mamba blocks. The encoder of wav2vec 2.0 and HuBERT here.

The conv stack is wav2vec 2.0's (kernels 10,3,3,3,3,2,2, strides 5,2,2,2,2,2,2: 400-sample
receptive field, 320-sample hop) in its "layer_norm" variant (a LayerNorm over channels
after each conv, as wav2vec 2.0 Large and HuBERT Large) rather than the Base model's
GroupNorm over time, which would make a clip's features depend on the padding of its batch.
Convolutions are unpadded, so a frame counted valid sees only its own clip's samples.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from benchmark.upstream import Encoded
from models.config import config_dict
from models.conformer import Conformer
from models.ssm import SSMStack
from models.vit import Transformer, init_weights

W2V2_CHANNELS = (512,) * 7
W2V2_KERNELS = (10, 3, 3, 3, 3, 2, 2)
W2V2_STRIDES = (5, 2, 2, 2, 2, 2, 2)


@dataclass(frozen=True)
class WaveConfig:
    sample_rate: int = 16000
    conv_channels: tuple[int, ...] = W2V2_CHANNELS
    conv_kernels: tuple[int, ...] = W2V2_KERNELS
    conv_strides: tuple[int, ...] = W2V2_STRIDES
    dim: int = 768
    depth: int = 12
    heads: int = 12
    mlp_ratio: float = 4.0
    context: str = "transformer"  # transformer | conformer | ssm
    conformer_kernel: int = 31
    ssm_state: int = 16
    pos_conv: int = 129  # odd (wav2vec 2.0: 128 with one frame trimmed)
    pos_groups: int = 16


def make_context(kind: str, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0, conformer_kernel: int = 31,
                 ssm_state: int = 16) -> nn.Module:
    """A stack with `forward(x, keep, all_layers)`: transformer | conformer | ssm."""
    if kind == "transformer":
        return Transformer(dim, depth, heads, mlp_ratio)
    if kind == "conformer":
        return Conformer(dim, depth, heads, mlp_ratio, conformer_kernel)
    if kind == "ssm":
        return SSMStack(dim, depth, ssm_state, mlp_ratio=mlp_ratio)
    raise ValueError(f"unknown context network {kind!r}; expected transformer, conformer or ssm")


class WaveformStats(nn.Module):
    """What the trainer's feature statistics read for a waveform encoder: the raw samples
    (logged only; a waveform encoder has no spectrogram to normalise)."""

    def raw(self, audio: torch.Tensor, lengths: torch.Tensor | None = None) -> torch.Tensor:
        return audio.float()[..., None]


class ConvFeatures(nn.Module):
    def __init__(self, c: WaveConfig) -> None:
        super().__init__()
        if not len(c.conv_channels) == len(c.conv_kernels) == len(c.conv_strides):
            raise ValueError("conv_channels, conv_kernels and conv_strides must have the same length")
        self.convs = nn.ModuleList()
        self.norms = nn.ModuleList()
        previous = 1
        for ch, k, s in zip(c.conv_channels, c.conv_kernels, c.conv_strides):
            self.convs.append(nn.Conv1d(previous, ch, k, stride=s, bias=False))
            self.norms.append(nn.LayerNorm(ch))
            previous = ch
        for conv in self.convs:
            nn.init.kaiming_normal_(conv.weight)
        self.kernels, self.strides = tuple(c.conv_kernels), tuple(c.conv_strides)

    @property
    def receptive_field(self) -> int:
        field, jump = 1, 1
        for k, s in zip(self.kernels, self.strides):
            field += (k - 1) * jump
            jump *= s
        return field

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        n = lengths.clamp_min(self.receptive_field)
        for k, s in zip(self.kernels, self.strides):
            n = torch.div(n - k, s, rounding_mode="floor") + 1
        return n

    def forward(self, audio: torch.Tensor) -> torch.Tensor:
        """[B, N] -> [B, T, C], in float32."""
        x = audio.float()
        if x.shape[-1] < self.receptive_field:
            x = nn.functional.pad(x, (0, self.receptive_field - x.shape[-1]))
        x = x[:, None]
        for conv, norm in zip(self.convs, self.norms):
            x = conv(x)
            x = nn.functional.gelu(norm(x.transpose(1, 2)).transpose(1, 2))
        return x.transpose(1, 2)


class WaveformEncoder(nn.Module):
    kind = "waveform"
    config_class = WaveConfig

    def __init__(self, config: WaveConfig) -> None:
        super().__init__()
        c = config
        if c.pos_conv % 2 == 0:
            raise ValueError(f"pos_conv must be odd, got {c.pos_conv}")
        self.spec = c
        self.config = {"kind": self.kind, **config_dict(c)}
        self.sample_rate = c.sample_rate
        hop = 1
        for s in c.conv_strides:
            hop *= s
        self.hop_ms = 1000.0 * hop / c.sample_rate
        self.dim = c.dim
        self.frontend = WaveformStats()
        self.extractor = ConvFeatures(c)
        self.feature_norm = nn.LayerNorm(c.conv_channels[-1])
        self.proj = nn.Linear(c.conv_channels[-1], c.dim)
        self.pos_conv = nn.Conv1d(c.dim, c.dim, c.pos_conv, padding=c.pos_conv // 2, groups=c.pos_groups)
        self.pos_norm = nn.LayerNorm(c.dim, eps=1e-6)
        self.context_net = make_context(c.context, c.dim, c.depth, c.heads, c.mlp_ratio, c.conformer_kernel,
                                        c.ssm_state)
        if c.context != "ssm":
            init_weights(self.context_net)
        nn.init.normal_(self.pos_conv.weight, std=(4 / (c.pos_conv * c.dim)) ** 0.5)
        nn.init.zeros_(self.pos_conv.bias)

    @property
    def feature_dim(self) -> int:
        return self.spec.conv_channels[-1]

    def frames(self, lengths: torch.Tensor) -> torch.Tensor:
        return self.extractor.frames(lengths)

    def features(self, audio: torch.Tensor) -> torch.Tensor:
        """Conv features, layer-normed: [B, T, C] (the input of the quantiser in wav2vec 2.0)."""
        return self.feature_norm(self.extractor(audio))

    def project(self, features: torch.Tensor) -> torch.Tensor:
        return self.proj(features)

    def context(self, x: torch.Tensor, keep: torch.Tensor | None = None,
                all_layers: bool = False) -> torch.Tensor | list[torch.Tensor]:
        """Projected frames [B, T, D] (masked or not) -> context network output(s)."""
        if keep is not None:
            x = x * keep[..., None].to(x.dtype)
        pos = self.pos_conv(x.transpose(1, 2)).transpose(1, 2)
        x = self.pos_norm(x + nn.functional.gelu(pos))
        return self.context_net(x, keep, all_layers)

    def forward(self, audio: torch.Tensor, lengths: torch.Tensor) -> Encoded:
        n = self.frames(lengths.to(audio.device))
        x = self.project(self.features(audio))
        n = n.clamp(max=x.shape[1]).clamp_min(1)
        keep = torch.arange(x.shape[1], device=x.device)[None, :] < n[:, None]
        layers = self.context(x, keep, all_layers=True)
        states = [(h.float() * keep[..., None]) for h in layers]
        return Encoded(states, n)
