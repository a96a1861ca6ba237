"""mini-scenes: acoustic scene classification, 10 s mixtures from scene-specific pools.

A scene is a background (looped ambience, a murmuring crowd or plain noise), a room
(outdoors is dry, a temple rings for seconds) and a weighted pool of events; pools share
classes across scenes and a few events come from anywhere, so no single sound gives the
scene away.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from ..conditions import level
from ..blueprint import Clip, Blueprint, balanced, clip_path, seed_of, split_sizes
from ..scene import Layer, Scene
from ..sounds import BEDS_BY_NAME, BY_LABEL, CLASSES, babble, place

PER_CLASS = {"tiny": 3, "small": 50, "full": 250}
DURATION = 10.0
STRAY = 0.15  # share of events drawn from any class


@dataclass(frozen=True)
class Scenario:
    name: str
    beds: tuple[str, ...]  # a BEDS name, "babble" or "noise"
    events: dict[str, float]  # class label -> weight
    rt60: tuple[float, float]  # 0: outdoors
    noise: str = "pink"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("beach", ("sea", "sea", "babble"), {"bird": 2, "speech": 2, "crow": 1, "whoosh": 2,
                                                 "helicopter": 1}, (0.0, 0.0), "brown"),
    Scenario("park", ("noise", "babble", "hiss"), {"bird": 4, "crow": 2, "speech": 2, "bell": 1,
                                                   "whoosh": 1, "helicopter": 1}, (0.0, 0.0), "brown"),
    Scenario("street", ("machine", "noise", "babble"), {"helicopter": 2, "whoosh": 3, "impact": 2,
                                                        "speech": 2, "telephone": 1, "door": 1},
             (0.0, 0.2), "brown"),
    Scenario("office", ("machine", "noise"), {"telephone": 3, "beep": 3, "speech": 3, "door": 2,
                                              "finger_snap": 1, "robot": 1}, (0.3, 0.6)),
    Scenario("shop", ("babble", "beat"), {"cash_register": 3, "beep": 2, "door": 2, "speech": 2,
                                          "bell": 1, "telephone": 1}, (0.4, 0.9)),
    Scenario("concert", ("noise", "hiss", "babble"), {"piano": 3, "violin": 3, "flute": 2,
                                                      "trumpet": 2, "choir": 2, "applause": 2},
             (1.0, 2.0)),
    Scenario("club", ("beat",), {"scratch": 3, "drums": 2, "speech": 1, "robot": 2, "beep": 1,
                                 "whoosh": 1, "guitar": 1}, (0.5, 1.0)),
    Scenario("temple", ("drone", "noise"), {"bell": 3, "choir": 3, "speech": 1, "tabla": 2,
                                            "finger_snap": 1}, (1.5, 3.0), "white"),
)
BY_NAME = {s.name: s for s in SCENARIOS}


def _background(rng: np.random.Generator, scenario: Scenario, bed_level: float) -> list[Layer]:
    bed = scenario.beds[int(rng.integers(len(scenario.beds)))]
    if bed == "babble":
        return babble(rng, DURATION, bed_level)
    if bed == "noise":
        return []
    return [replace(BEDS_BY_NAME[bed].draw(rng, DURATION), level=bed_level)]


def scene(rng: np.random.Generator, scenario: Scenario) -> Scene:
    """One 10 s clip of `scenario`."""
    bed_level = level(rng, -42, -24)
    layers = _background(rng, scenario, bed_level)
    labels, weights = tuple(scenario.events), np.array(list(scenario.events.values()))
    for _ in range(int(rng.integers(2, 8))):
        if rng.random() < STRAY:
            sound = CLASSES[int(rng.integers(len(CLASSES)))]
        else:
            sound = BY_LABEL[labels[int(rng.choice(len(labels), p=weights / weights.sum()))]]
        onset = float(rng.uniform(-1.0, DURATION - 0.5))
        layers += place(sound.draw(rng, 4.0), onset, round(bed_level + float(rng.uniform(-6, 15)), 2))
    return Scene(tuple(layers), duration=DURATION, rt60=round(float(rng.uniform(*scenario.rt60)), 3),
                 drr=round(float(rng.uniform(-3.0, 10.0)), 2), noise=scenario.noise,
                 noise_level=round(bed_level - float(rng.uniform(0, 20)), 2), seed=seed_of(rng))


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    clips = []
    for split, n in split_sizes(PER_CLASS[size] * len(SCENARIOS)).items():
        for i, name in enumerate(balanced(rng, tuple(BY_NAME), n)):
            clips.append(Clip(clip_path(split, i), split, scene(rng, BY_NAME[name]), {"label": name}))
    return Blueprint(
        "mini-scenes", "classification",
        f"Acoustic scene classification over {len(SCENARIOS)} scenes ({', '.join(BY_NAME)}): "
        "10 s mixtures of scene-specific backgrounds, rooms and event pools at varied levels.",
        ("sonic-pi-samples", "alsa-utils", "fluidsynth", "fluid-soundfont-gm", "espeak-ng"),
        tuple(clips))
