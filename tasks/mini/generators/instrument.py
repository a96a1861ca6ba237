"""mini-instrument: instrument family of a short phrase (11 NSynth-like families).

As in NSynth, the splits hold different instruments: each family's General-MIDI programs
are divided between train, valid and test, so a model must generalise within a family
(e.g. recognise an unseen organ as an organ) rather than memorise one patch.
"""

from __future__ import annotations

import numpy as np

from ..conditions import level, recorded
from ..gm import FAMILIES, RANGES
from ..blueprint import SPLITS, Clip, Blueprint, balanced, clip_path, shuffled, split_sizes
from ..sounds import Phrase, place

PER_CLASS = {"tiny": 3, "small": 60, "full": 300}
DURATION = 3.0


def _programs(rng: np.random.Generator) -> dict[str, dict[str, tuple[int, ...]]]:
    """Per family, disjoint programs for each split: one for valid and test each, rest train."""
    out: dict[str, dict[str, tuple[int, ...]]] = {s: {} for s in SPLITS}
    for family, programs in FAMILIES.items():
        order = shuffled(rng, programs)
        for split, part in zip(SPLITS, (order[2:], order[:1], order[1:2])):
            out[split][family] = tuple(part)
    return out


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    programs = _programs(rng)
    clips = []
    for split, n in split_sizes(PER_CLASS[size] * len(FAMILIES)).items():
        for i, family in enumerate(balanced(rng, tuple(FAMILIES), n)):
            phrase = Phrase(programs[split][family], RANGES[family], notes=(1, 4))
            layers = place(phrase.draw(rng, DURATION - 0.5), float(rng.uniform(0.0, 0.4)), level(rng))
            scene = recorded(rng, layers, duration=DURATION, snr=(10.0, 40.0))
            clips.append(Clip(clip_path(split, i), split, scene, {"label": family}))
    return Blueprint(
        "mini-instrument", "classification",
        "Instrument family (keyboard, mallet, organ, guitar, bass, string, brass, reed, flute, "
        "synth_lead, vocal) of 1-4 note General-MIDI phrases; each split plays different "
        "instruments (programs) of every family.",
        ("fluidsynth", "fluid-soundfont-gm"), tuple(clips))
