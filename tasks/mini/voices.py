"""Speaker identities: espeak-ng voice variants x accent x pitch x speed, and flite's voices.

Tasks that promise unseen test speakers split the *variants* (timbres) and flite voices
between splits, not just pitch or speed, so a test voice is never a retuned train voice.
"""

from __future__ import annotations

import numpy as np

from .blueprint import SPLITS
from .speech import Voice

ENGLISH = ("en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan",
           "en-gb-x-gbcwmd", "en-029", "en-us-nyc")

# espeak-ng 1.51 voice variants (espeak-ng --voices=variant), minus the test voice "fast".
VARIANTS = (
    "adam", "Alex", "Alicia", "Andrea", "Andy", "Annie", "antonio", "aunty", "belinda",
    "benjamin", "boris", "caleb", "croak", "david", "Demonic", "Denis", "Diogo", "ed",
    "edward", "edward2", "f1", "f2", "f3", "f4", "f5", "Gene", "Gene2", "grandma", "grandpa",
    "gustave", "Henrique", "Hugo", "iven", "iven2", "iven3", "iven4", "Jacky", "john",
    "kaukovalta", "klatt", "klatt2", "klatt3", "klatt4", "klatt5", "klatt6", "Lee", "linda",
    "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "marcelo", "Marco", "Mario", "max",
    "Michael", "michel", "miguel", "Mike", "Mr", "Nguyen", "norbert", "pablo", "paul",
    "pedro", "quincy", "RicishayMax", "RicishayMax2", "RicishayMax3", "rob", "robert",
    "robosoft", "robosoft2", "robosoft3", "robosoft4", "robosoft5", "robosoft6", "robosoft7",
    "robosoft8", "sandro", "shelby", "steph", "steph2", "steph3", "Storm", "travis", "Tweaky",
    "UniRobot", "victor", "whisper", "whisperf", "zac", "anika", "anikaRobot", "AnxiousAndy",
    "announcer",
)

# flite's voices with their natural mean F0 (awb_time only speaks the time of day).
FLITE = {"awb": 110, "kal": 105, "kal16": 105, "rms": 110, "slt": 170}

TIMBRES = tuple(("espeak-ng", v) for v in VARIANTS) + tuple(("flite", f) for f in FLITE)

# The gender that espeak-ng 1.51's variant files declare (their `gender` line); the other 56
# variants declare none, and their speakers have no gender rather than a guessed one.
FEMALE = ("Alicia", "Andrea", "Annie", "anika", "anikaRobot", "aunty", "belinda", "f1", "f2", "f3", "f4",
          "f5", "grandma", "linda", "steph", "steph2", "steph3", "whisperf")
MALE = ("Andy", "AnxiousAndy", "Demonic", "Denis", "Diogo", "Henrique", "Hugo", "Lee", "Marco", "Storm",
        "UniRobot", "antonio", "croak", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8", "michel", "miguel",
        "sandro", "travis", "victor", "whisper")
GENDER = {**dict.fromkeys(FEMALE, "female"), **dict.fromkeys(MALE, "male")}
# flite's voices: the CMU speakers they were recorded from (gender, accent)
FLITE_SPEAKERS = {"awb": ("male", "en-gb-scotland"), "kal": ("male", "en-us"), "kal16": ("male", "en-us"),
                  "rms": ("male", "en-us"), "slt": ("female", "en-us")}


def espeak(rng: np.random.Generator, language: str, variant: str) -> Voice:
    """A new espeak-ng speaker of `language` with timbre `variant`, pitch and speed drawn."""
    return Voice("espeak-ng", f"{language}+{variant}",
                 int(rng.integers(20, 81)), int(rng.integers(125, 201)))


def flite(rng: np.random.Generator, name: str) -> Voice:
    """A flite speaker: voice `name` at its own pitch, +-15 %, and a drawn speed."""
    return Voice("flite", name, int(FLITE[name] * rng.uniform(0.85, 1.15)),
                 int(rng.integers(140, 201)))


def split_timbres(rng: np.random.Generator, shares: tuple[float, float, float] = (0.7, 0.15, 0.15)
                  ) -> dict[str, tuple[tuple[str, str], ...]]:
    """Disjoint sets of timbres per split: ("espeak-ng", variant) and ("flite", voice) pairs."""
    out: dict[str, list[tuple[str, str]]] = {s: [] for s in SPLITS}
    for engine, names in (("espeak-ng", VARIANTS), ("flite", tuple(FLITE))):
        order = rng.permutation(len(names))
        bounds = np.round(np.cumsum(shares) * len(names)).astype(int)
        for split, part in zip(SPLITS, np.split(order, bounds[:-1])):
            out[split] += [(engine, names[i]) for i in sorted(part)]
    return {s: tuple(v) for s, v in out.items()}


def speaker(rng: np.random.Generator, timbre: tuple[str, str],
            languages: tuple[str, ...] = ENGLISH) -> Voice:
    """A speaker with `timbre`; espeak-ng timbres also get an accent from `languages`."""
    engine, name = timbre
    if engine == "flite":
        return flite(rng, name)
    return espeak(rng, languages[int(rng.integers(len(languages)))], name)


def attributes(voice: Voice) -> dict[str, str]:
    """What a speaker's metadata says beyond identity: the synthesiser, the accent and, where its
    voice declares one, the gender ("" where unknown)."""
    if voice.engine == "flite":
        gender, accent = FLITE_SPEAKERS[voice.name]
        return {"engine": "flite", "accent": accent, "gender": gender}
    language, _, variant = voice.name.partition("+")
    return {"engine": voice.engine, "accent": language, "gender": GENDER.get(variant, "")}
