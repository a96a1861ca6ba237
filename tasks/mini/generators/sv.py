"""mini-sv: speaker verification, trained on some speakers and tested on unseen ones.

As in SUPERB's VoxCeleb1 setup, train and valid hold utterances of the same training
speakers (path,speaker); test.csv holds held-out speakers, whose timbres never occur in
training, and trials.csv pairs test utterances: enroll,test,target (1 same speaker, 0 not);
speakers.csv gives each speaker's synthesiser, accent and gender (attribute leakage).
"""

from __future__ import annotations

import numpy as np

from ..conditions import level, recorded
from ..blueprint import Clip, Blueprint, clip_path, shuffled
from ..scene import Layer
from ..speech import Speech, Voice
from ..voices import attributes, speaker, split_timbres
from ..words import sentence

# (train speakers, test speakers, utterances per speaker); valid holds two per training
# speaker, so that same-speaker pairs exist to choose a scoring back end on
SPEAKERS = {"tiny": (6, 4, 4), "small": (60, 20, 8), "full": (200, 40, 12)}


def _voices(rng: np.random.Generator, n: int, timbres: list[tuple[str, str]],
            prefix: str) -> dict[str, Voice]:
    return {f"{prefix}{i:03d}": speaker(rng, timbres[i % len(timbres)]) for i in range(n)}


def _utterance(rng: np.random.Generator, voice: Voice) -> Layer:
    return Layer(Speech(sentence(rng), voice.vary(rng)), round(float(rng.uniform(0.05, 0.4)), 3),
                 level(rng))


def trials(rng: np.random.Generator, test: list[Clip]) -> list[dict[str, object]]:
    """For every test utterance, one target and one non-target enrolment utterance."""
    rows = []
    for clip in test:
        same = [c for c in test if c.fields["speaker"] == clip.fields["speaker"] and c is not clip]
        other = [c for c in test if c.fields["speaker"] != clip.fields["speaker"]]
        for target, pool in ((1, same), (0, other)):
            enroll = pool[int(rng.integers(len(pool)))]
            rows.append({"enroll": enroll.path, "test": clip.path, "target": target})
    return rows


def plan(size: str, rng: np.random.Generator) -> Blueprint:
    n_train, n_test, per_speaker = SPEAKERS[size]
    timbres = split_timbres(rng, (0.8, 0.0, 0.2))
    train = _voices(rng, n_train, shuffled(rng, timbres["train"]), "spk")
    test = _voices(rng, n_test, shuffled(rng, timbres["test"]), "new")
    clips: list[Clip] = []
    for split, voices, count in (("train", train, per_speaker - 2), ("valid", train, 2),
                                 ("test", test, per_speaker)):
        order = [who for who in voices for _ in range(count)]
        for i, who in enumerate(order):
            scene = recorded(rng, [_utterance(rng, voices[who])])
            clips.append(Clip(clip_path(split, i), split, scene, {"speaker": who}))
    return Blueprint(
        "mini-sv", "speaker_verification",
        "Speaker verification: train/valid utterances of training speakers; trials among "
        "held-out speakers with unseen voice timbres (EER, minDCF).",
        ("espeak-ng", "flite"), tuple(clips),
        tables={"trials.csv": trials(rng, [c for c in clips if c.split == "test"]),
                "speakers.csv": [{"speaker": who, **attributes(v)} for who, v in {**train, **test}.items()]})
