"""Metrics: small pure functions, each registered with whether higher is better.

Computed with the field's libraries (scikit-learn here) so numbers match papers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from sklearn.metrics import accuracy_score, f1_score

from benchmark.registry import Registry


@dataclass(frozen=True)
class Metric:
    name: str
    fn: Callable[..., float]
    higher_is_better: bool

    def __call__(self, *args: object, **kwargs: object) -> float:
        return float(self.fn(*args, **kwargs))


METRICS: Registry[Metric] = Registry("metric")


def metric(name: str, higher_is_better: bool = True) -> Callable[[Callable[..., float]], Callable[..., float]]:
    def wrap(fn: Callable[..., float]) -> Callable[..., float]:
        METRICS.register(name, Metric(name, fn, higher_is_better))
        return fn
    return wrap


@metric("accuracy")
def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Top-1 accuracy of class indices."""
    return accuracy_score(y_true, y_pred)


@metric("macro_f1")
def macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """F1 averaged over the classes present in truth or prediction."""
    return f1_score(y_true, y_pred, average="macro", zero_division=0)
