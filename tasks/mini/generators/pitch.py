"""mini-pitch: the MIDI pitch of one instrument note (NSynth-like, General-MIDI instruments).

Notes come from every melodic instrument family at drawn velocity and length, in varied
rooms and noise; the label is the MIDI note number (pitch and chroma accuracy).
"""

from __future__ import annotations

import numpy as np

from ..conditions import level, recorded
from ..gm import FAMILIES, Note, pitch_range
from ..blueprint import Clip, Blueprint, clip_path, split_sizes
from ..scene import Layer

COUNT = {"tiny": 30, "small": 800, "full": 5000}
DURATION = 2.0


def _note(rng: np.random.Generator) -> tuple[Layer, int]:
    family = tuple(FAMILIES)[int(rng.integers(len(FAMILIES)))]
    program = FAMILIES[family][int(rng.integers(len(FAMILIES[family])))]
    low, high = pitch_range(program)
    pitch = int(rng.integers(low, high + 1))
    hold = round(float(rng.uniform(0.3, 1.5)), 3)
    note = Note(program, pitch, int(rng.integers(50, 128)), hold)
    return Layer(note, round(float(rng.uniform(0.0, 0.3)), 3), level(rng), length=hold + 0.4), pitch


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    clips = []
    seen: set[int] = set()  # valid and test only use pitches that train has
    for split, n in split_sizes(COUNT[size]).items():
        for i in range(n):
            layer, pitch = _note(rng)
            while split != "train" and pitch not in seen:
                layer, pitch = _note(rng)
            seen.add(pitch)
            scene = recorded(rng, [layer], duration=DURATION, snr=(10.0, 40.0))
            clips.append(Clip(clip_path(split, i), split, scene, {"pitch": pitch}))
    return Blueprint(
        "mini-pitch", "pitch",
        "Pitch (MIDI note number) of single General-MIDI instrument notes from 11 families "
        "(FluidR3 soundfont), 2 s clips with varied velocity, length, room and noise.",
        ("fluidsynth", "fluid-soundfont-gm"), tuple(clips))
