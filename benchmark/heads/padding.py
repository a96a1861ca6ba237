"""Batches whose valid frames are a prefix of each row (the rest is padding)."""
from __future__ import annotations

import torch


def reverse_prefix(x: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse the first `lengths[b]` steps of each row of `x` [B, N, ...]; padding stays put.

    Running a causal layer over `reverse_prefix(x)` and reversing back gives the anti-causal
    direction without padding ever reaching a valid step (and it is its own inverse).
    """
    n = x.shape[1]
    pos = torch.arange(n, device=x.device)[None, :]
    lengths = lengths.to(x.device)
    index = torch.where(pos < lengths[:, None], lengths[:, None] - 1 - pos, pos)
    index = index.view(*index.shape, *([1] * (x.ndim - 2))).expand_as(x)
    return torch.gather(x, 1, index)
