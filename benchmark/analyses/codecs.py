"""Lossy codec round trips through ffmpeg: a wave encoded at a bitrate and decoded back to its own
rate and length, the degradation a clip suffers when it was stored or sent as MP3 or Opus.

The encoded stream goes through a temporary file, not a pipe: only a seekable MP3 gets the LAME
header that tells the decoder the encoder's delay, without which the decoded audio is shifted
by 1105 samples (a timing error for event detection, not a codec artefact). Each format encodes
at the sample rate nearest the clip's that carries the bitrate (the lowest at or above it,
else the highest below), as the LAME encoder itself lowers the rate for low bitrates; ffmpeg
alone would silently raise an MP3 bitrate the rate cannot carry (8 kbps at 44.1 kHz becomes
32 kbps). The result is deterministic for a given ffmpeg build, whose version and encoder are
`identity(codec)`: part of a corrupted copy's cache key and of its task's description.
"""
from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from benchmark.errors import EarbenchError

_MPEG1 = (32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320)
_MPEG2 = (8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160)


@dataclass(frozen=True)
class Codec:
    """A lossy format: ffmpeg's encoder, the file suffix, and {sample rate: bitrates in kbps it
    carries} (None: any bitrate from `lowest` to `highest`)."""

    name: str
    encoder: str
    suffix: str
    rates: dict[int, tuple[int, ...] | None]
    lowest: float = 0.0
    highest: float = float("inf")

    def carries(self, rate: int, kbps: float) -> bool:
        allowed = self.rates[rate]
        return kbps in allowed if allowed is not None else self.lowest <= kbps <= self.highest

    def encoding_rate(self, rate: int, kbps: float) -> int:
        """The sample rate to encode at: the lowest at or above `rate` that carries `kbps` (no band
        lost to resampling), else the highest below it."""
        fits = sorted(r for r in self.rates if self.carries(r, kbps))
        if not fits:
            allowed = sorted({b for bs in self.rates.values() if bs for b in bs})
            known = ", ".join(f"{b:g}" for b in allowed) if allowed else f"{self.lowest:g} to {self.highest:g}"
            raise EarbenchError(f"{self.name}: no sample rate carries {kbps:g} kbps; choose from {known} kbps")
        above = [r for r in fits if r >= rate]
        return above[0] if above else fits[-1]


MP3 = Codec("mp3", "libmp3lame", ".mp3", {
    **{r: _MPEG2 for r in (8000, 11025, 12000, 16000, 22050, 24000)}, **{r: _MPEG1 for r in (32000, 44100, 48000)}})
OPUS = Codec("opus", "libopus", ".opus", {r: None for r in (8000, 12000, 16000, 24000, 48000)}, lowest=6, highest=510)


def identity(codec: Codec) -> str:
    """'ffmpeg VERSION ENCODER': checks that ffmpeg is installed and has the codec's encoder."""
    return _identity(codec.name, codec.encoder)


@functools.lru_cache(maxsize=None)
def _identity(name: str, encoder: str) -> str:
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise EarbenchError(f"{name} corruption: ffmpeg is not installed (`apt-get install ffmpeg`, or "
                            f"`make setup`); or choose other corruptions with --corruption")
    version = subprocess.run([ffmpeg, "-hide_banner", "-version"], capture_output=True, text=True).stdout.split()
    encoders = subprocess.run([ffmpeg, "-hide_banner", "-encoders"], capture_output=True, text=True).stdout.split()
    if encoder not in encoders:
        raise EarbenchError(f"{name} corruption: {ffmpeg} has no {encoder} encoder; install an ffmpeg "
                            f"built with it (Debian's is)")
    return f"ffmpeg {version[2] if len(version) > 2 else '?'} {encoder}"


def _ffmpeg(args: list[str], data: bytes | None = None) -> bytes:
    done = subprocess.run(["ffmpeg", "-hide_banner", "-loglevel", "error", "-nostdin", *args], input=data,
                          capture_output=True)
    if done.returncode != 0:
        raise EarbenchError(f"ffmpeg failed ({' '.join(args[-6:])}): {done.stderr.decode(errors='replace').strip()}")
    return done.stdout


def round_trip(wave: np.ndarray, rate: int, codec: Codec, kbps: float) -> np.ndarray:
    """`wave` (mono, float) encoded as `codec` at `kbps` and decoded back at `rate`, trimmed or
    zero-padded to its length (float32)."""
    identity(codec)
    pcm = ["-f", "f32le", "-ac", "1", "-ar", str(rate)]
    with tempfile.TemporaryDirectory(prefix="earbench-codec-") as folder:
        encoded = str(Path(folder) / f"clip{codec.suffix}")
        _ffmpeg([*pcm, "-i", "pipe:0", "-ar", str(codec.encoding_rate(rate, kbps)), "-c:a", codec.encoder,
                 "-b:a", f"{kbps:g}k", "-bitexact", encoded], np.ascontiguousarray(wave, dtype="<f4").tobytes())
        decoded = np.frombuffer(_ffmpeg(["-i", encoded, *pcm, "pipe:1"]), dtype="<f4")
    out = np.zeros(len(wave), dtype=np.float32)
    out[: min(len(wave), len(decoded))] = decoded[: len(wave)]
    return out
