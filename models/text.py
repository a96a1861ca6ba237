"""A small text encoder trained from scratch: UTF-8 bytes -> Transformer -> the CLS output.

Bytes need no vocabulary file (nothing to download, any language) and captions are short.
Text is lower-cased and stripped; at most `max_tokens - 1` bytes are kept after the CLS token.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from models.vit import Transformer, init_weights

CLS, PAD = 256, 257


@dataclass(frozen=True)
class TextConfig:
    dim: int = 128
    depth: int = 2
    heads: int = 4
    mlp_ratio: float = 4.0
    max_tokens: int = 96


def tokenize(texts: list[str], max_tokens: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Token ids [B, L] (CLS first, PAD after the end) and a keep mask [B, L]."""
    rows = [[CLS, *list(t.lower().strip().encode("utf-8"))[: max_tokens - 1]] for t in texts]
    width = max(len(r) for r in rows) if rows else 1
    ids = torch.full((len(rows), width), PAD, dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, : len(r)] = torch.tensor(r)
    return ids, ids != PAD


class TextEncoder(nn.Module):
    def __init__(self, config: TextConfig) -> None:
        super().__init__()
        self.spec = config
        self.dim = config.dim
        self.tokens = nn.Embedding(PAD + 1, config.dim)
        self.pos = nn.Parameter(torch.zeros(config.max_tokens, config.dim))
        self.transformer = Transformer(config.dim, config.depth, config.heads, config.mlp_ratio)
        init_weights(self)
        nn.init.normal_(self.tokens.weight, std=0.02)
        nn.init.normal_(self.pos, std=0.02)

    def forward(self, texts: list[str]) -> torch.Tensor:
        """Texts -> [B, dim] (the normed CLS output)."""
        device = self.pos.device
        ids, keep = tokenize(texts, self.spec.max_tokens)
        ids, keep = ids.to(device), keep.to(device)
        x = self.tokens(ids) + self.pos[: ids.shape[1]]
        return self.transformer(x, keep)[:, 0]
