"""A post-norm Transformer: data2vec 2.0's blocks with `layer_norm_first` false, as EAT uses them.

The tokens are layer-normed once on the way in; each block normalises after each residual
sum (`x = norm1(x + attn(x))`, `x = norm2(x + mlp(x))`), so there is no final norm. The same
interface as `models.vit.Transformer`: hidden states are [normed input, block 1, ..., block
L], and `block_outputs` gives data2vec's targets, which for these blocks are the FFN outputs
before the residual sum and norm (`ffn_targets`).
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models.vit import Attention


class PostNormBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        hidden = int(dim * mlp_ratio)
        self.mlp = nn.Sequential(nn.Linear(dim, hidden), nn.GELU(), nn.Linear(hidden, dim))
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(block output, FFN output before the residual sum)."""
        x = self.norm1(x + self.attn(x, keep))
        ffn = self.mlp(x)
        return self.norm2(x + ffn), ffn


class PostNormTransformer(nn.Module):
    def __init__(self, dim: int, depth: int, heads: int, mlp_ratio: float = 4.0) -> None:
        super().__init__()
        self.input_norm = nn.LayerNorm(dim, eps=1e-6)
        self.blocks = nn.ModuleList(PostNormBlock(dim, heads, mlp_ratio) for _ in range(depth))

    def forward(self, x: torch.Tensor, keep: torch.Tensor | None = None,
                all_layers: bool = False) -> torch.Tensor | list[torch.Tensor]:
        x = self.input_norm(x)
        layers = [x]
        for block in self.blocks:
            x, _ = block(x, keep)
            layers.append(x)
        return layers if all_layers else layers[-1]

    def block_outputs(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> list[torch.Tensor]:
        x = self.input_norm(x)
        outs = []
        for block in self.blocks:
            x, ffn = block(x, keep)
            outs.append(ffn)
        return outs
