"""Uncertainty over seeds or folds: mean, standard deviation and a Student-t 95% interval."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

from scipy import stats


@dataclass(frozen=True)
class Summary:
    mean: float
    std: float
    ci95: float  # half-width
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4f} ± {self.ci95:.4f}" if self.n > 1 else f"{self.mean:.4f}"


def summarise(values: Sequence[float]) -> Summary:
    """t-interval (n-1 dof) of the mean; the honest choice for the 3-5 seeds papers use."""
    n = len(values)
    if n == 0:
        return Summary(math.nan, math.nan, math.nan, 0)
    mean = sum(values) / n
    if n == 1:
        return Summary(mean, 0.0, math.nan, 1)
    std = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = stats.t.ppf(0.975, n - 1) * std / math.sqrt(n)
    return Summary(mean, std, half, n)
