"""One planner per mini task, in suite order: `plan(size, rng) -> Blueprint`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..blueprint import Blueprint
from . import asr, instrument, kws, lid, pitch, pretrain, retrieval, scenes, sed, speaker, sv, tagging

GENERATORS: dict[str, Callable[[str, np.random.Generator], Blueprint]] = {
    "mini-kws": kws.plan,
    "mini-lid": lid.plan,
    "mini-speaker": speaker.plan,
    "mini-sv": sv.plan,
    "mini-asr": asr.plan,
    "mini-tagging": tagging.plan,
    "mini-scenes": scenes.plan,
    "mini-sed": sed.plan,
    "mini-pitch": pitch.plan,
    "mini-instrument": instrument.plan,
    "mini-retrieval": retrieval.plan,
    "mini-pretrain": pretrain.plan,
}
MINI_CORPUS = "mini-pretrain"
MINI_TASKS: tuple[str, ...] = tuple(n for n in GENERATORS if n != MINI_CORPUS)
# metadata tables a task's folder may predate: a build writes them into a built folder that lacks
# them, from the task's plan (nothing is re-rendered; the manifests and audio are unchanged)
METADATA_TABLES: dict[str, tuple[str, ...]] = {"mini-speaker": ("speakers.csv",), "mini-sv": ("speakers.csv",)}
