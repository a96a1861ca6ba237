"""mini-retrieval: text-audio retrieval with captions that describe what each clip holds.

A clip holds 1-3 events of different classes, one after the other or at the same time,
sometimes over an ambience; each clip gets CAPTIONS captions phrased differently (clause
or noun style, varied connectives) that name its sounds in order and their overlap.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..conditions import level, recorded
from ..blueprint import Clip, Blueprint, clip_path, split_sizes
from ..scene import Layer
from ..sounds import BEDS_BY_NAME, CLASSES, SoundClass, end, place

COUNT = {"tiny": 20, "small": 400, "full": 2500}
DURATION = 8.0
CAPTIONS = 2
AMBIENCE = ("sea", "hiss", "drone", "machine")

_THEN = {"clause": (", then ", " and then ", ", after which ", " before "),
         "noun": (" followed by ", ", then ", " and later ")}
_WHILE = {"clause": (" while ", " as ", " and at the same time "),
          "noun": (" together with ", " along with ", " over ")}
_ALONE = {"clause": ("{}", "you can hear that {}", "in this clip {}"),
          "noun": ("{}", "the sound of {}", "{} can be heard")}
_BACKGROUND = (", with {} in the background", " over {}", ", {} throughout")


def _pick(rng: np.random.Generator, options: tuple[str, ...]) -> str:
    return options[int(rng.integers(len(options)))]


def caption(rng: np.random.Generator, sounds: list[SoundClass], overlaps: list[bool],
            ambience: tuple[str, ...] | None) -> str:
    """A caption naming `sounds` in order; overlaps[i]: sound i+1 starts while sound i sounds."""
    style = "clause" if rng.random() < 0.5 else "noun"
    words = [_pick(rng, s.clauses if style == "clause" else s.nouns) for s in sounds]
    text = words[0]
    for word, overlap in zip(words[1:], overlaps):
        text += _pick(rng, (_WHILE if overlap else _THEN)[style]) + word
    if len(words) == 1:
        text = _pick(rng, _ALONE[style]).format(text)
    if ambience is not None:
        text += _pick(rng, _BACKGROUND).format(_pick(rng, ambience))
    return text


def _clip(rng: np.random.Generator) -> tuple[list[Layer], list[str]]:
    sounds = [CLASSES[j] for j in rng.choice(len(CLASSES), int(rng.integers(1, 4)), replace=False)]
    layers: list[Layer] = []
    overlaps: list[bool] = []
    t = float(rng.uniform(0.1, 1.0))
    for sound in sounds:
        event = place(sound.draw(rng, min(3.0, DURATION - t)), t, level(rng, -30, -14))
        layers += event
        overlap = rng.random() < 0.4
        overlaps.append(overlap)
        stop = end(event)
        if overlap:  # the next sound starts while this one still sounds
            t += (stop - t) * float(rng.uniform(0.1, 0.5))
        else:
            t = stop + float(rng.uniform(0.2, 0.8))
        if t > DURATION - 1.0:
            sounds = sounds[:len(overlaps)]
            break
    ambience = None
    if rng.random() < 0.4:
        bed = BEDS_BY_NAME[AMBIENCE[int(rng.integers(len(AMBIENCE)))]]
        layers.append(replace(bed.draw(rng, DURATION), level=level(rng, -45, -34)))
        ambience = bed.nouns
    captions = [caption(rng, sounds, overlaps[:len(sounds) - 1], ambience) for _ in range(CAPTIONS)]
    return layers, captions


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    clips = []
    for split, n in split_sizes(COUNT[size]).items():
        for i in range(n):
            layers, captions = _clip(rng)
            scene = recorded(rng, layers, duration=DURATION, snr=(20.0, 40.0), reverb=0.3)
            clips.append(Clip(clip_path(split, i), split, scene, {"caption": captions}))
    return Blueprint(
        "mini-retrieval", "retrieval",
        "Text-audio retrieval: 8 s clips of 1-3 sound events (in sequence or overlapping, "
        f"sometimes over an ambience), {CAPTIONS} differently phrased captions per clip.",
        ("sonic-pi-samples", "alsa-utils", "fluidsynth", "fluid-soundfont-gm"), tuple(clips))
