"""A tiny composer: a few bars of melody, chords, bass and drums on General-MIDI instruments.

Enough musical structure (a key, a chord progression, a beat) for pre-training audio to
contain music rather than random notes.
"""

from __future__ import annotations

import numpy as np

from .gm import DRUMS, FAMILIES, Note, fit
from .scene import Layer

_SCALES = ((0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10))  # major, natural minor
_PROGRESSIONS = ((0, 4, 5, 3), (0, 3, 4, 0), (5, 3, 0, 4), (0, 5, 3, 4))  # scale degrees
_KICK, _SNARE, _HIHAT = 36, 38, 42
_BEAT = {0: (_KICK,), 2: (_SNARE,), 4: (_KICK,), 6: (_SNARE,)}  # eighth note -> drums, hi-hat on all


def _program(rng: np.random.Generator, *families: str) -> int:
    programs = [p for f in families for p in FAMILIES[f]]
    return programs[int(rng.integers(len(programs)))]


def song(rng: np.random.Generator, duration: float, level: float) -> list[Layer]:
    """Layers of `duration` seconds of music around `level` dB FS."""
    beat = 60.0 / float(rng.uniform(70, 150))
    root = 48 + int(rng.integers(12))
    scale = _SCALES[int(rng.integers(2))]
    progression = _PROGRESSIONS[int(rng.integers(len(_PROGRESSIONS)))]
    lead = _program(rng, "keyboard", "mallet", "guitar", "string", "brass", "reed", "flute",
                    "synth_lead")
    pad = _program(rng, "keyboard", "organ", "guitar", "string", "vocal")
    bass = _program(rng, "bass")

    def pitch(degree: int, octave: int) -> int:
        return root + 12 * (octave + degree // 7) + scale[degree % 7]

    def note(program: int, p: int, start: float, beats: float, gain: float) -> Layer:
        hold = round(beats * beat * 0.9, 3)
        sound = Note(program, fit(program, p), 90, hold)
        return Layer(sound, round(start, 3), round(level + gain, 2), length=round(hold + 0.3, 3))

    layers = []
    bars = int(np.ceil(duration / (4 * beat)))
    for bar in range(bars):
        chord, t0 = progression[bar % 4], bar * 4 * beat
        layers += [note(pad, pitch(chord + k, 0), t0, 4, -8.0) for k in (0, 2, 4)]
        layers += [note(bass, pitch(chord, -1), t0 + b * beat, 1, -5.0) for b in (0, 2)]
    t, degree = 0.0, int(rng.integers(7))
    while t < duration:
        beats = float(rng.choice([0.5, 1.0, 1.0, 2.0]))
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 13))
        if rng.random() > 0.1:  # a rest now and then
            layers.append(note(lead, pitch(degree, 1), t, beats, 0.0))
        t += beats * beat
    if rng.random() < 0.7:
        for step in range(int(duration / (beat / 2))):
            keys = [_HIHAT, *_BEAT.get(step % 8, ())]
            layers += [Layer(Note(DRUMS, k, 100, 0.1), round(step * beat / 2, 3),
                             round(level - 6.0, 2)) for k in keys]
    return [l for l in layers if l.start < duration]
