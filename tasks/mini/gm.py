"""General-MIDI notes rendered by fluidsynth with the FluidR3 soundfont.

Starting fluidsynth costs far more than rendering a note, so a batch of clips renders all
its notes in one call: each note gets its own slot in one long MIDI "sheet", with chorus
and reverb off and slots on fluidsynth's 64-sample block grid, so a note sounds the same
whatever else shares its sheet (the build stays deterministic however clips are batched).
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Iterable
from dataclasses import astuple, dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from .audio import SAMPLE_RATE, resample, to_samples, trim
from .midi import DRUM_CHANNEL, MidiNote, write_midi
from .sources import locate

DRUMS = 128  # `Note.program` of the General-MIDI percussion kit (MIDI channel 10)
RELEASE = 2.0  # seconds kept after note-off for the instrument's release
_BLOCK = 64  # fluidsynth processes audio in blocks of 64 samples

# NSynth-like instrument families over General-MIDI programs (0-based).
FAMILIES: dict[str, tuple[int, ...]] = {
    "keyboard": (0, 1, 2, 3, 4, 5, 6, 7),
    "mallet": (8, 9, 10, 11, 12, 13, 14, 15),
    "organ": (16, 17, 18, 19, 20, 21, 22, 23),
    "guitar": (24, 25, 26, 27, 28, 29, 30, 31),
    "bass": (32, 33, 34, 35, 36, 37, 38, 39),
    "string": (40, 41, 42, 43, 44, 45, 46, 48, 49, 50, 51),
    "brass": (56, 57, 58, 59, 60, 61, 62, 63),
    "reed": (64, 65, 66, 67, 68, 69, 70, 71),
    "flute": (72, 73, 74, 75, 76, 77, 78, 79),
    "synth_lead": (80, 81, 82, 83, 84, 86, 87),
    "vocal": (52, 53, 54, 85, 91),
}

# Comfortable MIDI pitch range of each family, so notes sound like the instrument.
RANGES: dict[str, tuple[int, int]] = {
    "keyboard": (36, 96), "mallet": (60, 96), "organ": (36, 84), "guitar": (40, 84),
    "bass": (28, 60), "string": (40, 88), "brass": (40, 82), "reed": (44, 84),
    "flute": (60, 96), "synth_lead": (40, 88), "vocal": (48, 79),
}

_TOP = {43: 57, 58: 72, 67: 72}  # contrabass, tuba, baritone sax: FluidR3 is silent above


def pitch_range(program: int) -> tuple[int, int]:
    """The pitches melodic `program` plays well: its family's range, within what it can play."""
    family = next(f for f, programs in FAMILIES.items() if program in programs)
    low, high = RANGES[family]
    return low, min(high, _TOP.get(program, high))


def fit(program: int, pitch: int) -> int:
    """`pitch` moved by octaves into the range of melodic `program`."""
    low, high = pitch_range(program)
    while pitch > high:
        pitch -= 12
    while pitch < low:
        pitch += 12
    return pitch


@dataclass(frozen=True)
class Note:
    """One General-MIDI note held for `hold` seconds (program DRUMS: a percussion key)."""

    program: int
    pitch: int
    velocity: int = 100
    hold: float = 1.0


def _slot(note: Note) -> int:
    n = to_samples(note.hold + RELEASE)
    return -(-n // _BLOCK) * _BLOCK


def render(notes: Iterable[Note]) -> dict[Note, np.ndarray]:
    """Each distinct note of `notes` as audio, trailing silence trimmed, from one fluidsynth call."""
    unique = sorted(set(notes), key=astuple)
    if not unique:
        return {}
    starts = np.cumsum([0] + [_slot(n) for n in unique])
    sheet = [
        MidiNote(start / SAMPLE_RATE, n.hold, n.pitch, n.velocity,
                 program=0 if n.program == DRUMS else n.program,
                 channel=DRUM_CHANNEL if n.program == DRUMS else 0)
        for n, start in zip(unique, starts)
    ]
    with tempfile.TemporaryDirectory(prefix="earbench-gm-") as tmp:
        mid, wav = Path(tmp) / "sheet.mid", Path(tmp) / "sheet.wav"
        write_midi(mid, sheet)
        subprocess.run(
            [locate("fluidsynth"), "-n", "-i", "-q", "-R", "0", "-C", "0", "-g", "0.5",
             "-r", str(SAMPLE_RATE), "-O", "float", "-T", "wav", "-F", str(wav),
             "-o", "synth.dynamic-sample-loading=1",
             locate("fluid-soundfont-gm"), str(mid)],
            check=True, capture_output=True,
        )
        audio, rate = sf.read(wav, dtype="float32")
    audio = resample(audio, rate)
    audio = np.pad(audio, (0, max(0, starts[-1] - len(audio))))
    return {n: trim(audio[a:b]) for n, a, b in zip(unique, starts[:-1], starts[1:])}
