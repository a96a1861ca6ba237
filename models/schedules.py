"""Step-indexed schedules: learning rate (linear warm-up, cosine decay) and annealed scalars
(EMA decays, DINO's teacher temperature). Pure functions of the step, so a resumed run
recomputes exactly the value it would have had."""
from __future__ import annotations

import math
from dataclasses import dataclass


def cosine_with_warmup(step: int, base: float, warmup: int, total: int, final: float = 0.0) -> float:
    """Linear warm-up from 0 to `base` over `warmup` steps, then cosine decay to `final` at `total`."""
    if step < warmup:
        return base * (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return final + (base - final) * 0.5 * (1.0 + math.cos(math.pi * progress))


@dataclass(frozen=True)
class Anneal:
    """A scalar going from `start` to `end` over `steps` steps, then staying at `end`.

    `kind`: `linear` (data2vec 2.0 / EAT's EMA, MATPAC's head EMA and temperature),
    `cosine` (BYOL's EMA) or `constant` (`start` throughout). `steps` = 0 means a
    `fraction` of the run (1.0: all of it): the trainer passes the run's total steps.
    """

    start: float
    end: float
    steps: int = 0
    kind: str = "linear"
    fraction: float = 1.0

    def __post_init__(self) -> None:
        if self.kind not in ("linear", "cosine", "constant"):
            raise ValueError(f"unknown schedule kind {self.kind!r}")

    def at(self, step: int, total: int | None = None) -> float:
        span = self.steps or max(1, round(self.fraction * (total or 1)))
        if self.kind == "constant":
            return self.start
        progress = min(1.0, max(0, step) / span)
        if self.kind == "cosine":
            progress = 0.5 * (1.0 - math.cos(math.pi * progress))
        return self.start + (self.end - self.start) * progress
