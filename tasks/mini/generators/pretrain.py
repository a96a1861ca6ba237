"""mini-pretrain: an unlabeled corpus of 10 s clips for self-supervised pre-training.

Not a task: a folder of audio with manifests (train.csv, valid.csv: path,domain), plus
provenance and checksums like every mini folder, but no task.toml. A third of the clips
each are speech (26 languages, many voices), music (melody, chords, bass, drums) and
environments (the scene mixtures of mini-scenes), all freshly drawn, so the corpus shares
sources but no clip with the evaluation tasks. `full` holds over 5 hours.
"""

from __future__ import annotations

import numpy as np

from ..conditions import level, recorded
from ..languages import PHRASES
from ..music import song
from ..blueprint import Clip, Blueprint, clip_path
from ..scene import Layer, Scene
from ..speech import Speech
from ..voices import TIMBRES, VARIANTS, espeak, speaker
from ..words import sentence
from .scenes import SCENARIOS, scene

COUNT = {"tiny": 6, "small": 120, "full": 1850}
DURATION = 10.0
DOMAINS = ("speech", "music", "environment")


def _speech(rng: np.random.Generator) -> Scene:
    if rng.random() < 0.5:  # English, in any voice
        text = ". ".join(sentence(rng) for _ in range(6))
        voice = speaker(rng, TIMBRES[int(rng.integers(len(TIMBRES)))])
    else:
        language = tuple(PHRASES)[int(rng.integers(len(PHRASES)))]
        text = " ".join(PHRASES[language][i] for i in rng.permutation(len(PHRASES[language])))
        voice = espeak(rng, language, VARIANTS[int(rng.integers(len(VARIANTS)))])
    start = round(float(rng.uniform(0.0, 0.5)), 3)
    layer = Layer(Speech(text, voice), start, level(rng), length=DURATION - start)
    return recorded(rng, [layer], duration=DURATION)


def _clip(rng: np.random.Generator, domain: str) -> Scene:
    if domain == "speech":
        return _speech(rng)
    if domain == "music":
        return recorded(rng, song(rng, DURATION, level(rng, -30, -18)), duration=DURATION,
                        snr=(20.0, 50.0))
    return scene(rng, SCENARIOS[int(rng.integers(len(SCENARIOS)))])


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    total = COUNT[size]
    valid = max(1, round(total * 0.05))
    clips = []
    for split, n in (("train", total - valid), ("valid", valid)):
        for i in range(n):
            domain = DOMAINS[int(rng.integers(len(DOMAINS)))]
            clips.append(Clip(clip_path(split, i), split, _clip(rng, domain), {"domain": domain}))
    return Blueprint(
        "mini-pretrain", None,
        "Unlabeled 10 s clips of speech, music and environments for pre-training.",
        ("espeak-ng", "flite", "fluidsynth", "fluid-soundfont-gm", "sonic-pi-samples", "alsa-utils"),
        tuple(clips))
