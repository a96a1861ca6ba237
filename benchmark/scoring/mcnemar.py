"""Exact McNemar test: do two systems' right/wrong answers on the same items differ?

Only the discordant items count: b where A is right and B wrong, c the reverse. Under
"no difference" each is equally likely to go either way, so min(b, c) is Binomial(b + c,
1/2), and the two-sided p-value is 2 * P(X <= min(b, c)), capped at 1 (statsmodels'
`mcnemar(exact=True)`). Two of five clips right against none gives b = 2, c = 0 and
p = 0.5: no evidence of a difference.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import binom


def discordant(right_a: np.ndarray, right_b: np.ndarray) -> tuple[int, int]:
    """(b, c): items only A got right, items only B got right."""
    right_a, right_b = np.asarray(right_a, bool), np.asarray(right_b, bool)
    if right_a.shape != right_b.shape:
        raise ValueError(f"McNemar needs the same items: {right_a.shape} vs {right_b.shape}")
    return int((right_a & ~right_b).sum()), int((~right_a & right_b).sum())


def mcnemar_p(b: int, c: int) -> float:
    """Two-sided exact p-value from the discordant counts (1.0 when there are none)."""
    n = b + c
    if n == 0:
        return 1.0
    return float(min(1.0, 2.0 * binom.cdf(min(b, c), n, 0.5)))
