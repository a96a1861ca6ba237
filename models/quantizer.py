"""Quantisers that make discrete targets: wav2vec 2.0's Gumbel product quantiser (learned)
and BEST-RQ's frozen random-projection quantiser.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def gumbel_temperature(step: int, start: float = 2.0, end: float = 0.5, decay: float = 0.999995) -> float:
    """wav2vec 2.0: `max(start * decay ** step, end)`."""
    return max(start * decay ** step, end)


class GumbelQuantizer(nn.Module):
    """G codebooks of V entries; each frame picks one entry per codebook with a straight-through
    Gumbel softmax (hard one-hot forward, soft gradients) and the picks are concatenated.

    Returns the quantised vectors `[..., dim_out]`, the diversity loss `(GV - perplexity) / GV`
    where the perplexity is that of the batch-averaged softmax (no Gumbel noise) per codebook,
    and the hard code indices `[..., G]`.
    """

    def __init__(self, dim_in: int, groups: int = 2, entries: int = 320, dim_out: int = 256) -> None:
        super().__init__()
        if dim_out % groups:
            raise ValueError(f"dim_out {dim_out} is not divisible by {groups} groups")
        self.groups, self.entries = groups, entries
        self.logits = nn.Linear(dim_in, groups * entries)
        nn.init.normal_(self.logits.weight, std=1.0)
        nn.init.zeros_(self.logits.bias)
        self.codebook = nn.Parameter(torch.rand(groups * entries, dim_out // groups))  # fairseq: uniform init

    def forward(self, x: torch.Tensor, temperature: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        shape = x.shape[:-1]
        logits = self.logits(x.float()).view(-1, self.groups, self.entries)
        probs = logits.softmax(-1).mean(0)  # [G, V]
        perplexity = torch.exp(-(probs * torch.log(probs + 1e-7)).sum(-1)).sum()
        diversity = (self.groups * self.entries - perplexity) / (self.groups * self.entries)
        codes = logits.argmax(-1)
        if self.training:
            onehot = F.gumbel_softmax(logits, tau=temperature, hard=True, dim=-1)
        else:
            onehot = F.one_hot(codes, self.entries).to(logits.dtype)
        book = self.codebook.view(self.groups, self.entries, -1)
        q = torch.einsum("ngv,gvd->ngd", onehot, book.to(onehot.dtype)).reshape(*shape, -1)
        return q, diversity, codes.view(*shape, self.groups)

    @torch.no_grad()
    def usage(self, x: torch.Tensor) -> float:
        """Fraction of the G x V codewords that some frame of `x` picks (argmax)."""
        codes = self.logits(x.float()).view(-1, self.groups, self.entries).argmax(-1)
        used = sum(len(torch.unique(codes[:, g])) for g in range(self.groups))
        return used / (self.groups * self.entries)


class RandomProjectionQuantizer(nn.Module):
    """BEST-RQ (Chiu et al. 2022): a frozen Xavier-initialised projection to `dim` and a frozen
    standard-normal codebook of `entries` vectors, both compared after l2 normalisation; a
    frame's label is its nearest codeword. Nothing here is trained; the matrices are
    persistent buffers, so checkpoints reload the same labels."""

    def __init__(self, dim_in: int, dim: int = 16, entries: int = 8192, seed: int = 0) -> None:
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        bound = math.sqrt(6.0 / (dim_in + dim))
        self.register_buffer("projection", (torch.rand(dim_in, dim, generator=gen) * 2 - 1) * bound)
        self.register_buffer("codebook", F.normalize(torch.randn(entries, dim, generator=gen), dim=-1))

    @property
    def entries(self) -> int:
        return self.codebook.shape[0]

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """`[..., dim_in]` -> labels `[...]` (long)."""
        z = F.normalize(x.float() @ self.projection, dim=-1)
        return (z @ self.codebook.T).argmax(-1)  # max cosine = min distance of unit vectors
