"""Masks: the configured ratio, the same count per row, inverse-block structure."""
from __future__ import annotations

import pytest
import torch

from models.masking import inverse_block_mask, random_mask, split


def test_random_mask_has_exact_ratio_and_shape():
    mask = random_mask(5, 190, 0.7, generator=torch.Generator().manual_seed(0))
    assert mask.shape == (5, 190) and mask.dtype == torch.bool
    assert mask.sum(1).tolist() == [133] * 5  # round(0.7 * 190)
    assert not torch.equal(mask[0], mask[1])  # rows differ


def test_inverse_block_mask_ratio_shape_and_blocks():
    gen = torch.Generator().manual_seed(0)
    fp, tp = 8, 64  # EAT's grid: 128 mel bins x 1024 frames in 16 x 16 patches
    mask = inverse_block_mask(16, fp, tp, ratio=0.8, block=5, generator=gen)
    assert mask.shape == (16, fp * tp)
    assert mask.sum(1).tolist() == [round(0.8 * fp * tp)] * 16
    # visible patches come in blocks: far more visible neighbours than unstructured masking gives
    def visible_neighbour_rate(m: torch.Tensor) -> float:
        v = (~m).reshape(-1, tp, fp).float()
        right = v[:, 1:, :] * v[:, :-1, :]
        return float(right.sum() / v[:, :-1, :].sum())
    blocky = visible_neighbour_rate(mask)
    scattered = visible_neighbour_rate(random_mask(16, fp * tp, 0.8, generator=gen))
    assert blocky > 0.6 and scattered < 0.35, (blocky, scattered)


def test_split_returns_sorted_visible_and_masked_indices():
    mask = torch.tensor([[True, False, True, False], [False, True, True, False]])
    visible, masked = split(mask)
    assert visible.tolist() == [[1, 3], [0, 3]] and masked.tolist() == [[0, 2], [1, 2]]
    with pytest.raises(ValueError, match="same number"):
        split(torch.tensor([[True, False], [True, True]]))


def test_degenerate_ratios_are_refused():
    with pytest.raises(ValueError):
        random_mask(2, 10, 0.01)
    with pytest.raises(ValueError):
        inverse_block_mask(2, 2, 2, ratio=0.99)
