"""Span masking of frame sequences (wav2vec 2.0, HuBERT, BEST-RQ).

fairseq's `compute_mask_indices`: `int(prob * T / span + u)` (u ~ U[0, 1)) span starts are
drawn without replacement, each masks `span` consecutive frames (spans may overlap, so
the masked fraction is below `prob`); with `same_count` every row is then trimmed at random
to the smallest row's count (fairseq's `require_same_masks`), so masked frames stack into a
dense `[B, M]` index.
"""
from __future__ import annotations

import torch


def span_mask(batch: int, frames: int, prob: float, span: int, min_spans: int = 1, same_count: bool = True,
              device: torch.device | str = "cpu", generator: torch.Generator | None = None) -> torch.Tensor:
    """Bool `[batch, frames]`, True on masked frames."""
    if frames < 2:
        raise ValueError(f"cannot mask a sequence of {frames} frame(s)")
    span = max(1, min(span, frames - 1))
    starts_possible = frames - span + 1
    mask = torch.zeros(batch, frames, dtype=torch.bool, device=device)
    offsets = torch.arange(span, device=device)
    for b in range(batch):
        u = float(torch.rand((), generator=generator, device=device))
        count = min(starts_possible, max(min_spans, int(prob * frames / span + u)))
        starts = torch.randperm(starts_possible, generator=generator, device=device)[:count]
        mask[b, (starts[:, None] + offsets[None, :]).reshape(-1)] = True
    if same_count:
        counts = mask.sum(1)
        target = int(counts.min())
        target = min(target, frames - 1)
        score = torch.rand(batch, frames, generator=generator, device=device) + (~mask).float() * -2.0
        keep = score.topk(target, dim=1).indices  # `target` random masked frames per row
        mask = torch.zeros_like(mask).scatter_(1, keep, True)
    return mask


def masked_index(mask: torch.Tensor) -> torch.Tensor:
    """Indices `[B, M]` (ascending) of the masked frames of a same-count mask."""
    counts = mask.sum(1)
    if not bool((counts == counts[0]).all()):
        raise ValueError("every row must mask the same number of frames")
    m = int(counts[0])
    order = torch.sort((~mask).to(torch.uint8), dim=1, stable=True).indices
    return order[:, :m]
