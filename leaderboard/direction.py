"""Which way a metric improves, and its perfect value, from the metric registry.

Error rates (wer, cer, eer, min_dcf, segment_1s_er) improve downwards and are perfect at
0; the other registered metrics are perfect at 1.0, except d' which has no upper bound.
A metric the registry does not know (a plugin not installed here) is taken as
higher-is-better and bounded by 1.0, and the caller is told.
"""
from __future__ import annotations

from dataclasses import dataclass

UNBOUNDED = {"d_prime"}


@dataclass(frozen=True)
class Direction:
    higher_is_better: bool
    perfect: float | None  # None: no natural ceiling
    known: bool = True     # False: the registry does not know the metric

    def better(self, a: float, b: float) -> bool:
        return a > b if self.higher_is_better else a < b


def direction(metric: str) -> Direction:
    from benchmark.scoring.metrics import METRICS
    from benchmark.registry import UnknownNameError
    try:
        higher = METRICS.get(metric).higher_is_better
    except UnknownNameError:
        return Direction(True, 1.0, known=False)
    if metric in UNBOUNDED:
        return Direction(higher, None)
    return Direction(higher, 1.0 if higher else 0.0)
