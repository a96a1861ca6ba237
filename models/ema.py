"""An exponential-moving-average teacher: a frozen copy of a module that trails the student.

After each optimizer step, `update(student, step)` sets every teacher parameter to
`d * teacher + (1 - d) * student` with `d = schedule.at(step, total)`, and copies buffers
(normalisation statistics, BatchNorm running means) verbatim.
"""
from __future__ import annotations

import copy

import torch
import torch.nn as nn

from models.schedules import Anneal


class EMATeacher(nn.Module):
    def __init__(self, student: nn.Module, schedule: Anneal, total_steps: int) -> None:
        super().__init__()
        self.module = copy.deepcopy(student)
        self.module.requires_grad_(False)
        self.schedule = schedule
        self.total_steps = total_steps

    def decay(self, step: int) -> float:
        return self.schedule.at(step, self.total_steps)

    @torch.no_grad()
    def update(self, student: nn.Module, step: int) -> float:
        """Move towards `student` with the decay of `step`; returns the decay used."""
        d = self.decay(step)
        mine = list(self.module.parameters())
        theirs = [p.detach() for p in student.parameters()]
        if len(mine) != len(theirs):
            raise RuntimeError("EMA teacher and student have different parameters")
        if d < 1.0:
            torch._foreach_lerp_(mine, theirs, 1.0 - d)
        for b_t, b_s in zip(self.module.buffers(), student.buffers()):
            b_t.copy_(b_s)
        return d

    def forward(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201 - a transparent wrapper
        return self.module(*args, **kwargs)
