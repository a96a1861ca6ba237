"""mini-speaker: closed-set speaker identification among 24 synthetic speakers.

A speaker is a timbre (espeak-ng variant or flite voice) with an accent, pitch and speed;
several speakers share a timbre at a different pitch or speed, and every utterance
jitters pitch and speed, so identity must be heard in the voice, not read off one cue.
speakers.csv gives each speaker's synthesiser, accent and gender (attribute leakage).
"""

from __future__ import annotations

import numpy as np

from ..conditions import level, recorded
from ..blueprint import Clip, Blueprint, balanced, clip_path, split_sizes
from ..scene import Layer
from ..speech import Speech, Voice
from ..voices import FLITE, VARIANTS, attributes, speaker
from ..words import sentence

SPEAKERS = 24
PER_CLASS = {"tiny": 2, "small": 30, "full": 120}


def speakers(rng: np.random.Generator) -> dict[str, Voice]:
    """SPEAKERS voices: each flite voice once, espeak-ng timbres twice (own accent, pitch, speed)."""
    variants = [VARIANTS[i] for i in rng.choice(len(VARIANTS), (SPEAKERS - len(FLITE) + 1) // 2,
                                                replace=False)]
    timbres = [("flite", f) for f in FLITE] + [("espeak-ng", v) for v in variants for _ in (0, 1)]
    return {f"spk{i:02d}": speaker(rng, t) for i, t in enumerate(timbres[:SPEAKERS])}


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    voices = speakers(rng)
    clips = []
    for split, n in split_sizes(PER_CLASS[size] * SPEAKERS).items():
        for i, who in enumerate(balanced(rng, tuple(voices), n)):
            speech = Layer(Speech(sentence(rng), voices[who].vary(rng)),
                           round(float(rng.uniform(0.05, 0.4)), 3), level(rng))
            clips.append(Clip(clip_path(split, i), split, recorded(rng, [speech]), {"label": who}))
    return Blueprint(
        "mini-speaker", "classification",
        f"Speaker identification among {SPEAKERS} synthetic speakers (espeak-ng voice variants "
        "x accent x pitch x speed, flite voices), English sentences in varied rooms and noise.",
        ("espeak-ng", "flite"), tuple(clips),
        tables={"speakers.csv": [{"speaker": who, **attributes(v)} for who, v in voices.items()]})
