"""Recorded sounds: sonic-pi's freesound.org samples (CC0) and alsa-utils' test voices."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import resample
from .sources import locate

_SUFFIX = {"sonic-pi-samples": ".flac", "alsa-utils": ".wav"}


@dataclass(frozen=True)
class Sample:
    """The recording `name` (file stem) of source package `pack`."""

    pack: str
    name: str

    @property
    def path(self) -> Path:
        return Path(locate(self.pack)) / (self.name + _SUFFIX[self.pack])


def sonic_pi(*names: str) -> tuple[Sample, ...]:
    return tuple(Sample("sonic-pi-samples", n) for n in names)


def alsa(*names: str) -> tuple[Sample, ...]:
    return tuple(Sample("alsa-utils", n) for n in names)


@cache
def load(sample: Sample) -> np.ndarray:
    """`sample` as read-only float32 mono audio at the suite's rate (decoded once per process)."""
    audio, rate = sf.read(sample.path, dtype="float32")
    audio = resample(audio, rate)
    audio.flags.writeable = False
    return audio


def duration(sample: Sample) -> float:
    """Length in seconds, from the file header alone (planning must not decode audio)."""
    info = sf.info(sample.path)
    return info.frames / info.samplerate
