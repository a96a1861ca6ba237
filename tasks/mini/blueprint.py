"""What a generator returns: a task's metadata and every clip to render, as plain data.

Planning draws all random choices up front in the main process from one seeded
generator; rendering is then a pure function of each `Clip`, so clips can be rendered in
any order, on any number of processes, and still come out byte-identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from .scene import Scene

T = TypeVar("T")
SIZES = ("tiny", "small", "full")
SPLITS = ("train", "valid", "test")


@dataclass(frozen=True)
class Clip:
    """One audio file to render: `path` relative to the task folder, its split and CSV fields.

    A list-valued field gives one CSV row per element (several captions per clip).
    """

    path: str
    split: str
    scene: Scene
    fields: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Blueprint:
    """A folder task to build. `family` None marks an unlabeled corpus (no task.toml)."""

    name: str
    family: str | None
    description: str
    sources: tuple[str, ...]
    clips: tuple[Clip, ...]
    tables: dict[str, list[dict[str, object]]] = field(default_factory=dict)


def split_sizes(total: int, shares: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> dict[str, int]:
    """`total` items shared between train, valid and test; every split gets at least one."""
    valid = max(1, round(total * shares[1]))
    test = max(1, round(total * shares[2]))
    return {"train": max(1, total - valid - test), "valid": valid, "test": test}


def clip_path(split: str, index: int) -> str:
    return f"audio/{split}/{index:05d}.wav"


def seed_of(rng: np.random.Generator) -> int:
    """A fresh seed for one clip's rendering."""
    return int(rng.integers(2**31))


def balanced(rng: np.random.Generator, labels: tuple[str, ...], n: int) -> list[str]:
    """`n` labels, each as often as possible, in random order."""
    return [labels[i] for i in rng.permutation(np.arange(n) % len(labels))]


def shuffled(rng: np.random.Generator, items: Sequence[T]) -> list[T]:
    return [items[i] for i in rng.permutation(len(items))]
