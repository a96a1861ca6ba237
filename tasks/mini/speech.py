"""Speech synthesised by espeak-ng (about 130 languages, 100 voice variants) and flite.

A `Voice` is a speaker identity: engine, voice name, pitch and speed. Both synthesisers
are deterministic, so the same text and voice always give the same samples.
"""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import resample
from .sources import locate

_FLITE_WPM = 170  # flite's speaking rate at duration_stretch 1


@dataclass(frozen=True)
class Voice:
    """espeak-ng: `name` like "en-us+m3", pitch 0-99; flite: `name` like "slt", pitch = mean F0 in Hz.

    `speed` is in words per minute for both.
    """

    engine: str
    name: str
    pitch: int
    speed: int

    def vary(self, rng: np.random.Generator, pitch: float = 0.08, speed: float = 0.08) -> Voice:
        """The same speaker on another day: pitch and speed jittered by up to these fractions."""
        return replace(
            self,
            pitch=int(round(self.pitch * (1 + rng.uniform(-pitch, pitch)))),
            speed=int(round(self.speed * (1 + rng.uniform(-speed, speed)))),
        )


@dataclass(frozen=True)
class Speech:
    text: str
    voice: Voice


def _command(speech: Speech, wav: Path, text: Path) -> list[str]:
    v = speech.voice
    if v.engine == "espeak-ng":
        return [locate("espeak-ng"), "-v", v.name, "-p", str(v.pitch), "-s", str(v.speed),
                "-b", "1", "-w", str(wav), "-f", str(text)]
    if v.engine == "flite":
        return [locate("flite"), "-voice", v.name,
                "--setf", f"int_f0_target_mean={v.pitch}",
                "--setf", f"duration_stretch={_FLITE_WPM / v.speed:.3f}",
                "-f", str(text), "-o", str(wav)]
    raise ValueError(f"unknown speech engine {v.engine!r}")


def synthesize(speech: Speech) -> np.ndarray:
    """`speech` as float32 mono audio at the suite's sample rate."""
    with tempfile.TemporaryDirectory(prefix="earbench-tts-") as tmp:
        wav, text = Path(tmp) / "speech.wav", Path(tmp) / "text.txt"
        text.write_text(speech.text, encoding="utf-8")
        subprocess.run(_command(speech, wav, text), check=True, capture_output=True)
        audio, rate = sf.read(wav, dtype="float32")
    return resample(audio, rate)
