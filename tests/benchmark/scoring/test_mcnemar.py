"""Exact McNemar against statsmodels, and the case that started it: 2/5 against 0/5."""
from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.contingency_tables import mcnemar

from benchmark.scoring.mcnemar import discordant, mcnemar_p


@pytest.mark.parametrize("b,c", [(2, 0), (0, 0), (7, 1), (10, 3), (12, 12), (30, 11), (1, 9)])
def test_equals_statsmodels_exact(b, c):
    table = [[5, b], [c, 4]]
    assert mcnemar_p(b, c) == pytest.approx(mcnemar(table, exact=True).pvalue, abs=1e-15)


def test_two_of_five_against_none_is_no_evidence():
    a = np.array([1, 1, 0, 0, 0], bool)
    b = np.zeros(5, bool)
    assert discordant(a, b) == (2, 0)
    assert mcnemar_p(*discordant(a, b)) == pytest.approx(0.5)  # 2 * (1/2)**2, worked by hand
