"""What every pre-training objective provides to the trainer.

An objective is an `nn.Module` that owns the student encoder (`encoder`, the module that
becomes an upstream) and everything else it trains or tracks (decoders, heads, EMA
teachers). `forward(audio, step)` takes a batch of equal-length crops `[B, N]` and returns
the loss and a few detached scalars to log; `after_step(step)` runs after each optimizer
step (EMA updates) and returns scalars to log. `prepare(files, seed)` runs once before the
first step (HuBERT fits its k-means there) and `diagnose(audio, step)` adds objective-specific
collapse diagnostics (models/diagnostics.py). A schedule reads `total_steps` when it is used,
so `set_total_steps` resizes every schedule of the run at once (`--max-minutes`).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Objective(nn.Module):
    encoder: nn.Module
    #: the dataclasses a recipe's `encoder` and `params` are (how `recipe_from_dict` rebuilds them)
    encoder_config_class: type
    config_class: type
    #: substrings of parameter names that are never weight-decayed (besides biases and norms)
    no_decay_names: tuple[str, ...] = ("pos", "cls", "mask_token")

    def __init__(self, total_steps: int) -> None:
        super().__init__()
        self.total_steps = total_steps

    def forward(self, audio: torch.Tensor, step: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        raise NotImplementedError

    def after_step(self, step: int) -> dict[str, float]:
        return {}

    def prepare(self, files: list, seed: int) -> list[str]:
        """Fit data-dependent targets on `files` (models.data.AudioFile) before training;
        returns lines for the run log. Nothing by default."""
        return []

    def diagnose(self, audio: torch.Tensor, step: int) -> dict[str, float]:
        """Objective-specific diagnostics on probe crops `audio` (codebook use, target entropy)."""
        return {}

    def set_total_steps(self, total: int) -> None:
        """Resize the run: this objective's and its teachers' schedules follow `total` steps."""
        for module in self.modules():
            if hasattr(module, "total_steps"):
                module.total_steps = total

    def crop_samples(self) -> int:
        """Audio samples per training crop."""
        raise NotImplementedError


def mse(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.mse_loss(prediction.float(), target.float())


def cosine_distance(prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """2 - 2 cos: the squared distance of l2-normalised vectors (BYOL, M2D, MATPAC's L_pred)."""
    p = F.normalize(prediction.float(), dim=-1)
    t = F.normalize(target.float(), dim=-1)
    return (2 - 2 * (p * t).sum(-1)).mean()
