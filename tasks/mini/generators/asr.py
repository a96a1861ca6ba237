"""mini-asr: English sentences over a 207-word vocabulary, with transcripts.

Sentences come from a small grammar (tasks/mini/words.py); speakers of the test split
have voice timbres never heard in train, so a model must read words, not memorise voices.
"""

from __future__ import annotations

import numpy as np

from ..conditions import level, recorded
from ..blueprint import Clip, Blueprint, clip_path, split_sizes
from ..scene import Layer
from ..speech import Speech
from ..voices import speaker, split_timbres
from ..words import VOCABULARY, sentence

COUNT = {"tiny": 30, "small": 800, "full": 5000}


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    timbres = split_timbres(rng)
    clips = []
    for split, n in split_sizes(COUNT[size]).items():
        for i in range(n):
            text = sentence(rng)
            voice = speaker(rng, timbres[split][int(rng.integers(len(timbres[split])))])
            speech = Layer(Speech(text, voice), round(float(rng.uniform(0.05, 0.4)), 3), level(rng))
            scene = recorded(rng, [speech], snr=(10.0, 40.0))
            clips.append(Clip(clip_path(split, i), split, scene, {"transcript": text}))
    return Blueprint(
        "mini-asr", "asr",
        f"Read English sentences over a {len(VOCABULARY)}-word vocabulary (espeak-ng and flite "
        "voices; test voice timbres unseen in train), lower-case transcripts without punctuation.",
        ("espeak-ng", "flite"), tuple(clips))
