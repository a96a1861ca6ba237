"""mini-tagging: multi-label tagging of 5 s clips holding 1-4 overlapping sound events.

Events from 24 classes (recordings, General-MIDI effects, instrument phrases) start at
random times and levels over an unlabeled ambient bed or noise, so labels overlap and
compete; the label set is every class present (mAP, d').
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..conditions import level, recorded
from ..blueprint import Clip, Blueprint, clip_path, split_sizes
from ..scene import Layer
from ..sounds import BEDS_BY_NAME, CLASSES, place

COUNT = {"tiny": 24, "small": 600, "full": 4000}
DURATION = 5.0
AMBIENCE = ("sea", "hiss", "drone", "machine")  # beds that cannot pass for a labelled class


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    clips = []
    seen: set[str] = set()  # valid and test only use classes that train has
    for split, n in split_sizes(COUNT[size]).items():
        pool = CLASSES if split == "train" else tuple(c for c in CLASSES if c.label in seen)
        for i in range(n):
            k = min(len(pool), int(rng.integers(1, 5)))
            picked = [pool[j] for j in rng.choice(len(pool), k, replace=False)]
            seen.update(s.label for s in picked)
            layers: list[Layer] = []
            for sound in picked:
                onset = float(rng.uniform(0.0, DURATION - 1.5))
                layers += place(sound.draw(rng, DURATION - onset), onset, level(rng, -34, -14))
            if rng.random() < 0.6:
                bed = BEDS_BY_NAME[AMBIENCE[int(rng.integers(len(AMBIENCE)))]].draw(rng, DURATION)
                quietest = min(l.level for l in layers)
                layers.append(replace(bed, level=round(quietest - float(rng.uniform(3, 20)), 2)))
            scene = recorded(rng, layers, duration=DURATION, snr=(15.0, 40.0), reverb=0.3)
            labels = ";".join(sorted(s.label for s in picked))
            clips.append(Clip(clip_path(split, i), split, scene, {"labels": labels}))
    return Blueprint(
        "mini-tagging", "tagging",
        f"Multi-label tagging over {len(CLASSES)} sound classes: 1-4 overlapping events per "
        "5 s clip at varied levels, over unlabeled ambience or noise.",
        ("sonic-pi-samples", "alsa-utils", "fluidsynth", "fluid-soundfont-gm"), tuple(clips))
