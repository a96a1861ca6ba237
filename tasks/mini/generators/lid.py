"""mini-lid: spoken language identification over 26 languages (espeak-ng).

Every language is spoken by the same pool of voice timbres, so the voice says nothing
about the language; test timbres are unseen in train.
"""

from __future__ import annotations

import numpy as np

from ..conditions import level, recorded
from ..languages import PHRASES
from ..blueprint import Clip, Blueprint, balanced, clip_path, split_sizes
from ..scene import Layer
from ..speech import Speech
from ..voices import espeak, split_timbres

PER_CLASS = {"tiny": 2, "small": 30, "full": 150}
LANGUAGES = tuple(PHRASES)


def _text(rng: np.random.Generator, language: str) -> str:
    phrases = PHRASES[language]
    picked = [phrases[i] for i in rng.choice(len(phrases), int(rng.integers(1, 3)), replace=False)]
    if rng.random() < 0.5:
        picked.insert(int(rng.integers(len(picked) + 1)), str(int(rng.integers(0, 10_000))))
    return " ".join(picked)


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    timbres = split_timbres(rng)
    clips = []
    for split, n in split_sizes(PER_CLASS[size] * len(LANGUAGES)).items():
        variants = [name for engine, name in timbres[split] if engine == "espeak-ng"]
        for i, language in enumerate(balanced(rng, LANGUAGES, n)):
            voice = espeak(rng, language, variants[int(rng.integers(len(variants)))])
            speech = Layer(Speech(_text(rng, language), voice), round(float(rng.uniform(0.05, 0.5)), 3),
                           level(rng))
            clips.append(Clip(clip_path(split, i), split, recorded(rng, [speech]), {"label": language}))
    return Blueprint(
        "mini-lid", "classification",
        f"Spoken language identification over {len(LANGUAGES)} languages (espeak-ng voices, "
        "everyday phrases and numbers); test voice timbres are unseen in train.",
        ("espeak-ng",), tuple(clips))
