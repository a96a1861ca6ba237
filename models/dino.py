"""DINO's projection head and its centred, sharpened cross-entropy (Caron et al. 2021).

Head: 3 fully connected layers (GELU) down to a `bottleneck`, l2-normalisation, then a
weight-normalised linear layer to `classes` prototypes with its norm fixed to 1 (DINO's
`norm_last_layer=True`). The loss matches the student's softmax(s / tau_s) to the teacher's
softmax((t - C) / tau_t); the centre C is an EMA of the teacher's mean output (averaged over
all processes when distributed), which with a low tau_t prevents collapse.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn as nn
import torch.nn.functional as F

from models.vit import init_weights


class NormedLinear(nn.Module):
    """Linear layer whose weight rows are l2-normalised (weight norm with g = 1), no bias."""

    def __init__(self, dim_in: int, dim_out: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.empty(dim_out, dim_in))
        nn.init.trunc_normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # in float32 even under autocast: the logits are divided by temperatures as low as 0.04
        with torch.autocast(x.device.type, enabled=False):
            return F.linear(x.float(), F.normalize(self.weight.float(), dim=1))


class DINOHead(nn.Module):
    def __init__(self, dim_in: int, hidden: int = 2048, bottleneck: int = 256, classes: int = 2048) -> None:
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(dim_in, hidden), nn.GELU(), nn.Linear(hidden, hidden), nn.GELU(),
                                 nn.Linear(hidden, bottleneck))
        init_weights(self.mlp)
        self.last = NormedLinear(bottleneck, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.last(F.normalize(self.mlp(x).float(), dim=-1))


class CentredCrossEntropy(nn.Module):
    def __init__(self, classes: int, momentum: float = 0.9) -> None:
        super().__init__()
        self.momentum = momentum
        self.register_buffer("centre", torch.zeros(classes))

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, tau_s: float, tau_t: float) -> torch.Tensor:
        """Mean over tokens of -sum_k P_teacher log P_student; updates the centre (in training)."""
        teacher = teacher.detach().float()
        target = F.softmax((teacher - self.centre) / tau_t, dim=-1)
        loss = -(target * F.log_softmax(student.float() / tau_s, dim=-1)).sum(-1).mean()
        if self.training:
            self.update_centre(teacher)
        return loss

    @torch.no_grad()
    def update_centre(self, teacher: torch.Tensor) -> None:
        mean = teacher.reshape(-1, teacher.shape[-1]).mean(0)
        if dist.is_available() and dist.is_initialized():
            dist.all_reduce(mean)
            mean /= dist.get_world_size()
        self.centre.mul_(self.momentum).add_(mean, alpha=1 - self.momentum)
