"""A pre-norm Transformer over token sequences, with padding masks and fused attention.

Attention is `scaled_dot_product_attention`: on GPU it dispatches to flash / memory-efficient
kernels (flash when there is no padding, as in pre-training on fixed crops), on CPU to the
math kernel. Padded keys are masked, so a clip's tokens never see another clip's padding.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.heads = heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """`keep` [B, N] is True on real tokens; None means no padding."""
        b, n, d = x.shape
        q, k, v = self.qkv(x).view(b, n, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        mask = None if keep is None else keep[:, None, None, :]
        x = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
        return self.proj(x.transpose(1, 2).reshape(b, n, d))


class Block(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), keep)
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """`depth` blocks and a final LayerNorm; returns every block's output on request."""

    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(Block(dim, heads, mlp_ratio) for _ in range(depth))
        self.norm = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None,
                all_layers: bool = False) -> torch.Tensor | list[torch.Tensor]:
        """The normed top output, or with `all_layers` [input, block 1, ..., block L-1, norm(block L)]."""
        layers = [x]
        for block in self.blocks:
            x = block(x, keep)
            layers.append(x)
        layers[-1] = self.norm(x)
        return layers if all_layers else layers[-1]

    def block_outputs(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Raw (un-normed) outputs of every block: data2vec-style targets average these."""
        outs = []
        for block in self.blocks:
            x = block(x, keep)
            outs.append(x)
        return outs


def init_weights(module: nn.Module) -> None:
    """MAE's initialisation: Xavier-uniform linears, zero biases, unit LayerNorms."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


def sincos_1d(positions: torch.Tensor, dim: int) -> torch.Tensor:
    omega = torch.exp(torch.arange(dim // 2, dtype=torch.float64) * (-math.log(10000.0) / (dim // 2)))
    angles = positions.double()[:, None] * omega[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1).float()


def sincos_2d(freq_patches: int, time_patches: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sin-cos positions (MAE) in time-major order: `[time_patches * freq_patches, dim]`."""
    if dim % 4:
        raise ValueError(f"sin-cos positions need a width divisible by 4, got {dim}")
    t, f = torch.meshgrid(torch.arange(time_patches), torch.arange(freq_patches), indexing="ij")
    return torch.cat([sincos_1d(f.reshape(-1), dim // 2), sincos_1d(t.reshape(-1), dim // 2)], dim=1)


def gather_tokens(x: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """`x` [B, N, D], `index` [B, K] -> [B, K, D]."""
    return torch.gather(x, 1, index[..., None].expand(-1, -1, x.shape[-1]))


def scatter_tokens(base: torch.Tensor, index: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """A copy of `base` [B, N, D] with `values` [B, K, D] written at `index` [B, K]."""
    return base.scatter(1, index[..., None].expand(-1, -1, base.shape[-1]), values.to(base.dtype))
