"""Conformer blocks (Gulati et al. 2020): local convolution + global attention, macaron FFNs.

    x = x + 1/2 FFN(x);  x = x + MHSA(x);  x = x + Conv(x);  x = x + 1/2 FFN(x);  LayerNorm

Self-attention carries the positions, as the paper's: relative sinusoidal position encoding
(Transformer-XL, Dai et al. 2019): score(i, j) = (q_i + u) . k_j + (q_i + v) . W r_{i-j},
with learned per-head biases u, v and a projection W of sinusoids r of the offset i - j.
Offsets, not absolute positions, so a clip scores the same alone or padded in a batch.

The convolution module is pointwise conv + GLU, a depthwise conv, a norm, Swish and a
pointwise conv. The norm is a LayerNorm over channels rather than the paper's BatchNorm,
so a clip's features never depend on the other clips of its batch (the upstream contract's
batch independence) and tiny batches train. Padded tokens (`keep` False) are zeroed before
the depthwise conv, which is what a clip alone sees past its end.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from models.vit import sincos_1d


class RelPositionAttention(nn.Module):
    """Multi-head self-attention with Transformer-XL relative position scores."""

    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.pos_proj = nn.Linear(dim, dim, bias=False)
        self.pos_bias_u = nn.Parameter(torch.zeros(heads, self.head_dim))
        self.pos_bias_v = nn.Parameter(torch.zeros(heads, self.head_dim))
        nn.init.xavier_uniform_(self.pos_bias_u)
        nn.init.xavier_uniform_(self.pos_bias_v)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)  # [B, H, N, dh]
        offsets = torch.arange(n - 1, -n, -1, device=x.device)  # column c holds offset n - 1 - c
        r = self.pos_proj(sincos_1d(offsets.cpu(), d).to(x.device, x.dtype))
        r = r.view(2 * n - 1, self.heads, self.head_dim).transpose(0, 1)  # [H, 2N-1, dh]
        scores = (q + self.pos_bias_v[:, None].to(q.dtype)) @ r.transpose(-1, -2)[None]  # [B, H, N, 2N-1]
        i = torch.arange(n, device=x.device)
        column = (n - 1) - i[:, None] + i[None, :]  # offset i - j
        bias = scores.gather(-1, column.expand(b, self.heads, n, n)) / math.sqrt(self.head_dim)
        if keep is not None:
            bias = bias.masked_fill(~keep[:, None, None, :], float("-inf"))
        out = F.scaled_dot_product_attention(q + self.pos_bias_u[:, None].to(q.dtype), k, v, attn_mask=bias)
        return self.proj(out.transpose(1, 2).reshape(b, n, d))


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
        self.attn = RelPositionAttention(dim, heads)
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
