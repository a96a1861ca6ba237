"""Recording conditions: a room and stationary noise at a drawn signal-to-noise ratio.

Without them a synthesiser's output is studio-clean and identical every time; varied
rooms and noise are what keeps the speech and music tasks from being trivially easy.
"""

from __future__ import annotations

import numpy as np

from .audio import NOISE_COLORS
from .blueprint import seed_of
from .scene import Layer, Scene


def recorded(rng: np.random.Generator, layers: list[Layer], *, duration: float | None = None,
             snr: tuple[float, float] = (5.0, 35.0), reverb: float = 0.5) -> Scene:
    """`layers` as a clip in a room (with probability `reverb`) over noise `snr` dB below them."""
    level = max((layer.level for layer in layers), default=-30.0)
    rt60 = float(rng.uniform(0.15, 0.9)) if rng.random() < reverb else 0.0
    return Scene(tuple(layers), duration=duration, rt60=round(rt60, 3),
                 drr=round(float(rng.uniform(0.0, 15.0)), 2),
                 noise=NOISE_COLORS[int(rng.integers(len(NOISE_COLORS)))],
                 noise_level=round(level - float(rng.uniform(*snr)), 2), seed=seed_of(rng))


def level(rng: np.random.Generator, low: float = -32.0, high: float = -14.0) -> float:
    """A foreground level in dB FS."""
    return round(float(rng.uniform(low, high)), 2)
