"""mini-kws: keyword spotting in SUPERB's scheme (10 words, _unknown_, _silence_), 1 s clips.

Test speakers are disjoint from train speakers: their voice timbres (espeak-ng variants,
flite voices) never appear in train. _silence_ clips hold background noise only.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..conditions import level, recorded
from ..blueprint import Clip, Blueprint, balanced, clip_path, split_sizes
from ..scene import Layer
from ..sounds import BEDS
from ..speech import Speech
from ..voices import speaker, split_timbres
from ..words import KEYWORDS, UNKNOWN_WORDS

PER_CLASS = {"tiny": 3, "small": 60, "full": 300}
LABELS = KEYWORDS + ("_unknown_", "_silence_")


def _layers(rng: np.random.Generator, label: str, timbres: tuple[tuple[str, str], ...]) -> list[Layer]:
    bed = BEDS[int(rng.integers(len(BEDS)))].draw(rng, 1.0)
    if label == "_silence_":
        return [replace(bed, level=level(rng, -45, -20))]
    word = UNKNOWN_WORDS[int(rng.integers(len(UNKNOWN_WORDS)))] if label == "_unknown_" else label
    voice = speaker(rng, timbres[int(rng.integers(len(timbres)))])
    speech = Layer(Speech(word, voice), round(float(rng.uniform(0.0, 0.25)), 3), level(rng))
    if rng.random() < 0.3:
        return [speech, replace(bed, level=round(speech.level - float(rng.uniform(10, 30)), 2))]
    return [speech]


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    timbres = split_timbres(rng)
    clips = []
    for split, n in split_sizes(PER_CLASS[size] * len(LABELS)).items():
        for i, label in enumerate(balanced(rng, LABELS, n)):
            scene = recorded(rng, _layers(rng, label, timbres[split]), duration=1.0)
            clips.append(Clip(clip_path(split, i), split, scene, {"label": label}))
    return Blueprint(
        "mini-kws", "classification",
        "Keyword spotting, SUPERB KS scheme: yes/no/up/down/left/right/on/off/stop/go, "
        "_unknown_ (other words) and _silence_ (background only); 1 s clips; test voices "
        "are unseen in train.",
        ("espeak-ng", "flite", "sonic-pi-samples", "fluidsynth", "fluid-soundfont-gm"),
        tuple(clips))
