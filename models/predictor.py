"""A mask-token Transformer decoder: the MAE decoder and the M2D / MATPAC predictor.

It takes the student's outputs for the visible patches (plus its CLS token, if any), puts a
shared learnable mask token at every masked position, adds its own 2-D positions, runs a
narrow Transformer and returns a projection of the masked positions only.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from models.vit import Transformer, gather_tokens, init_weights, scatter_tokens, sincos_2d


class MaskTokenDecoder(nn.Module):
    def __init__(self, dim_in: int, dim: int, depth: int, heads: int, dim_out: int,
                 freq_patches: int, max_time_patches: int, prefix: int) -> None:
        super().__init__()
        self.prefix = prefix
        self.embed = nn.Linear(dim_in, dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.register_buffer("pos", sincos_2d(freq_patches, max_time_patches, dim), persistent=False)
        self.transformer = Transformer(dim, depth, heads)
        self.out = nn.Linear(dim, dim_out)
        init_weights(self)
        nn.init.normal_(self.mask_token, std=0.02)

    def forward(self, encoded: torch.Tensor, visible: torch.Tensor, masked: torch.Tensor) -> torch.Tensor:
        """`encoded` [B, prefix + V, D_in]; `visible` [B, V] and `masked` [B, M] patch indices -> [B, M, D_out]."""
        x = self.embed(encoded)
        tokens = visible.shape[1] + masked.shape[1]
        grid = self.mask_token.to(x.dtype).expand(x.shape[0], tokens, -1)
        grid = scatter_tokens(grid, visible, x[:, self.prefix:]) + self.pos[:tokens].to(x.dtype)
        y = self.transformer(torch.cat([x[:, : self.prefix], grid], 1))
        return self.out(gather_tokens(y[:, self.prefix:], masked))
