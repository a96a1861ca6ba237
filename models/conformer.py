"""Conformer blocks (Gulati et al. 2020): local convolution + global attention, macaron FFNs.

    x = x + 1/2 FFN(x);  x = x + MHSA(x);  x = x + Conv(x);  x = x + 1/2 FFN(x);  LayerNorm

The convolution module is pointwise conv + GLU, a depthwise conv, a norm, Swish and a
pointwise conv. The norm is a LayerNorm over channels rather than the paper's BatchNorm,
so a clip's features never depend on the other clips of its batch (the upstream contract's
batch independence) and tiny batches train. Padded tokens (`keep` False) are zeroed before
the depthwise conv, which is what a clip alone sees past its end.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models.vit import Attention


class FeedForward(nn.Sequential):
    def __init__(self, dim: int, mult: float = 4.0) -> None:
        hidden = int(dim * mult)
        super().__init__(nn.LayerNorm(dim, eps=1e-6), nn.Linear(dim, hidden), nn.SiLU(), nn.Linear(hidden, dim))


class ConvModule(nn.Module):
    def __init__(self, dim: int, kernel: int = 31) -> None:
        super().__init__()
        if kernel % 2 == 0:
            raise ValueError(f"the depthwise kernel must be odd, got {kernel}")
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pointwise_in = nn.Linear(dim, 2 * dim)
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding=kernel // 2, groups=dim)
        self.mid_norm = nn.LayerNorm(dim, eps=1e-6)
        self.pointwise_out = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        x = nn.functional.glu(self.pointwise_in(self.norm(x)), dim=-1)
        if keep is not None:
            x = x * keep[..., None].to(x.dtype)
        x = self.depthwise(x.transpose(1, 2)).transpose(1, 2)
        return self.pointwise_out(nn.functional.silu(self.mid_norm(x)))


class ConformerBlock(nn.Module):
    def __init__(self, dim: int, heads: int, ff_mult: float = 4.0, kernel: int = 31) -> None:
        super().__init__()
        self.ff1 = FeedForward(dim, ff_mult)
        self.attn_norm = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.conv = ConvModule(dim, kernel)
        self.ff2 = FeedForward(dim, ff_mult)
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        x = x + 0.5 * self.ff1(x)
        x = x + self.attn(self.attn_norm(x), keep)
        x = x + self.conv(x, keep)
        x = x + 0.5 * self.ff2(x)
        return self.norm(x)


class Conformer(nn.Module):
    """Drop-in for `models.vit.Transformer` (`forward(x, keep, all_layers)`, `block_outputs`)."""

    def __init__(self, dim: int, depth: int, heads: int, ff_mult: float = 4.0, kernel: int = 31) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(ConformerBlock(dim, heads, ff_mult, kernel) for _ in range(depth))

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None,
                all_layers: bool = False) -> torch.Tensor | list[torch.Tensor]:
        layers = [x, *self.block_outputs(x, keep)]
        return layers if all_layers else layers[-1]

    def block_outputs(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> list[torch.Tensor]:
        outs = []
        for block in self.blocks:
            x = block(x, keep)
            outs.append(x)
        return outs
