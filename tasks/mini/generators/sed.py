"""mini-sed: sound event detection, events at known onsets/offsets over ambient backgrounds.

10 s clips hold 1-5 events of 12 classes over a looped ambience (sea, hiss, drone,
machinery) or plain noise; at most two events overlap and never two of one class.
Onsets and offsets are measured on the rendered event (where it sounds, within 40 dB of
its peak), like a careful annotator would mark them.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..conditions import level, recorded
from ..blueprint import Clip, Blueprint, clip_path, split_sizes
from ..scene import Layer
from ..sounds import BEDS_BY_NAME, BY_LABEL, end, place

COUNT = {"tiny": 12, "small": 300, "full": 2000}
DURATION = 10.0
LABELS = ("speech", "bird", "crow", "telephone", "applause", "gunshot", "door",
          "cash_register", "bell", "beep", "finger_snap", "impact")
AMBIENCE = ("sea", "hiss", "drone", "machine", None)


def _events(rng: np.random.Generator, labels: tuple[str, ...]) -> list[Layer]:
    spans: list[tuple[str, float, float]] = []
    layers: list[Layer] = []
    for _ in range(int(rng.integers(1, 6))):
        label = labels[int(rng.integers(len(labels)))]
        onset = round(float(rng.uniform(0.0, DURATION - 0.5)), 3)
        event = place(BY_LABEL[label].draw(rng, min(4.0, DURATION - onset)), onset,
                      level(rng, -30, -12), label)
        stop = end(event)
        overlapping = [s for s in spans if s[1] < stop and onset < s[2]]
        if len(overlapping) >= 2 or any(s[0] == label for s in overlapping):
            continue
        spans.append((label, onset, stop))
        layers += event
    return layers


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    clips = []
    seen: set[str] = set()  # valid and test only use classes that train has
    for split, n in split_sizes(COUNT[size]).items():
        labels = LABELS if split == "train" else tuple(l for l in LABELS if l in seen)
        for i in range(n):
            layers = _events(rng, labels)
            seen.update(l.label for l in layers)
            ambience = AMBIENCE[int(rng.integers(len(AMBIENCE)))]
            if ambience is not None:
                bed = BEDS_BY_NAME[ambience].draw(rng, DURATION)
                layers.append(replace(bed, level=level(rng, -48, -30)))
            scene = recorded(rng, layers, duration=DURATION, snr=(15.0, 40.0), reverb=0.3)
            clips.append(Clip(clip_path(split, i), split, scene))
    return Blueprint(
        "mini-sed", "sed",
        f"Sound event detection of {len(LABELS)} classes in 10 s clips over ambient "
        "backgrounds; onsets/offsets measured on the rendered audio (HEAR DCASE-style metrics).",
        ("sonic-pi-samples", "alsa-utils", "fluidsynth", "fluid-soundfont-gm"), tuple(clips))
