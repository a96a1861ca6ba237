"""Patch masks for masked modelling: unstructured random (MAE, M2D, MATPAC) and EAT's inverse block.

A mask is a bool tensor `[B, N]`, True on masked patches, over tokens in time-major order
(`t * F_p + f`, see models.spectrogram_vit). Every row masks exactly the same number of
patches, so the visible tokens of a batch stack into one dense tensor and the student
encodes only those.
"""
from __future__ import annotations

import torch


def random_mask(batch: int, tokens: int, ratio: float, device: torch.device | str = "cpu",
                generator: torch.Generator | None = None) -> torch.Tensor:
    """Mask `round(ratio * tokens)` patches per row, chosen uniformly."""
    count = int(round(ratio * tokens))
    if not 0 < count < tokens:
        raise ValueError(f"mask ratio {ratio} of {tokens} patches leaves nothing masked or nothing visible")
    noise = torch.rand(batch, tokens, generator=generator, device=device)
    rank = noise.argsort(1).argsort(1)
    return rank < count


def inverse_block_mask(batch: int, freq_patches: int, time_patches: int, ratio: float = 0.8,
                       block: int = 5, adjust: float = 0.07, device: torch.device | str = "cpu",
                       generator: torch.Generator | None = None) -> torch.Tensor:
    """EAT / data2vec 2.0 "inverse block" masking: the *visible* patches are `block x block`
    squares (clipped at the edges) around random centres; then random patches are added or
    removed so that exactly `round((1 - ratio) * N)` stay visible in every row.

    `adjust` (data2vec 2.0's `mask_prob_adjust`) adds centres to make up for overlapping
    blocks before the count is equalised.
    """
    tokens = freq_patches * time_patches
    keep = int(round((1 - ratio) * tokens))
    if not 0 < keep < tokens:
        raise ValueError(f"mask ratio {ratio} of {tokens} patches leaves nothing masked or nothing visible")
    centres = max(1, int(round(tokens * (1 - ratio + adjust) / block ** 2)))
    pick = torch.randint(0, tokens, (batch, centres), generator=generator, device=device)
    t, f = pick // freq_patches, pick % freq_patches
    offsets = torch.arange(block, device=device) - block // 2
    tt = (t[:, :, None, None] + offsets[None, None, :, None]).clamp(0, time_patches - 1)
    ff = (f[:, :, None, None] + offsets[None, None, None, :]).clamp(0, freq_patches - 1)
    index = (tt * freq_patches + ff).reshape(batch, -1)
    visible = torch.zeros(batch, tokens, device=device).scatter_(1, index, 1.0)
    # exactly `keep` visible: all block patches first (random order among them), then random others
    score = visible + torch.rand(batch, tokens, generator=generator, device=device)
    chosen = score.topk(keep, dim=1).indices
    return torch.ones(batch, tokens, dtype=torch.bool, device=device).scatter_(1, chosen, False)


def split(mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of the visible and of the masked patches, each `[B, K]` in ascending order."""
    counts = mask.sum(1)
    if not bool((counts == counts[0]).all()):
        raise ValueError("every row of a mask must mask the same number of patches")
    order = torch.sort(mask.to(torch.uint8), dim=1, stable=True).indices
    n_masked = int(counts[0])
    return order[:, : mask.shape[1] - n_masked], order[:, mask.shape[1] - n_masked:]
