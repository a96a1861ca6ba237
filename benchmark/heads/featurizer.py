"""SUPERB's Featurizer: a learned softmax-weighted sum of all hidden states.

Grid heads learn one weighting per grid point inside `probe.GridHead`; the heads trained
one at a time (BiLSTM, two-tower retrieval, fine-tuning) use this module. Its weights are
reported in the result record, so one can see which layers a task draws on.
"""
from __future__ import annotations

import torch


class WeightedLayerSum(torch.nn.Module):
    """[..., L, D] -> [..., D] with weights softmax(w), w initialised equal (as in s3prl)."""

    def __init__(self, layers: int) -> None:
        super().__init__()
        self.logits = torch.nn.Parameter(torch.zeros(layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("l,...ld->...d", self.logits.softmax(0).to(x.dtype), x)

    def weights(self) -> list[float]:
        return [round(float(w), 4) for w in self.logits.detach().softmax(0)]
